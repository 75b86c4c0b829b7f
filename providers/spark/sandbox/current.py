"""The API Spark serves today (SPARK_API=current), as Volue's spec has it.

Every body is checked against the spec's schema (spec_answers.body_of); every answer has
a status the spec lists for the operation and the shape its schema gives. Where the spec
lists a status without saying when, the sandbox reads it plainly and says so here:
- a create of an id that exists already: `409` for a location (the spec lists it); for a
  user, a vehicle or a location-bound resource the spec lists no conflict, only `200`
  beside `201`, so the same create again is `200` with the object as it is, and the id
  taken by another user (or location) is a `400`;
- `404` where the spec lists it (an unknown user for a location, an unknown location for
  a resource); an unknown user for a vehicle is a `400` (no 404 listed there);
- deleting a user or a location leaves what was registered under it (the spec does not
  say; models.py), and `GET /users/{id}/locations` lists a user's locations by id.
"""

from django.db import IntegrityError, transaction

from providers.sandbox_kit.endpoint import Answer

from . import events as spark_events
from .models import Event, Location, User, UserResource
from .problems import created, no_content, ok
from .spec_answers import body_of, page_of, paging, refusal
from .views import api

# --- representations (the spec's response schemas) -------------------------------------


def user_json(user: User) -> dict:
    return {"userId": user.user_id}


def location_json(location: Location) -> dict:
    answer = {
        "locationId": location.location_id,
        "locationType": location.location_type,
        # Deprecated in the spec, still answered: the first of meterPointIds.
        "meterPointId": (location.meter_point_ids or [None])[0],
        "meterPointIds": location.meter_point_ids,
        "userId": location.user_id,
    }
    if location.latitude is not None:
        # Left out when unknown: the spec's Coordinate is not nullable (its examples
        # show null; the schema is what the sandbox follows).
        answer["coordinates"] = {"latitude": location.latitude, "longitude": location.longitude}
    return answer


def resource_json(resource: UserResource) -> dict:
    return {
        "resourceId": resource.resource_id,
        "resourceType": resource.resource_type,
        "userId": resource.user_id,
        "locationId": resource.location_id or None,
        "meterPointId": resource.meter_point_id or None,
    }


def event_json(event: Event) -> dict:
    created_at = event.created_at.isoformat()
    return {"id": event.event_id, "createdAt": created_at, "payload": event.payload}


# --- lookups ----------------------------------------------------------------------------


def _user_or(status: int, method: str, template: str, user_id: str) -> User:
    user = User.objects.filter(user_id=user_id).first()
    if user is None:
        raise Answer(refusal(method, template, status, f"User '{user_id}' was not found."))
    return user


def _location_or_404(method: str, template: str, user_id: str, location_id: str) -> Location:
    location = Location.objects.filter(location_id=location_id, user_id=user_id).first()
    if location is None:
        detail = f"Location '{location_id}' of user '{user_id}' was not found."
        raise Answer(refusal(method, template, 404, detail))
    return location


# --- users ------------------------------------------------------------------------------

USERS = "/users"
USER = "/users/{userId}"


@api(USERS, ("GET", "POST"))
def users(request):
    if request.method == "GET":
        page, size = paging(request, "GET", USERS)
        items, pagination = page_of(User.objects.all(), page, size)
        return ok({"pagination": pagination, "users": [user_json(u) for u in items]})
    user_id = body_of(request, "POST", USERS)["userId"]
    user, made = _get_or_create(User, user_id=user_id)
    return created(user_json(user)) if made else ok(user_json(user))


@api(USER, ("GET", "DELETE"))
def user_detail(request, user_id):
    user = _user_or(404, request.method, USER, user_id)
    if request.method == "DELETE":
        user.delete()  # what was registered under it stays (module docstring)
        return no_content()
    return ok(user_json(user))


def _get_or_create(model, **key):
    """(object, made now); a concurrent create of the same key finds the first one."""
    found = model.objects.filter(**key).first()
    if found is not None:
        return found, False
    try:
        with transaction.atomic():
            return model.objects.create(**key), True
    except IntegrityError:
        return model.objects.get(**key), False


# --- locations --------------------------------------------------------------------------

LOCATIONS = "/users/{userId}/locations"
LOCATION = "/users/{userId}/locations/{locationId}"


def _location_fields(body: dict) -> dict:
    points = body.get("meterPointIds")
    if points is None and body.get("meterPointId"):  # the deprecated single field
        points = [body["meterPointId"]]
    coordinates = body.get("coordinates") or {}
    return {
        "location_type": body.get("locationType") or "Unknown",
        "latitude": coordinates.get("latitude"),
        "longitude": coordinates.get("longitude"),
        "meter_point_ids": list(points or []),
    }


@api(LOCATIONS, ("GET", "POST"))
def locations(request, user_id):
    if request.method == "GET":
        mine = Location.objects.filter(user_id=user_id)
        return ok([location_json(loc) for loc in mine])
    body = body_of(request, "POST", LOCATIONS)
    _user_or(404, "POST", LOCATIONS, user_id)
    try:
        with transaction.atomic():
            location = Location.objects.create(
                location_id=body["locationId"], user_id=user_id, **_location_fields(body)
            )
    except IntegrityError:  # the spec's 409: the id is taken (the first location stays)
        detail = f"Location '{body['locationId']}' exists already."
        return refusal("POST", LOCATIONS, 409, detail)
    return created(location_json(location))


@api(LOCATION, ("GET", "PUT", "PATCH", "DELETE"))
def location_detail(request, user_id, location_id):
    method = request.method
    location = _location_or_404(method, LOCATION, user_id, location_id)
    if method == "DELETE":
        location.delete()  # its resources stay (module docstring)
        return no_content()
    if method == "PUT":
        body = body_of(request, "PUT", LOCATION)
        if body["locationId"] != location_id:
            detail = "locationId in the body must be the one in the path."
            return refusal("PUT", LOCATION, 400, detail, {"locationId": [detail]})
        fields = _location_fields(body)
    elif method == "PATCH":
        body = body_of(request, "PATCH", LOCATION)
        fields = {k: v for k, v in _location_fields(body).items() if _patched(k, body)}
    else:
        return ok(location_json(location))
    for name, value in fields.items():
        setattr(location, name, value)
    location.save()
    return ok(location_json(location))


def _patched(field: str, body: dict) -> bool:
    names = {
        "location_type": "locationType",
        "latitude": "coordinates",
        "longitude": "coordinates",
        "meter_point_ids": "meterPointIds",
    }
    return body.get(names[field]) is not None


# --- resources --------------------------------------------------------------------------

VEHICLES = "/users/{userId}/vehicles"
USER_RESOURCES = "/users/{userId}/resources"
LOCATION_RESOURCES = "/users/{userId}/locations/{locationId}/resources"
RESOURCE = "/resources/{resourceId}"


def _register(method: str, template: str, wanted: dict):
    """Create the resource, or answer 200 for the same create again, 400 when its id is
    another user's or location's (module docstring)."""
    try:
        with transaction.atomic():
            return created(resource_json(UserResource.objects.create(**wanted)))
    except IntegrityError:
        pass
    existing = UserResource.objects.get(resource_id=wanted["resource_id"])
    same = all(getattr(existing, k) == v for k, v in wanted.items() if k != "meter_point_id")
    if same:
        return ok(resource_json(existing))
    detail = f"Resource '{wanted['resource_id']}' is registered elsewhere."
    return refusal(method, template, 400, detail, {"resourceId": [detail]})


@api(VEHICLES, ("POST",))
def vehicles(request, user_id):
    body = body_of(request, "POST", VEHICLES)
    if body["resourceType"] != "Vehicle":
        detail = "This endpoint registers vehicles: resourceType must be Vehicle."
        return refusal("POST", VEHICLES, 400, detail, {"resourceType": [detail]})
    _user_or(400, "POST", VEHICLES, user_id)
    wanted = {"resource_id": body["resourceId"], "resource_type": "Vehicle", "user_id": user_id}
    return _register("POST", VEHICLES, wanted)


@api(USER_RESOURCES, ("GET",))
def user_resources(request, user_id):
    _user_or(404, "GET", USER_RESOURCES, user_id)
    mine = UserResource.objects.filter(user_id=user_id)
    return ok({"resources": [resource_json(r) for r in mine]})


@api(LOCATION_RESOURCES, ("GET", "POST"))
def location_resources(request, user_id, location_id):
    method = request.method
    if method == "GET":
        _location_or_404("GET", LOCATION_RESOURCES, user_id, location_id)
        bound = UserResource.objects.filter(user_id=user_id, location_id=location_id)
        return ok([resource_json(r) for r in bound])
    body = body_of(request, "POST", LOCATION_RESOURCES)
    if body["resourceType"] == "Vehicle":
        detail = "Register vehicles with POST /users/{userId}/vehicles."
        return refusal("POST", LOCATION_RESOURCES, 400, detail, {"resourceType": [detail]})
    _user_or(404, "POST", LOCATION_RESOURCES, user_id)
    _location_or_404("POST", LOCATION_RESOURCES, user_id, location_id)
    wanted = {
        "resource_id": body["resourceId"],
        "resource_type": body["resourceType"],
        "user_id": user_id,
        "location_id": location_id,
        "meter_point_id": body.get("meterPointId") or "",
    }
    return _register("POST", LOCATION_RESOURCES, wanted)


@api(RESOURCE, ("GET", "DELETE"))
def resource_detail(request, resource_id):
    resource = UserResource.objects.filter(resource_id=resource_id).first()
    if resource is None:
        return refusal(request.method, RESOURCE, 404, f"Resource '{resource_id}' was not found.")
    if request.method == "DELETE":
        resource.delete()
        return no_content()
    return ok(resource_json(resource))


# --- events -----------------------------------------------------------------------------

EVENTS = "/events"
EVENT = "/events/{eventId}"


@api(EVENTS, ("GET",))
def events(request):
    page, size = paging(request, "GET", EVENTS)
    items, pagination = page_of(Event.objects.all(), page, size)
    return ok({"pagination": pagination, "events": [event_json(e) for e in items]})


@api(EVENT, ("GET",))
def event_detail(request, event_id):
    event = Event.objects.filter(event_id=event_id).first()
    if event is None:
        return refusal("GET", EVENT, 404, f"Event '{event_id}' was not found.")
    return ok(event_json(event))


@api("/simulation/events/usereligibility", ("POST",))
def simulate_user_eligibility(request):
    event = spark_events.user_eligibility()
    return ok({"simulatedEvent": event_json(event)})


@api("/simulation/events/pricecurve", ("POST",))
def simulate_price_curve(request):
    body = body_of(request, "POST", "/simulation/events/pricecurve")
    event = spark_events.price_curve(body)
    return ok({"simulatedEvent": event_json(event)})
