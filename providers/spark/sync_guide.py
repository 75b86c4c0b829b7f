"""Our models as Spark's quickstart guide sees them (SPARK_API=guide): TenantUser → user;
Meter, Vehicle and Resource → a user's meter, vehicle and resource, each waiting for its
tenant's remote id as a unit waits for its building.

Remote ids of a user's objects are "<userId>/<id>": Spark addresses them under their
user, and the user they were registered to is what a delete must name, even if the
object was since given another tenant here (Spark cannot move it; the form refuses).

Repeats. Spark's guide says nothing of a repeated key; its reference spec answers 409
Conflict for a location registered twice, and a key that identifies one meter (its
meterPointId) or one vehicle or resource (the vehicleId/resourceId we choose) cannot
stand for two, so the platform refuses the second create and keeps the first (the
sandbox does the same). A create we repeat after losing its answer therefore cannot make
a second object: before repeating, the engine lists the user's objects and adopts ours by
its key, and a 409 that still comes is answered the same way. A user, though, carries
nothing of ours in this form: a user create whose answer was lost needs a person (unless
the answer proved that nothing arrived: a 502, a maintenance page).
"""

from onboarding.models import Meter, Resource, TenantUser, Vehicle
from providers.spark.events.models import ChargeReport

from ..errors import NotSupported, PermanentError
from ..handlers import LISTS_ALL, LISTS_PER_PARENT, Handler, Remote
from .client import ConflictError
from .remote import cannot_change
from .remote import split as _split


class TenantUserHandler(Handler):
    # Nothing of ours is on a Spark user (the guide gives no user fields), so a user
    # whose create got no answer cannot be told apart from anyone else's.
    supports_lookup = False

    def dependants(self, tenant: TenantUser):
        return [
            (Meter, tenant.meters.values("pk")),
            (Vehicle, tenant.vehicles.values("pk")),
            (Resource, tenant.resources.values("pk")),
        ]

    def payload(self, tenant: TenantUser, parent_id: str | None) -> dict:
        # The guide registers a user with no personal data at all: nothing of the
        # tenant's name, e-mail or phone goes to Spark.
        return {}

    def create(self, client, tenant, payload, parent_id) -> str:
        return client.create_user(payload)

    def update(self, client, remote_id, payload, parent_id) -> None:
        client.update_user(remote_id, payload)

    def find_existing(self, client, tenant, payload, parent_id) -> str | None:
        raise NotSupported(
            "The Spark user may or may not have been created (no answer came back), and "
            "Spark users carry nothing of ours to find them by. Use 'Retry' to create it: "
            "if the first one did arrive, an empty user without meters or vehicles stays "
            "behind on Spark, which their support can remove."
        )

    def delete(self, client, remote_id) -> None:
        # Spark drops the user's meters, vehicles and resources with it.
        client.delete_user(remote_id)

    # Reconcile: `GET /users` (paged) lists every user of the partner. A user carries
    # nothing but its id here, so one we do not know (an empty user a lost create left)
    # is for a person.
    listing = LISTS_ALL

    def list_remote(self, client, parent_ids=None):
        for user in client.list_users():
            user_id = str(user.get("userId") or "")
            if user_id:
                yield Remote(id=user_id, fields={}, label=f"Spark user {user_id}")


class _OwnedHandler(Handler):
    """A meter, vehicle or resource: registered under its tenant's Spark user."""

    parent_field = "tenant"
    what = ""
    key = ""  # the payload field that identifies it on Spark

    def rank(self, obj) -> int:
        return 1

    def listed(self, client, user_id: str) -> list[dict]:
        raise NotImplementedError

    def remote_own_id(self, item: dict) -> str:
        return str(item.get(self.key) or item.get("resourceId") or "")

    def find_existing(self, client, obj, payload, parent_id) -> str | None:
        for item in self.listed(client, parent_id):
            if (
                item.get(self.key) == payload[self.key]
                or item.get("resourceId") == payload[self.key]
            ):
                return f"{parent_id}/{self.remote_own_id(item)}"
        return None

    def create(self, client, obj, payload, parent_id) -> str:
        try:
            return f"{parent_id}/{self.send_create(client, parent_id, payload)}"
        except ConflictError as conflict:
            # Ours from an earlier attempt whose answer we lost: adopt it. Otherwise the
            # key belongs to another Spark user, which staff must sort out.
            found = self.find_existing(client, obj, payload, parent_id)
            if found:
                return found
            raise PermanentError(
                f"Spark already has a {self.what} with {self.key} {payload[self.key]} under "
                f"another user ({conflict.message}). Delete it there, or from the tenant "
                "it belongs to, then retry.",
                status=409,
            ) from conflict

    def send_create(self, client, user_id: str, body: dict) -> str:
        raise NotImplementedError

    def move(self, client, remote_id, old_parent_id, new_parent_id, obj=None) -> None:
        raise NotSupported(self.fixed_fields["tenant"])

    def update(self, client, remote_id, payload, parent_id) -> None:
        raise NotSupported(
            f"Spark has no API to change a {self.what}: this change stays in the portal. "
            f"To apply it there, delete the {self.what} and add it again."
        )

    # Reconcile: a user's meters, vehicles or resources, listed per user. Spark changes
    # none of them, so a difference is "not sent" (delete it and add it again), never a
    # push; one carrying our key under no row of ours is adopted.
    listing = LISTS_PER_PARENT

    @property
    def unpushable(self) -> dict[str, str]:
        why = f"Spark has no API to change a {self.what}: delete it and add it again to send it."
        return {**dict.fromkeys(self.compared, why), "parent": self.fixed_fields["tenant"]}

    def list_remote(self, client, parent_ids=None):
        for user_id in parent_ids or ():
            for item in self.listed(client, user_id):
                if not self.is_mine_kind(item):
                    continue
                key = str(item.get(self.key) or item.get("resourceId") or "")
                yield Remote(
                    id=f"{user_id}/{self.remote_own_id(item)}",
                    fields={name: item.get(name) for name in self.compared if name in item},
                    parent_id=user_id,
                    keys=(key,) if key else (),
                    label=f"{self.what} {key}",
                )

    def is_mine_kind(self, item: dict) -> bool:
        return True

    def keys(self, obj, payload) -> tuple[str, ...]:
        return (str(payload[self.key]),)


class MeterHandler(_OwnedHandler):
    what = "meter"
    key = "meterPointId"
    fixed_fields = cannot_change(
        "meter",
        ("tenant", "meter_point_id", "meter_number", "latitude", "longitude", "location_type"),
    )
    ADDRESS_FIXED = (
        "Spark cannot change a meter once registered: a new address of its unit does not "
        "reach it (delete the meter and add it again to send it)."
    )
    # A meter carries its unit's address (the key "address": attention.not_sent_fields).
    create_only = {"address": ADDRESS_FIXED}
    compared = {
        "meterPointId": "metering point id",
        "meterNumber": "meter number",
        "locationType": "location type",
        "address": "address",
        "location": "coordinates",
    }

    def not_sent(self, meter: Meter, created: dict | None = None) -> str | None:
        if not created or "address" not in created:
            return None
        if self.payload(meter, None)["address"] != created["address"]:
            return self.ADDRESS_FIXED
        return None

    def payload(self, meter: Meter, parent_id: str | None) -> dict:
        address = meter.tenant.unit.address()
        street = ", ".join(filter(None, [address["address_line_one"], address["address_line_two"]]))
        payload = {
            "address": {"street": street, "city": address["city"], "zipCode": address["postcode"]},
            "meterPointId": meter.meter_point_id,
            "locationType": meter.effective_location_type,
        }
        if meter.meter_number:
            payload["meterNumber"] = meter.meter_number
        if meter.latitude is not None and meter.longitude is not None:
            payload["location"] = {
                "latitude": float(meter.latitude),
                "longitude": float(meter.longitude),
            }
        return payload

    def listed(self, client, user_id):
        return client.list_meters(user_id)

    def remote_own_id(self, item: dict) -> str:
        return str(item.get("meterId") or "")

    def send_create(self, client, user_id, body) -> str:
        return client.create_meter(user_id, body)

    def delete(self, client, remote_id) -> None:
        client.delete_meter(*_split(remote_id))


class VehicleHandler(_OwnedHandler):
    what = "vehicle"
    key = "vehicleId"
    fixed_fields = cannot_change("vehicle", ("tenant", "brand", "model", "year", "vin"))

    def dependants(self, vehicle: Vehicle):
        return [(ChargeReport, vehicle.charge_reports.values("pk"))]

    def payload(self, vehicle: Vehicle, parent_id: str | None) -> dict:
        metadata = {"resourceType": "Vehicle", "brand": vehicle.brand, "model": vehicle.model}
        if vehicle.year:
            metadata["year"] = vehicle.year
        if vehicle.vin:
            metadata["vin"] = vehicle.vin
        return {"vehicleId": str(vehicle.vehicle_id), "metadata": metadata}

    compared = {"metadata": "brand, model, year and VIN"}

    def listed(self, client, user_id):
        return client.list_vehicles(user_id)

    def send_create(self, client, user_id, body) -> str:
        client.create_vehicle(user_id, body)
        return body["vehicleId"]  # Spark addresses it by the key we chose

    def delete(self, client, remote_id) -> None:
        client.delete_vehicle(*_split(remote_id))


class ResourceHandler(_OwnedHandler):
    what = "resource"
    key = "resourceId"
    fixed_fields = cannot_change(
        "resource", ("tenant", "kind", "brand", "model", "capacity", "heating_elements")
    )

    def payload(self, resource: Resource, parent_id: str | None) -> dict:
        metadata = {"resourceType": resource.kind}
        for field, value in (("brand", resource.brand), ("model", resource.model)):
            if value:
                metadata[field] = value
        if resource.capacity:
            metadata["capacity"] = resource.capacity
        if resource.heating_element_watts:
            metadata["heatingElements"] = resource.heating_element_watts
        return {"resourceId": str(resource.resource_id), "metadata": metadata}

    compared = {"metadata": "kind, brand, model, capacity and heating elements"}

    def listed(self, client, user_id):
        return client.list_resources(user_id)

    def is_mine_kind(self, item: dict) -> bool:
        # A user's resources list holds their vehicles too (a vehicle is a resource).
        metadata = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
        return "vehicleId" not in item and metadata.get("resourceType") != "Vehicle"

    def send_create(self, client, user_id, body) -> str:
        client.create_resource(user_id, body)
        return body["resourceId"]

    def delete(self, client, remote_id) -> None:
        client.delete_resource(*_split(remote_id))


HANDLERS = {
    TenantUser: TenantUserHandler(),
    Meter: MeterHandler(),
    Vehicle: VehicleHandler(),
    Resource: ResourceHandler(),
}
