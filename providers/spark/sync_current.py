"""Our models as the API Spark serves today sees them (SPARK_API=current; mapping.py has
what is sent and what stays ours).

Every id is ours (a UUID on our model, made before the first create), so an attempt whose
outcome is unknown (a timeout, a 5xx, a worker killed mid-call) is settled by one GET:
`GET /users/{id}`, `GET /users/{userId}/locations/{id}`, `GET /resources/{id}`. No
create ever waits for a person because its answer was lost.

Order: a user first; its locations and vehicles once it exists on Spark; a resource once
its location does (Spark binds every resource but a vehicle to a location). Deletes go
bottom-up, each by its own outbox row: what deleting a user does to its locations and
resources the spec does not say, so the portal never relies on it.

Reconcile reads `GET /users` (paged), each user's `GET /users/{id}/locations` and
`GET /users/{id}/resources` (vehicles and location-bound resources in one list): every
id being ours, an object of ours found under no row is adopted by its id.

Repeats. The spec lists 409 for a location created twice and nothing for users and
resources (only `200` beside `201`). A 409 still gets the same answer everywhere: look
the id up, adopt it if it is ours (under the same user, at the same location), else
refuse with the reason.
"""

from onboarding.models import Meter, Resource, TenantUser, Vehicle
from providers.spark.events.models import ChargeReport

from ..errors import NotFoundError, NotSupported, PermanentError
from ..handlers import LISTS_ALL, LISTS_PER_PARENT, Handler, Remote
from . import mapping
from .client import ConflictError
from .remote import cannot_change, split

# What a resource waits for when its tenant has no meter (shown as "Meter …").
NO_METER_YET = "(none yet: add the tenant's meter)"


def _looked_up(get, *args) -> dict | None:
    try:
        return get(*args)
    except NotFoundError:
        return None


class TenantUserHandler(Handler):
    def dependants(self, tenant: TenantUser):
        return [
            (Meter, tenant.meters.values("pk")),
            (Vehicle, tenant.vehicles.values("pk")),
            (Resource, tenant.resources.values("pk")),
        ]

    def payload(self, tenant: TenantUser, parent_id: str | None) -> dict:
        return mapping.user_body(tenant)

    def create(self, client, tenant, payload, parent_id) -> str:
        try:
            client.create_user(payload["userId"])
        except ConflictError:
            if not self.find_existing(client, tenant, payload, parent_id):
                raise
        return payload["userId"]

    def update(self, client, remote_id, payload, parent_id) -> None:
        # A user is its id and nothing else (the spec has no update for one): nothing of
        # the tenant's name, e-mail or phone goes to Spark, so there is nothing to send.
        return

    def find_existing(self, client, tenant, payload, parent_id) -> str | None:
        found = _looked_up(client.get_user, payload["userId"])
        return payload["userId"] if found else None

    def delete(self, client, remote_id) -> None:
        client.delete_user(remote_id)

    listing = LISTS_ALL

    def list_remote(self, client, parent_ids=None):
        for user in client.list_users():
            user_id = str(user.get("userId") or "")
            if user_id:
                yield Remote(id=user_id, fields={}, keys=(user_id,), label=f"Spark user {user_id}")

    def keys(self, tenant, payload) -> tuple[str, ...]:
        return (payload["userId"],)


class MeterHandler(Handler):
    """A meter is a location of its tenant's user."""

    parent_field = "tenant"
    # A location's type, coordinates and metering points change with PUT; only its user
    # cannot change.
    fixed_fields = cannot_change("meter", ("tenant",))
    # A location has no address: staff are told so before they change a unit's address
    # (attention.not_sent_fields reads the key "address").
    create_only = {
        "address": "Spark's locations hold no address: a change of the unit's address does "
        "not reach Spark (nothing there to change)."
    }
    listing = LISTS_PER_PARENT
    compared = {
        "locationType": "location type",
        "meterPointIds": "metering point",
        "coordinates": "coordinates",
    }
    unpushable = {"parent": fixed_fields["tenant"]}

    def rank(self, obj) -> int:
        return 1

    def dependants(self, meter: Meter):
        # The resources bound to its location (a resource without a meter of its own is
        # bound to its tenant's first meter): they wait for the location.
        return [(Resource, Resource.objects.filter(tenant_id=meter.tenant_id).values("pk"))]

    def payload(self, meter: Meter, parent_id: str | None) -> dict:
        return mapping.location_body(meter)

    def create(self, client, meter, payload, parent_id) -> str:
        remote_id = f"{parent_id}/{payload['locationId']}"
        try:
            client.create_location(parent_id, payload)
        except ConflictError as conflict:
            if not self.find_existing(client, meter, payload, parent_id):
                raise PermanentError(
                    f"Spark already has a location {payload['locationId']} under another "
                    f"user ({conflict.message}).",
                    status=409,
                ) from conflict
            # Ours from an earlier attempt: make it what we send now.
            client.replace_location(parent_id, payload["locationId"], payload)
        return remote_id

    def update(self, client, remote_id, payload, parent_id) -> None:
        client.replace_location(*split(remote_id), payload)

    def move(self, client, remote_id, old_parent_id, new_parent_id, obj=None) -> None:
        raise NotSupported(self.fixed_fields["tenant"])

    def find_existing(self, client, meter, payload, parent_id) -> str | None:
        found = _looked_up(client.get_location, parent_id, payload["locationId"])
        return f"{parent_id}/{payload['locationId']}" if found else None

    def list_remote(self, client, parent_ids=None):
        for user_id in parent_ids or ():
            for item in client.list_locations(user_id):
                location_id = str(item.get("locationId") or "")
                if location_id:
                    yield Remote(
                        id=f"{user_id}/{location_id}",
                        fields={k: item.get(k) for k in self.compared if k in item},
                        parent_id=user_id,
                        keys=(location_id,),
                        label=f"location {location_id}",
                    )

    def keys(self, meter, payload) -> tuple[str, ...]:
        return (payload["locationId"],)

    def delete(self, client, remote_id) -> None:
        client.delete_location(*split(remote_id))


class _ResourceHandler(Handler):
    """A vehicle or a location-bound resource: `GET /resources/{id}` finds either."""

    what = ""
    # Reconcile: a user's resources (`GET /users/{id}/resources` lists both kinds). No
    # API changes one, so a difference is "not sent", never a push.
    listing = LISTS_PER_PARENT
    compared = {"resourceType": "resource type"}

    @property
    def unpushable(self) -> dict[str, str]:
        why = f"Spark has no API to change a {self.what}: delete it and add it again."
        return {"resourceType": why, "parent": self.fixed_fields["tenant"]}

    def list_remote(self, client, parent_ids=None):
        users = dict.fromkeys(split(parent_id)[0] for parent_id in parent_ids or ())
        for user_id in users:
            for item in client.list_resources(user_id):
                resource_id = str(item.get("resourceId") or "")
                if resource_id and self.is_mine_kind(item):
                    yield Remote(
                        id=f"{user_id}/{resource_id}",
                        fields={k: item.get(k) for k in self.compared if k in item},
                        parent_id=self.listed_under(user_id, item),
                        keys=(resource_id,),
                        label=f"{self.what} {resource_id}",
                    )

    def is_mine_kind(self, item: dict) -> bool:
        raise NotImplementedError

    def listed_under(self, user_id: str, item: dict) -> str:
        return user_id

    def keys(self, obj, payload) -> tuple[str, ...]:
        return (payload["resourceId"],)

    def find_existing(self, client, obj, payload, parent_id) -> str | None:
        found = _looked_up(client.get_resource, payload["resourceId"])
        if found is None:
            return None
        user_id = split(parent_id)[0]
        expected = self.expected_location(parent_id)
        if str(found.get("userId")) != user_id or (
            expected and str(found.get("locationId")) != expected
        ):
            raise PermanentError(
                f"Spark holds {self.what} {payload['resourceId']} under user "
                f"{found.get('userId')}, location {found.get('locationId')}, not ours: delete "
                "it there, then retry."
            )
        return f"{user_id}/{payload['resourceId']}"

    def expected_location(self, parent_id: str) -> str:
        return ""

    def create(self, client, obj, payload, parent_id) -> str:
        try:
            self.send_create(client, parent_id, payload)
        except ConflictError as conflict:
            found = self.find_existing(client, obj, payload, parent_id)
            if not found:
                raise PermanentError(conflict.message, status=409) from conflict
            return found
        return f"{split(parent_id)[0]}/{payload['resourceId']}"

    def send_create(self, client, parent_id: str, payload: dict) -> None:
        raise NotImplementedError

    def update(self, client, remote_id, payload, parent_id) -> None:
        raise NotSupported(
            f"Spark has no API to change a {self.what}: delete the {self.what} and add it again."
        )

    def move(self, client, remote_id, old_parent_id, new_parent_id, obj=None) -> None:
        raise NotSupported(self.fixed_fields["tenant"])

    def delete(self, client, remote_id) -> None:
        client.delete_resource(split(remote_id)[1])


class VehicleHandler(_ResourceHandler):
    what = "vehicle"
    parent_field = "tenant"
    # Brand, model, year and VIN stay ours (the current API has no place for them), so
    # changing them sends nothing; only the owner cannot change.
    fixed_fields = cannot_change("vehicle", ("tenant",))

    def rank(self, obj) -> int:
        return 1

    def dependants(self, vehicle: Vehicle):
        return [(ChargeReport, vehicle.charge_reports.values("pk"))]

    def payload(self, vehicle: Vehicle, parent_id: str | None) -> dict:
        return mapping.vehicle_body(vehicle)

    def send_create(self, client, parent_id, payload) -> None:
        client.create_vehicle(parent_id, payload["resourceId"])

    def is_mine_kind(self, item: dict) -> bool:
        return item.get("resourceType") == "Vehicle"


class ResourceHandler(_ResourceHandler):
    what = "resource"
    parent_field = "meter"
    fixed_fields = {
        **cannot_change("resource", ("tenant", "kind")),
        "meter": (
            "Spark cannot move a resource to another location: delete it and add it again "
            "at the other meter."
        ),
    }

    def rank(self, obj) -> int:
        return 2  # after its location (1), which waits for its user (0)

    def parent(self, resource: Resource):
        """Its location's meter. A tenant without a meter yet: a meter not saved, which
        the resource waits for like any parent ("Waiting for Meter (none yet …)"); the
        tenant's first meter, once it reaches Spark, hands the resource over."""
        meter = resource.location_meter
        if meter is None:
            meter = Meter(tenant_id=resource.tenant_id, meter_point_id=NO_METER_YET)
        return meter

    def payload(self, resource: Resource, parent_id: str | None) -> dict:
        meter = resource.location_meter
        if meter is None:  # only if its meter went between the wait and now
            raise NotSupported(
                "Spark binds every resource but a vehicle to a location: add the tenant's "
                "meter (its location), then Retry."
            )
        return mapping.resource_body(resource, meter)

    def expected_location(self, parent_id: str) -> str:
        return split(parent_id)[1]

    def send_create(self, client, parent_id, payload) -> None:
        client.create_resource(*split(parent_id), payload)

    def is_mine_kind(self, item: dict) -> bool:
        return item.get("resourceType") != "Vehicle"

    def listed_under(self, user_id: str, item: dict) -> str:
        return f"{user_id}/{item.get('locationId') or ''}"


HANDLERS = {
    TenantUser: TenantUserHandler(),
    Meter: MeterHandler(),
    Vehicle: VehicleHandler(),
    Resource: ResourceHandler(),
}
