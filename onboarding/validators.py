"""Field checks a utility expects, with messages staff can act on."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# Germany, Austria and Switzerland: four or five digits.
validate_postcode = RegexValidator(
    r"^\d{4,5}$", _("Enter a postcode of 4 or 5 digits, e.g. 8004 or 10115.")
)

# OBIS (IEC 62056-61): short "1.8.0" or full "1-0:1.8.0*255".
OBIS_PATTERN = re.compile(r"^(\d{1,3}-\d{1,3}:)?\d{1,3}\.\d{1,3}\.\d{1,3}(\*\d{1,3})?$")


def validate_obis_code(value: str) -> None:
    if not OBIS_PATTERN.match(value or ""):
        raise ValidationError(
            _("%(value)s is not an OBIS code; use e.g. 1.8.0 or 1-0:1.8.0*255."),
            params={"value": value},
            code="obis",
        )


# ISO 3779: 17 characters, digits and capitals, never I, O or Q (they read as 1 and 0).
validate_vin = RegexValidator(
    r"^[A-HJ-NPR-Z0-9]{17}$",
    _("A VIN has 17 characters: digits and capital letters except I, O and Q."),
)


def heating_element_watts(value: str) -> list[int]:
    """ "1750, 1250" → [1750, 1250]; raises ValidationError for anything else."""
    parts = [part.strip() for part in (value or "").split(",")]
    if parts == [""]:
        return []
    watts = []
    for part in parts:
        if not part.isdigit() or not 1 <= int(part) <= 100_000:
            raise ValidationError(
                _(
                    "Enter each heating element's power in watts (1 to 100000), separated by "
                    "commas, e.g. 1750, 1250."
                ),
                code="heating_elements",
            )
        watts.append(int(part))
    if len(watts) > 10:
        raise ValidationError(_("At most 10 heating elements."), code="heating_elements")
    return watts


def validate_heating_elements(value: str) -> None:
    heating_element_watts(value)


# A cell or field beginning like a formula is refused (CSV/formula injection, OWASP): a
# spreadsheet opening an export would run it. A plain negative number ("-1", a
# basement) is no formula and is let through.
FORMULA_STARTS = ("=", "+", "-", "@")
PLAIN_NEGATIVE_NUMBER = re.compile(r"-\d+(?:[.,]\d+)?")


def looks_like_formula(raw: str) -> bool:
    return raw.startswith(FORMULA_STARTS) and not PLAIN_NEGATIVE_NUMBER.fullmatch(raw)


def formula_message(raw: str) -> str:
    return _(
        'begins with "%(char)s", which a spreadsheet would run as a formula; '
        "it would reach the platforms and their e-mails. Remove the "
        'leading "%(char)s".'
    ) % {"char": raw[0]}


def formula_errors(instance, exclude=()) -> dict[str, list[str]]:
    """{field: [message]} for each free-text field of a model instance that begins like
    a formula: names, addresses, ids typed by staff (not choices, e-mails or URLs)."""
    errors = {}
    for field in instance._meta.concrete_fields:
        if field.name in (exclude or ()) or field.choices:
            continue
        if not isinstance(field, models.CharField | models.TextField) or isinstance(
            field, models.EmailField | models.URLField
        ):
            continue
        value = getattr(instance, field.attname)
        if isinstance(value, str) and looks_like_formula(value):
            errors[field.name] = [formula_message(value)]
    return errors
