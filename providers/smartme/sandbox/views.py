"""The smart-me REST API as the guide's examples call it, against https://api.smart-me.com.

- `GET /Devices` (the sample's URL ends in a slash; both are served), `GET /Devices/{id}`,
  `GET /DevicesByEnergy?meterEnergyType=N`, `GET /gateway/mbus/{id}`;
- the OAuth token endpoint at `/oauth/token` (NOTES.md: the platform's own Python sample
  and discovery document) and the guide's `/api/oauth/token/`, client credentials only,
  the client authenticating by Basic header or in the form body, `scope` one or more
  of SCOPES (the Python sample asks `device.read`);
- a rate limit on every request, token endpoints included: 429 with `Retry-After` in
  seconds (NOTES.md), throttle.py.

Where the guide is silent the sandbox does what the platform, an ASP.NET Web API, does
by default: errors are `{"Message": "..."}`; a missing or non-integer query parameter is
a 400 "The request is invalid."; an unknown id is a 404. Token errors follow RFC 6749.
"""

import uuid

from django.http import JsonResponse

from providers.sandbox_kit.endpoint import Answer, api_endpoint

from ..values import MBUS_GATEWAY
from . import auth
from .models import Device
from .seed import ensure_seeded
from .serialize import device_json, gateway_json
from .throttle import rate_limited

PLATFORM = "smartme"


def error(status: int, detail: str) -> JsonResponse:
    response = JsonResponse({"Message": detail}, status=status)
    if status == 401:
        # ASP.NET's Basic-auth filter challenges for Basic; Bearer and ApiKey work too.
        response["WWW-Authenticate"] = 'Basic realm="smart-me"'
    return response


def _authenticate(request) -> str | None:
    ensure_seeded()  # the demo account exists from the first call on
    return auth.problem(request)


def api(template: str):
    def decorate(view):
        inner = api_endpoint(
            PLATFORM, template, methods=("GET",), error=error, authenticate=_authenticate
        )(view)
        return rate_limited(error)(inner)  # the gateway's limit comes first

    return decorate


def _device_or_404(device_id: str, **filters) -> Device:
    try:
        key = uuid.UUID(device_id)
    except ValueError:
        raise Answer(error(404, f"No device with id '{device_id}'.")) from None
    device = Device.objects.filter(uuid=key, **filters).first()
    if device is None:
        raise Answer(error(404, f"No device with id '{device_id}'."))
    return device


@api("/Devices")
def devices(request):
    return JsonResponse([device_json(d) for d in Device.objects.all()], safe=False)


@api("/Devices/{id}")
def device_detail(request, device_id: str):
    return JsonResponse(device_json(_device_or_404(device_id)))


@api("/DevicesByEnergy")
def devices_by_energy(request):
    value = request.GET.get("meterEnergyType", "")
    try:
        energy_type = int(value)
    except ValueError:
        return JsonResponse(
            {
                "Message": "The request is invalid.",
                "MessageDetail": "The parameters dictionary contains a null entry for "
                "parameter 'meterEnergyType' of non-nullable type 'System.Int32'.",
            },
            status=400,
        )
    rows = Device.objects.filter(energy_type=energy_type)
    return JsonResponse([device_json(d) for d in rows], safe=False)


@api("/gateway/mbus/{id}")
def mbus_gateway(request, gateway_id: str):
    gateway = _device_or_404(gateway_id, energy_type=MBUS_GATEWAY)
    return JsonResponse(gateway_json(gateway))


# --- OAuth 2: client credentials ------------------------------------------------------


def oauth_error(status: int, detail: str, code: str = "") -> JsonResponse:
    code = code or {400: "invalid_request", 401: "invalid_client",
                    429: "temporarily_unavailable"}.get(status, "server_error")  # fmt: skip
    response = JsonResponse({"error": code, "error_description": detail}, status=status)
    response["Cache-Control"] = "no-store"
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="smart-me"'
    return response


# Scopes smart-me's own samples ask for (NOTES.md: the Python sample `device.read`, the
# .NET sample "with scopes"); an unknown one is RFC 6749's invalid_scope.
SCOPES = {"device.read", "device.write", "user.read", "offline_access"}


def _token_view(template: str):
    @rate_limited(oauth_error)
    @api_endpoint(PLATFORM, template, methods=("POST",), error=oauth_error, is_token_endpoint=True)
    def token(request):
        ensure_seeded()
        if "application/x-www-form-urlencoded" not in request.headers.get("Content-Type", ""):
            return oauth_error(400, "The token request must be form-encoded (RFC 6749).")
        form = request.POST
        if form.get("grant_type") != "client_credentials":
            return oauth_error(
                400, "Only the client_credentials grant is enabled for this client.",
                "unsupported_grant_type",
            )  # fmt: skip
        # client_secret_basic or client_secret_post, whichever the client used.
        credentials = auth.basic_credentials(request.headers.get("Authorization", ""))
        if credentials is None:
            credentials = (form.get("client_id", ""), form.get("client_secret", ""))
        if not auth.client_ok(*credentials):
            return oauth_error(401, "The client credentials are invalid.")
        asked = set(form.get("scope", "").split())
        if asked - SCOPES:
            unknown = ", ".join(sorted(asked - SCOPES))
            return oauth_error(400, f"Unknown scope: {unknown}.", "invalid_scope")
        lifetime = int(auth.TOKEN_LIFETIME.total_seconds())
        body = {"access_token": auth.issue_token(), "token_type": "Bearer", "expires_in": lifetime}
        if asked:
            body["scope"] = " ".join(sorted(asked))
        response = JsonResponse(body)
        response["Cache-Control"] = "no-store"
        return response

    return token


# Where the platform serves tokens: its own samples and discovery document use
# `/oauth/token` on the API host (NOTES.md), the guide `/api/oauth/token/` (the .NET
# sample's www host has it too); one sandbox host answers both.
token_guide = _token_view("/api/oauth/token/")
token_sample = _token_view("/oauth/token")
