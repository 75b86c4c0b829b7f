"""The identity server (`identity/connect/token`) and the Energy Coordination API
(`energy-coordination/v1/...`) in the guide's form (SPARK_API=guide), as the guide and
NOTES.md describe it, and what both forms share: webhooks and reports. The current form's
own views are in current.py; urls.py serves the form SPARK_API names.

Where the guide is silent the sandbox does what Spark's public docs and reference spec
show, and says so next to the code:
- creates answer 201 with the object (NOTES.md: `POST /users` → 201 `{"userId"}`,
  webhooks 201); deletes answer 204 (reference spec: "Returns 204 No Content if the
  user was deleted successfully. Returns 404 Not Found if [it] does not exist");
- a repeated key (`meterPointId`, `vehicleId`, `resourceId`) is a 409 Conflict with the
  object left as it was: the reference spec answers 409 for a location registered twice,
  and a key that identifies one meter or one vehicle cannot stand for two. The 409 comes
  whichever user the first one belongs to; a client that repeats a create whose answer
  it never got finds its object by listing the user's objects;
- deleting a user deletes the meters, vehicles and resources registered to them (the
  platform keeps no registrations without an owner);
- the user list pages like the reference spec (`page` from 1, `pageSize` up to 1000,
  `{"users": [...], "pagination": {...}}`); a user's meters, vehicles and resources come
  whole (`{"meters": [...]}`...), as the reference spec's `GET /users/{id}/resources`
  does; the resources list holds the vehicles too (a vehicle is a resource).

Webhooks (both forms): the body of the form the request uses in the guide's form (either
the guide's or the current API's fields), the spec's alone in the current form; a
webhook's `status` is the spec's WebhookStatus (New, Healthy, Unhealthy, TimeOut) in
both. `PATCH`/`PUT /webhooks/{id}` (the spec's) are served in both forms. The guide's
`POST /webhooks/{id}/test` is served in both (the spec lists no test delivery).

Reports: the guide's body in its form; in the current form the spec's `PostReportRequest`
with the Reports page's VehicleChargeAction (spec.py), and an eventId must name an event
the sandbox made. The state of charge is checked in the units SPARK_REPORT_UNITS names
(percent, or the guide's fraction), the one setting the portal and the sandbox share.
"""

import math
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction

from providers.sandbox_kit.endpoint import Answer, api_endpoint

from . import auth, validation, webhooks
from .forms import is_current
from .models import Event, Meter, Report, Resource, User, Webhook
from .problems import (
    api_error,
    conflict,
    created,
    no_content,
    not_found,
    oauth_error,
    oauth_refusal,
    ok,
    parse_json,
    validation_problem,
)
from .spec_answers import body_of, refusal

PLATFORM = "spark"


def api(template: str, methods: tuple[str, ...]):
    return api_endpoint(
        PLATFORM, template, methods=methods, error=api_error, authenticate=auth.token_problem
    )


# --- representations ------------------------------------------------------------------


def user_json(user: User) -> dict:
    return {"userId": user.user_id, "createdAt": user.created_at.isoformat()}


def meter_json(meter: Meter) -> dict:
    location = None
    if meter.latitude is not None:
        location = {"latitude": meter.latitude, "longitude": meter.longitude}
    return {
        "meterId": str(meter.meter_id),
        "userId": str(meter.user.user_id),
        "meterPointId": meter.meter_point_id,
        "meterNumber": meter.meter_number or None,
        "address": {"street": meter.street, "city": meter.city, "zipCode": meter.zip_code},
        "location": location,
        "locationType": meter.location_type,
    }


def resource_json(resource: Resource) -> dict:
    key = "vehicleId" if resource.is_vehicle else "resourceId"
    return {
        "id": str(resource.uuid),
        key: resource.key,
        # A vehicle is a resource: its key is its resourceId too (reports name it so).
        "resourceId": resource.key,
        "userId": str(resource.user.user_id),
        "metadata": resource.metadata,
    }


def webhook_json(webhook: Webhook) -> dict:
    """The spec's GetWebhookResponse; the guide's form adds its own field names. The
    secret is never shown again, as a platform would not."""
    answer = {
        "webhookId": str(webhook.webhook_id),
        "webhookUrl": webhook.url,
        "name": webhook.name or None,
        "notificationTypes": webhook.notification_types,
        "enabled": webhook.enabled,
        "status": webhook.status,
        "modifiedDate": webhook.modified_at.isoformat(),
        "createdDate": webhook.created_at.isoformat(),
    }
    if webhook.last_analyzed_at:
        answer["lastAnalyzedTimestamp"] = webhook.last_analyzed_at.isoformat()
    if not is_current():
        answer.update(
            url=webhook.url,
            eventTypes=webhook.event_types,
            operations=webhook.operations,
            hasSecret=bool(webhook.secret),
        )
    return answer


def _user(user_id: str) -> User:
    user = User.objects.filter(user_id=user_id).first()
    if user is None:
        raise Answer(not_found("User", user_id))
    return user


def _uuid_or_none(value: str):
    # Spark's ids are strings to its clients; one that is no UUID simply matches nothing.
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# --- identity server ------------------------------------------------------------------


@api_endpoint(
    PLATFORM, "/connect/token", methods=("POST",), error=oauth_error, is_token_endpoint=True
)
def token(request):
    """Client credentials, form-encoded (the guide's curl), client_secret_post or
    client_secret_basic; errors and status codes per RFC 6749 §5.2."""
    if request.content_type != "application/x-www-form-urlencoded":
        return oauth_refusal(
            "invalid_request", "The token request must be form-encoded (x-www-form-urlencoded)."
        )
    form = request.POST
    grant_type = form.get("grant_type", "")
    if not grant_type:
        return oauth_refusal("invalid_request", "grant_type is missing.")
    basic = auth.basic_credentials(request)
    if basic is not None:
        client_id, client_secret = basic
    else:
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
    if not auth.credentials_ok(client_id, client_secret):
        # A client that authenticated with the Authorization header gets 401 (the RFC's
        # MUST); one that sent its secret in the body gets 400.
        response = oauth_refusal(
            "invalid_client",
            "Client authentication failed (unknown client or wrong secret).",
            status=401 if basic is not None else 400,
        )
        if basic is not None:
            response["WWW-Authenticate"] = 'Basic realm="spark-identity"'
        return response
    if grant_type != "client_credentials":
        return oauth_refusal(
            "unsupported_grant_type", f"Grant type '{grant_type}' is not supported."
        )
    scope = form.get("scope", "").split()
    if any(s not in auth.SCOPES for s in scope):
        return oauth_refusal(
            "invalid_scope",
            f"Unknown scope; this client may ask for {', '.join(sorted(auth.SCOPES))}.",
        )
    answer = {
        "access_token": auth.issue_token(),
        "expires_in": int(auth.TOKEN_LIFETIME.total_seconds()),
        "token_type": "Bearer",
        "scope": " ".join(scope or sorted(auth.SCOPES)),
    }
    response = ok(answer)
    response["Cache-Control"] = "no-store"  # RFC 6749 §5.1
    response["Pragma"] = "no-cache"
    return response


# --- users ----------------------------------------------------------------------------


@api("/users", ("GET", "POST"))
def users(request):
    if request.method == "GET":
        errors, page, size = validation.check_paging(request.GET)
        if errors:
            return validation_problem(errors)
        everyone = User.objects.all()
        total = everyone.count()
        pages = math.ceil(total / size)
        items = everyone[(page - 1) * size : page * size]
        return ok(
            {
                "users": [user_json(u) for u in items],
                "pagination": {
                    "totalRecords": total,
                    "pageSize": size,
                    "currentPage": page,
                    "totalPages": pages,
                    "nextPage": page + 1 if page < pages else None,
                    "previousPage": page - 1 if page > 1 else None,
                },
            }
        )
    body = parse_json(request, required=False)
    if not isinstance(body, dict):
        return validation_problem({"$": ["The JSON value must be an object."]})
    # The guide names no user fields: the platform makes the userId, whatever is sent.
    return created(user_json(User.objects.create()))


@api("/users/{userId}", ("GET", "POST", "DELETE"))
def user_detail(request, user_id):
    user = _user(user_id)
    if request.method == "DELETE":
        user.delete()  # with its meters and resources (module docstring)
        return no_content()
    # Spark's user docs: "Updating a User: POST /users/:id". A user has no fields of the
    # guide's to change, so an object is accepted and the user stays as it is.
    if request.method == "POST" and not isinstance(parse_json(request, required=False), dict):
        return validation_problem({"$": ["The JSON value must be an object."]})
    return ok(user_json(user))


# --- meters ---------------------------------------------------------------------------


@api("/users/{userId}/meters", ("GET", "POST"))
def meters(request, user_id):
    user = _user(user_id)
    if request.method == "GET":
        return ok({"meters": [meter_json(m) for m in user.meters.select_related("user")]})
    errors, clean = validation.check_meter(parse_json(request))
    if errors:
        return validation_problem(errors)
    taken = conflict(
        f"A meter with meterPointId '{clean['meter_point_id']}' is already registered.",
        "meterPointId",
    )
    if Meter.objects.filter(meter_point_id=clean["meter_point_id"]).exists():
        return taken
    try:
        with transaction.atomic():
            meter = Meter.objects.create(user=user, **clean)
    except IntegrityError:  # a concurrent create took the key first
        return taken
    return created(meter_json(meter))


@api("/users/{userId}/meters/{meterId}", ("GET", "DELETE"))
def meter_detail(request, user_id, meter_id):
    user = _user(user_id)
    meter = user.meters.filter(meter_id=_uuid_or_none(meter_id)).select_related("user").first()
    if meter is None:
        return not_found("Meter", meter_id)
    if request.method == "DELETE":
        meter.delete()
        return no_content()
    return ok(meter_json(meter))


# --- vehicles and resources -----------------------------------------------------------


def _create_resource(request, user: User, check, key_name: str):
    errors, clean = check(parse_json(request))
    if errors:
        return validation_problem(errors)
    taken = conflict(f"A resource with {key_name} '{clean['key']}' already exists.", key_name)
    if Resource.objects.filter(key=clean["key"]).exists():
        return taken
    try:
        with transaction.atomic():
            resource = Resource.objects.create(user=user, **clean)
    except IntegrityError:
        return taken
    return created(resource_json(resource))


def _resource_detail(request, user: User, key: str, *, vehicle: bool):
    found = user.resources.filter(key=key).select_related("user").first()
    if found is None or (vehicle and not found.is_vehicle):
        return not_found("Vehicle" if vehicle else "Resource", key)
    if request.method == "DELETE":
        found.delete()
        return no_content()
    return ok(resource_json(found))


@api("/users/{userId}/vehicles", ("GET", "POST"))
def vehicles(request, user_id):
    user = _user(user_id)
    if request.method == "GET":
        mine = user.resources.filter(resource_type="Vehicle").select_related("user")
        return ok({"vehicles": [resource_json(v) for v in mine]})
    return _create_resource(request, user, validation.check_vehicle, "vehicleId")


@api("/users/{userId}/vehicles/{vehicleId}", ("GET", "DELETE"))
def vehicle_detail(request, user_id, vehicle_id):
    return _resource_detail(request, _user(user_id), vehicle_id, vehicle=True)


@api("/users/{userId}/resources", ("GET", "POST"))
def resources(request, user_id):
    user = _user(user_id)
    if request.method == "GET":
        mine = user.resources.select_related("user")
        return ok({"resources": [resource_json(r) for r in mine]})
    return _create_resource(request, user, validation.check_resource, "resourceId")


@api("/users/{userId}/resources/{resourceId}", ("GET", "DELETE"))
def resource_detail(request, user_id, resource_id):
    return _resource_detail(request, _user(user_id), resource_id, vehicle=False)


# --- webhooks -------------------------------------------------------------------------


def _webhook(webhook_id: str) -> Webhook:
    webhook = Webhook.objects.filter(webhook_id=_uuid_or_none(webhook_id)).first()
    if webhook is None:
        raise Answer(not_found("Webhook", webhook_id))
    return webhook


@api("/webhooks", ("GET", "POST"))
def webhooks_view(request):
    if request.method == "GET":
        return ok({"webhooks": [webhook_json(w) for w in Webhook.objects.all()]})
    if is_current():
        body = body_of(request, "POST", "/webhooks")
        if errors := validation.check_webhook_url(body["webhookUrl"]):
            # The spec's webhookUrl is a string; one Spark cannot POST to is no webhook,
            # and nor is one the sandbox must not reach (sandbox_kit/targets.py).
            detail = errors["webhookUrl"][0].replace("The webhookUrl field", "webhookUrl")
            return refusal("POST", "/webhooks", 400, detail, {"webhookUrl": [detail]})
        clean = {
            "url": body["webhookUrl"],
            "secret": body.get("webhookSecret") or "",
            "name": body.get("name") or "",
            "notification_types": body.get("notificationTypes") or [],
        }
    else:
        errors, clean = validation.check_webhook(parse_json(request))
        if errors:
            return validation_problem(errors)
    return created(webhook_json(Webhook.objects.create(**clean)))


# The spec's webhook fields and ours.
WEBHOOK_FIELDS = {
    "webhookUrl": "url",
    "webhookSecret": "secret",
    "name": "name",
    "notificationTypes": "notification_types",
    "enabled": "enabled",
}


@api("/webhooks/{webhookId}", ("GET", "PUT", "PATCH", "DELETE"))
def webhook_detail(request, webhook_id):
    webhook = _webhook(webhook_id)
    if request.method == "DELETE":
        webhook.delete()
        return no_content()
    if request.method in ("PUT", "PATCH"):
        body = body_of(request, request.method, "/webhooks/{webhookId}")
        for field, attribute in WEBHOOK_FIELDS.items():
            # PATCH changes what it names (null: unchanged); PUT sets every field.
            if body.get(field) is not None or request.method == "PUT":
                default = [] if field == "notificationTypes" else ""
                value = body.get(field, True if field == "enabled" else default)
                setattr(webhook, attribute, default if value is None else value)
        webhook.save()
    return ok(webhook_json(webhook))


@api("/webhooks/{webhookId}/test", ("POST",))
def webhook_test(request, webhook_id):
    """Sends a signed test event to the webhook's URL now, and says how it went (the
    guide promises the delivery, not an answer body: this one is the sandbox's)."""
    webhook = _webhook(webhook_id)
    notification_type, payload = webhooks.test_payload(webhook)
    delivery = webhooks.deliver(webhook, notification_type, payload)
    return ok(webhooks.delivery_json(delivery))


# --- reports --------------------------------------------------------------------------


@api("/reports", ("POST",))
def reports(request):
    if is_current():
        body = body_of(request, "POST", "/reports")
        errors = _report_problems(body)
        if errors:
            return refusal("POST", "/reports", 400, "The report is invalid.", errors)
        clean = {"event_id": body.get("eventId") or "", "payloads": body["payloads"]}
    else:
        errors, clean = validation.check_report(parse_json(request), units())
        if errors:
            return validation_problem(errors)
    report = Report.objects.create(**clean)
    # NOTES.md: `POST /reports` → {"id", "eventId", "createdAt"}; 200, as the reference spec.
    answer = {
        "id": str(report.report_id),
        "eventId": report.event_id or None,
        "createdAt": report.created_at.isoformat(),
    }
    if not is_current():
        answer["name"] = report.name or None
    return ok(answer)


def units() -> str:
    return "guide" if settings.SPARK_REPORT_UNITS == "guide" else "reports"


def _report_problems(body: dict) -> dict[str, list[str]]:
    """What the schema cannot say: the event answered exists, the state of charge is in
    the units agreed."""
    errors: dict[str, list[str]] = {}
    event_id = body.get("eventId")
    if event_id and not Event.objects.filter(event_id=event_id).exists():
        errors["eventId"] = [f"No event '{event_id}': a report answers an event Spark sent."]
    top = 1 if units() == "guide" else 100
    for i, payload in enumerate(body.get("payloads") or []):
        soc = payload.get("stateOfCharge")
        if isinstance(soc, int | float) and soc > top:
            errors[f"payloads[{i}].stateOfCharge"] = [f"stateOfCharge must be 0 to {top}."]
    return errors
