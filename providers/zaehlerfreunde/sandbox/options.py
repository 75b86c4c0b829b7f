"""The sandbox's readings of what its sources leave open, one switch each (the Options
row), so a trainer or a test can answer as the platform would under either reading:

- `timestamp_unit`: `seconds` (default: the spec's example, 1714635961) or
  `milliseconds` (another page of the platform's). The platform reads a reading's
  timestamp in one unit, so the sandbox does too: a client sending the other unit is
  refused (milliseconds read as seconds lie beyond the year 9999) or lands in 1970.
- `dach_postcodes_only`: off (default: the spec's `postcode` is any string) or on
  (only 4 or 5 digits, answered with a problem `detail` naming the field).
"""

from .models import Options

CHOICES = {"timestamp_unit": [unit for unit, _ in Options.TIMESTAMP_UNITS]}
FLAGS = ("dach_postcodes_only",)


def current() -> Options:
    return Options.objects.filter(pk=1).first() or Options(pk=1)


def describe(options: Options) -> dict:
    return {"timestamp_unit": options.timestamp_unit, **{f: getattr(options, f) for f in FLAGS}}


def update(data) -> tuple[dict, Options]:
    """Apply a `POST _sandbox/options` body (only the options it names): (errors, row)."""
    options = current()
    if not isinstance(data, dict):
        return {"$": ["Expected a JSON object."]}, options
    errors = {}
    for name in data:
        value = data[name]
        if name in CHOICES and value in CHOICES[name]:
            setattr(options, name, value)
        elif name in CHOICES:
            errors[name] = [f"{name} must be one of {', '.join(CHOICES[name])}."]
        elif name in FLAGS and isinstance(value, bool):
            setattr(options, name, value)
        elif name in FLAGS:
            errors[name] = [f"{name} must be true or false."]
        else:
            errors[name] = ["Not an option of this sandbox."]
    if not errors:
        options.save()
    return errors, options
