"""The Climkit developer API (`/api/v1/...`), as the guide and NOTES.md describe it.

Where the guide is silent the sandbox does what a Flask service with flask-jwt-extended
and flask-limiter (what the platform most plausibly runs: it answers MongoDB extended
JSON) does, and says so next to the code:
- errors are `{"msg": "…"}`; an unknown site, meter or sensor is a 404;
- `POST /auth` takes a JSON body (the other endpoints name `Content-Type:
  application/json`) and, to be lenient, a form-encoded one too;
- request times are ISO dates in UTC without a zone (NOTES.md); one with a zone is
  converted to UTC; no `t_e` means now, no `t_s` a day before `t_e`;
- one request covers at most a year and a day of 15-minute periods (series.MAX_STEPS);
- `sensor_data` goes back at most SENSOR_HISTORY ("t_s ist … begrenzt"); without a range
  it answers the latest reading only.
"""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.http import JsonResponse

from providers.sandbox_kit.endpoint import Answer
from providers.sandbox_kit.endpoint import api_endpoint as kit_endpoint

from . import series
from .account import ensure_seeded
from .auth import credentials_ok, issue_token, token_problem
from .models import AnswerShapes, Meter, Sensor, Site
from .throttle import rate_limited

PLATFORM = "climkit"
SAMPLING_FREQUENCIES = ("15T", "H", "D", "M", "Y")
SITE_DATA_TYPES = ("electricity", "heating", "cooling", "cold_water", "hot_water", "charge_point")
SENSOR_HISTORY = timedelta(days=90)


def error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"msg": detail}, status=status)


def api_endpoint(template: str, *, methods: tuple[str, ...], authenticated: bool = True):
    """The kit's wrapper (counts, faults, latency, auth), behind the platform's rate limit:
    a gateway refuses a call over the limit before anything else looks at it."""

    def decorate(view):
        inner = kit_endpoint(
            PLATFORM,
            template,
            methods=methods,
            error=error,
            authenticate=token_problem if authenticated else None,
            is_token_endpoint=not authenticated,
        )(view)
        return rate_limited(template, error)(inner)

    return decorate


# --- representations ------------------------------------------------------------------


def site_json(site: Site) -> dict:
    return {
        "site_ref": site.site_ref,
        "name": site.name,
        "address": {
            "street_name": site.street_name,
            "street_number": site.street_number,
            "city": site.city,
            "postal_code": site.postal_code,
        },
        "creation_date": site.creation_date.astimezone(UTC).isoformat(),
        "latitude": site.latitude,
        "longitude": site.longitude,
        "timezone": site.timezone,
    }


def meter_json(meter: Meter, shapes: AnswerShapes | None = None) -> dict:
    shapes = shapes or AnswerShapes()
    return {
        "id": meter.object_id,
        "type": meter.type,
        "name": meter.name,
        "mode": meter.mode,
        "prim_ad": str(meter.prim_ad) if shapes.prim_ad_as_text else meter.prim_ad,
        "is_rule_meter": meter.is_rule_meter,
    }


def answer_shapes() -> AnswerShapes:
    return AnswerShapes.objects.filter(pk=1).first() or AnswerShapes(pk=1)


def installation_item(site: Site, shapes: AnswerShapes):
    """One `/all_installations` item. The guide: "a list of objects", fields unnamed;
    ours carry `id` (as its meters name theirs), `site_ref` and `name`. NOTES.md: one
    public client reads id strings, another `site_id` from objects: the switch
    (`_sandbox/answers`) answers either."""
    if shapes.installations == AnswerShapes.IDS:
        return site.object_id
    key = "site_id" if shapes.installations == AnswerShapes.SITE_ID else "id"
    return {key: site.object_id, "site_ref": site.site_ref, "name": site.name}


def sensor_json(sensor: Sensor) -> dict:
    return {
        "id": sensor.object_id,
        "name": sensor.name,
        "type": sensor.type,
        "unit": sensor.unit,
        "model": sensor.model,
    }


def _list(items) -> JsonResponse:
    return JsonResponse(items, safe=False)


# --- lookups and parameters -----------------------------------------------------------


def _site(site_id: str) -> Site:
    ensure_seeded()
    site = Site.objects.filter(object_id=site_id).first()
    if site is None:
        raise Answer(error(404, f"Site {site_id} not found"))
    return site


def _meter(site: Site, meter_id: str) -> Meter:
    meter = site.meters.filter(object_id=meter_id).first()
    if meter is None:
        raise Answer(error(404, f"Meter {meter_id} not found in site {site.object_id}"))
    return meter


def _profile(meter: Meter, site: Site) -> series.Profile:
    return series.Profile(meter.object_id, meter.type, meter.mode, site.creation_date.timestamp())


def _time(value, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise Answer(
            error(400, f"{name}: expected an ISO date in UTC such as 2022-07-17T12:00:00")
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _range(params: dict) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    t_e = _time(params.get("t_e"), "t_e") or now
    t_s = _time(params.get("t_s"), "t_s") or t_e - timedelta(days=1)
    if t_s > t_e:
        raise Answer(error(400, "t_s must not be after t_e"))
    return t_s, t_e


def _body(request) -> dict:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise Answer(error(400, "The request body must be JSON")) from None
    if not isinstance(body, dict):
        raise Answer(error(400, "The request body must be a JSON object"))
    return body


def _frequency(body: dict) -> str:
    value = body.get("sampling_frequency") or "15T"
    if value not in SAMPLING_FREQUENCIES:
        raise Answer(
            error(400, f"sampling_frequency must be one of {', '.join(SAMPLING_FREQUENCIES)}")
        )
    return value


def _ends(site: Site, t_s: datetime, t_e: datetime) -> list[float]:
    try:
        return series.steps(t_s, t_e, site.creation_date.timestamp(), datetime.now(UTC).timestamp())
    except series.RangeError as exc:
        raise Answer(error(400, str(exc))) from None


# --- endpoints ------------------------------------------------------------------------


@api_endpoint("/auth", methods=("POST",), authenticated=False)
def auth(request):
    if request.content_type == "application/x-www-form-urlencoded":
        data = request.POST
    else:
        data = _body(request)
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        return error(400, "Missing username or password")
    if not credentials_ok(username, password):
        return error(401, "Bad username or password")
    token, expires_at = issue_token(username)
    # MongoDB extended JSON, as NOTES.md shows it: {"$date": <epoch ms>}.
    return JsonResponse(
        {"access_token": token, "valid_until": {"$date": int(expires_at.timestamp() * 1000)}}
    )


@api_endpoint("/all_installations", methods=("GET",))
def all_installations(request):
    ensure_seeded()
    shapes = answer_shapes()
    return _list([installation_item(site, shapes) for site in Site.objects.all()])


@api_endpoint("/installation_infos/{site_id}", methods=("GET",))
def installation_infos(request, site_id):
    return JsonResponse(site_json(_site(site_id)))


@api_endpoint("/meter_info/{site_id}", methods=("GET",))
def meter_info(request, site_id):
    shapes = answer_shapes()
    return _list([meter_json(m, shapes) for m in _site(site_id).meters.all()])


@api_endpoint("/site_data/{site_id}/{meter_type}", methods=("POST",))
def site_data(request, site_id, meter_type):
    site = _site(site_id)
    if meter_type not in SITE_DATA_TYPES:
        return error(400, f"meter_type must be one of {', '.join(SITE_DATA_TYPES)}")
    body = _body(request)
    frequency = _frequency(body)
    t_s, t_e = _range(body)
    profiles = [_profile(m, site) for m in site.meters.all()]
    zone = ZoneInfo(site.timezone)
    ends = _ends(site, t_s, t_e)
    return _list(series.site_series(profiles, meter_type, ends, frequency, zone))


@api_endpoint("/meter_data/{site_id}/{meter_id}", methods=("POST",))
def meter_data(request, site_id, meter_id):
    site = _site(site_id)
    meter = _meter(site, meter_id)
    body = _body(request)
    frequency = _frequency(body)
    t_s, t_e = _range(body)
    profiles = [_profile(m, site) for m in site.meters.all()]
    ends = _ends(site, t_s, t_e)
    zone = ZoneInfo(site.timezone)
    return _list(series.meter_series(_profile(meter, site), profiles, ends, frequency, zone))


@api_endpoint("/meter_data_raw/{site_id}/{meter_id}", methods=("POST",))
def meter_data_raw(request, site_id, meter_id):
    site = _site(site_id)
    meter = _meter(site, meter_id)
    if meter.is_rule_meter:
        # The guide: raw data "nur für physische Zähler verfügbar, nicht für Regelzähler".
        return error(400, "Raw data is only available for physical meters, not rule meters")
    t_s, t_e = _range(_body(request))
    ends = _ends(site, t_s, t_e)
    return _list(series.raw_series(_profile(meter, site), ends, ZoneInfo(site.timezone)))


@api_endpoint("/{site_id}/sensors_list", methods=("GET",))
def sensors_list(request, site_id):
    return _list([sensor_json(s) for s in _site(site_id).sensors.all()])


@api_endpoint("/{site_id}/sensor_data/{sensor_id}", methods=("GET",))
def sensor_data(request, site_id, sensor_id):
    site = _site(site_id)
    sensor = site.sensors.filter(object_id=sensor_id).first()
    if sensor is None:
        return error(404, f"Sensor {sensor_id} not found in site {site.object_id}")
    now = datetime.now(UTC)
    latest_only = not request.GET.get("t_s") and not request.GET.get("t_e")
    t_s, t_e = _range(request.GET)
    if latest_only:  # the last complete period's reading
        ends = _ends(site, t_e - timedelta(minutes=30), t_e)[-1:]
    else:
        t_s = max(t_s, now - SENSOR_HISTORY)
        ends = _ends(site, t_s, t_e) if t_s <= t_e else []
    return _list(series.sensor_series(sensor.object_id, sensor.type, ends))
