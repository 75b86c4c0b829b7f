"""The zevvy sandbox's control side (`/_sandbox/...`), for tests and trainers.

The fault switches, latency, access-token expiry, reset and state come from the shared
sandbox kit (staff login or the control token); this module adds what only zevvy's
device flow needs: revoking grants (a person withdrawing the portal's access in zevvy),
expiring device codes, and the device flow's timing; and `_sandbox/api` (GET, POST
`{"unpublished_device_calls": false}`): whether it offers the device listing, update and
delete that no public source shows (views.py).
"""

from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from providers.sandbox_kit.control import bad, control_access, control_urls, json_body

from . import authserver
from .models import (
    AccessToken,
    ApiSettings,
    Device,
    DeviceCode,
    FlowSettings,
    Grant,
    Measurement,
    RefreshToken,
    Register,
)
from .views import PLATFORM, device_json


def device_code_json(code: DeviceCode) -> dict:
    # The device code itself is never shown: only its user code and where it stands.
    return {
        "user_code": code.user_code,
        "status": code.status,
        "scope": code.scope,
        "interval": code.interval,
        "polls": code.polls,
        "slow_downs": code.slow_downs,
        "expires_at": code.expires_at.isoformat(),
        "expired": code.expires_at <= timezone.now(),
    }


def grant_json(grant: Grant) -> dict:
    return {
        "id": grant.pk,
        "user_code": grant.user_code,
        "scope": grant.scope,
        "created_at": grant.created_at.isoformat(),
        "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
        "revoked": grant.revoked_at is not None,
    }


def _state(request) -> dict:
    now = timezone.now()
    devices = list(Device.objects.prefetch_related("registers"))
    grants = list(Grant.objects.all())
    codes = list(DeviceCode.objects.all())
    return {
        "counts": {
            "devices": len(devices),
            "registers": Register.objects.count(),
            "measurements": Measurement.objects.count(),
            "grants_active": sum(1 for g in grants if g.revoked_at is None),
            "device_codes_pending": sum(
                1 for c in codes if c.status == DeviceCode.PENDING and c.expires_at > now
            ),
            "tokens_valid": AccessToken.objects.filter(
                expires_at__gt=now, grant__revoked_at__isnull=True
            ).count(),
        },
        "devices": [device_json(d) for d in devices],
        "device_codes": [device_code_json(c) for c in codes],
        "grants": [grant_json(g) for g in grants],
        "device_flow": _flow_json(authserver.flow_settings()),
    }


def _reset() -> None:
    for model in (
        Measurement,
        Register,
        Device,
        AccessToken,
        RefreshToken,
        Grant,
        DeviceCode,
        FlowSettings,
        ApiSettings,
    ):
        model.objects.all().delete()


@control_access
@require_POST
def revoke_grants(request):
    """Body `{}` revokes every grant, `{"grant": id}` one: what a person does in zevvy
    when they withdraw the portal's access."""
    data = json_body(request)
    if not isinstance(data, dict):
        return bad({"$": ["Expected a JSON object."]})
    grant = data.get("grant")
    if grant is not None and (not isinstance(grant, int) or isinstance(grant, bool)):
        return bad({"grant": ["grant must be a grant id (an integer)."]})
    return JsonResponse({"revoked": authserver.revoke_grants(grant)})


@control_access
@require_POST
def expire_device_codes(request):
    return JsonResponse({"expired": authserver.expire_device_codes()})


def _flow_json(config: FlowSettings) -> dict:
    return {
        "interval": config.interval,
        "device_code_seconds": config.device_code_seconds,
        "access_token_seconds": config.access_token_seconds,
    }


@control_access
@require_http_methods(["GET", "POST"])
def device_flow(request):
    """GET or POST `{"interval", "device_code_seconds", "access_token_seconds"}`
    (interval 0 = leave it out of the answer, so clients must use RFC 8628's 5 s)."""
    config = authserver.flow_settings()
    if request.method == "POST":
        data = json_body(request)
        if not isinstance(data, dict):
            return bad({"$": ["Expected a JSON object."]})
        errors = {}
        limits = {
            "interval": (0, 600),
            "device_code_seconds": (1, 86_400),
            "access_token_seconds": (1, 86_400),
        }
        for field, (low, high) in limits.items():
            if field not in data:
                continue
            value = data[field]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                errors[field] = [f"{field} must be an integer from {low} to {high}."]
            else:
                setattr(config, field, value)
        if errors:
            return bad(errors)
        config.save()
    return JsonResponse(_flow_json(config))


@control_access
@require_http_methods(["GET", "POST"])
def api_settings(request):
    config = ApiSettings.objects.filter(pk=1).first() or ApiSettings(pk=1)
    if request.method == "POST":
        data = json_body(request)
        value = data.get("unpublished_device_calls") if isinstance(data, dict) else None
        if not isinstance(value, bool):
            return bad({"unpublished_device_calls": ["unpublished_device_calls must be true "
                                                     "or false."]})  # fmt: skip
        config.unpublished_device_calls = value
        config.save()
    return JsonResponse({"unpublished_device_calls": config.unpublished_device_calls})


urls = [
    *control_urls(
        PLATFORM, state=_state, reset=_reset, expire_tokens=authserver.expire_access_tokens
    ),
    path("_sandbox/grants/revoke", revoke_grants, name="revoke-grants"),
    path("_sandbox/device-codes/expire", expire_device_codes, name="expire-device-codes"),
    path("_sandbox/device-flow", device_flow, name="device-flow"),
    path("_sandbox/api", api_settings, name="api-settings"),
]
