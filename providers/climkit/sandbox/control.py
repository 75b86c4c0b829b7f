"""The Climkit sandbox's control side (`/_sandbox/...`) and the trainer page.

Fault switches, latency, token expiry, reset and state come from the shared sandbox kit
(staff login or the control token). This module adds what only Climkit has:
- `_sandbox/meters` (POST) and `_sandbox/meters/<id>` (PATCH, DELETE): add, change and
  remove a meter, so a catalogue refresh has something new, changed or gone to find;
- `_sandbox/rate_limit` (GET, POST `{"seconds": 1.0}`): the interval the sandbox enforces
  (the guide's 1 s by default; tests that are not about the limit may shorten it);
- `_sandbox/answers` (GET, POST `{"installations": "objects" | "site_id" | "ids",
  "prim_ad_as_text": false}`): how it answers where public sources disagree
  (NOTES.md): `/all_installations` as the guide's objects (default, with `id`), as
  objects with `site_id`, or as id strings; `prim_ad` as the guide's int or as text;
- the state: sites, meters, sensors, token count, and every request's time as the rate
  limit saw it (`rate_limit.arrivals`).
"""

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from providers.sandbox_kit import tokens
from providers.sandbox_kit.control import (
    bad,
    control_access,
    control_urls,
    json_body,
)
from providers.sandbox_kit.panel import control_panel

from . import auth, throttle
from .account import ensure_seeded, object_id, seed
from .models import AccessToken, AnswerShapes, Arrival, Meter, RateLimit, Sensor, Site
from .views import PLATFORM, meter_json, sensor_json, site_json


def _site_state(site: Site) -> dict:
    return {
        "id": site.object_id,
        **site_json(site),
        "meters": [meter_json(m) for m in site.meters.all()],
        "sensors": [sensor_json(s) for s in site.sensors.all()],
    }


def _state(request) -> dict:
    ensure_seeded()
    sites = list(Site.objects.prefetch_related("meters", "sensors"))
    arrivals = throttle.arrivals()
    return {
        "counts": {
            "sites": len(sites),
            "meters": Meter.objects.count(),
            "sensors": Sensor.objects.count(),
            "tokens_valid": tokens.valid_count(AccessToken),
            "tokens_issued": AccessToken.objects.count(),
        },
        "sites": [_site_state(s) for s in sites],
        "rate_limit": {
            "interval": throttle.interval(),
            "refused": sum(1 for a in arrivals if not a["admitted"]),
            "arrivals": arrivals,
        },
    }


def _reset() -> None:
    for model in (Meter, Sensor, Site, AccessToken, Arrival, RateLimit, AnswerShapes):
        model.objects.all().delete()
    seed()


urls = control_urls(PLATFORM, state=_state, reset=_reset, expire_tokens=auth.expire_all)


# --- meters ---------------------------------------------------------------------------


def _is_name(value) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) <= 200


def _is_address(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 250


def _meter_values(data, *, partial: bool) -> tuple[dict, dict]:
    """Check a meter body; returns (errors, Meter field values)."""
    if not isinstance(data, dict):
        return {"$": ["Expected a JSON object."]}, {}
    errors: dict[str, list[str]] = {}
    values: dict = {}
    checks = {
        "name": (_is_name, "a text of 1 to 200 characters"),
        "type": (lambda v: v in Meter.TYPES, "one of " + ", ".join(Meter.TYPES)),
        "mode": (lambda v: v in Meter.MODES, "one of " + ", ".join(Meter.MODES)),
        "prim_ad": (_is_address, "an integer from 0 to 250"),
        "is_rule_meter": (lambda v: isinstance(v, bool), "true or false"),
    }
    for field, (ok, what) in checks.items():
        if field not in data:
            if not partial and field in ("name", "type"):
                errors[field] = ["This field is required."]
            continue
        if ok(data[field]):
            values[field] = data[field].strip() if field == "name" else data[field]
        else:
            errors[field] = [f"{field} must be {what}."]
    unknown = set(data) - set(checks) - {"site_id", "id"}
    if unknown:
        errors["$"] = [f"Unknown fields: {', '.join(sorted(unknown))}."]
    return errors, values


@control_access
@require_http_methods(["POST"])
def meters(request):
    ensure_seeded()
    data = json_body(request)
    errors, values = _meter_values(data, partial=False)
    site = None
    if isinstance(data, dict):
        site = Site.objects.filter(object_id=data.get("site_id")).first()
        if site is None:
            errors["site_id"] = ["site_id must be the id of a site of the account."]
    given_id = data.get("id") if isinstance(data, dict) else None
    if given_id is not None and not (isinstance(given_id, str) and 0 < len(given_id) <= 24):
        errors["id"] = ["id must be a text of 1 to 24 characters (the platform's ObjectId)."]
    if errors:
        return bad(errors)
    meter_id = given_id or object_id(
        site.site_ref, "meter", values["name"], str(Meter.objects.count())
    )
    if Meter.objects.filter(object_id=meter_id).exists():
        return bad({"id": ["A meter with this id exists."]})
    values.setdefault("mode", "consumption")
    meter = Meter.objects.create(object_id=meter_id, site=site, **values)
    return JsonResponse({**meter_json(meter), "site_id": site.object_id}, status=201)


@control_access
@require_http_methods(["PATCH", "DELETE"])
def meter_detail(request, meter_id):
    with transaction.atomic():
        meter = Meter.objects.select_related("site").filter(object_id=meter_id).first()
        if meter is None:
            return JsonResponse({"errors": {"id": [f"No meter {meter_id}."]}}, status=404)
        if request.method == "DELETE":
            meter.delete()
            return JsonResponse({"deleted": meter_id})
        errors, values = _meter_values(json_body(request), partial=True)
        if errors:
            return bad(errors)
        for field, value in values.items():
            setattr(meter, field, value)
        meter.save()
    return JsonResponse({**meter_json(meter), "site_id": meter.site.object_id})


@control_access
@require_http_methods(["GET", "POST"])
def rate_limit(request):
    if request.method == "POST":
        data = json_body(request)
        seconds = data.get("seconds") if isinstance(data, dict) else None
        if (
            not isinstance(seconds, int | float)
            or isinstance(seconds, bool)
            or not 0 <= seconds <= 60
        ):
            return bad({"seconds": ["seconds must be a number from 0 (no limit) to 60."]})
        throttle.set_interval(float(seconds))
    return JsonResponse({"seconds": throttle.interval()})


@control_access
@require_http_methods(["GET", "POST"])
def answers(request):
    shapes = AnswerShapes.objects.filter(pk=1).first() or AnswerShapes(pk=1)
    if request.method == "POST":
        data = json_body(request)
        if not isinstance(data, dict):
            return bad({"$": ["Expected a JSON object."]})
        errors = {}
        choices = [value for value, _ in AnswerShapes.INSTALLATIONS]
        if "installations" in data:
            if data["installations"] in choices:
                shapes.installations = data["installations"]
            else:
                errors["installations"] = [f"installations must be one of {', '.join(choices)}."]
        if "prim_ad_as_text" in data:
            if isinstance(data["prim_ad_as_text"], bool):
                shapes.prim_ad_as_text = data["prim_ad_as_text"]
            else:
                errors["prim_ad_as_text"] = ["prim_ad_as_text must be true or false."]
        if errors:
            return bad(errors)
        shapes.save()
    return JsonResponse(
        {"installations": shapes.installations, "prim_ad_as_text": shapes.prim_ad_as_text}
    )


# --- trainer page ---------------------------------------------------------------------


@control_access
@require_GET
def index(request):
    ensure_seeded()
    root = request.build_absolute_uri(reverse("climkit_sandbox:index"))
    arrivals = throttle.arrivals(30)
    arrivals.reverse()
    return render(
        request,
        "climkit_sandbox/index.html",
        {
            "sites": Site.objects.prefetch_related("meters", "sensors"),
            "panel": control_panel(
                PLATFORM,
                base_url=root + "api/v1",
                control_url=root + "_sandbox",
                extra_controls="meters, rate_limit, answers",
                spared="/auth",
            ),
            "interval": throttle.interval(),
            "arrivals": arrivals,
            "tokens_valid": tokens.valid_count(AccessToken),
            "username": settings.SANDBOX_CLIENT_ID,
        },
    )
