"""Our models as Volue Spark sees them: TenantUser → user; Meter, Vehicle and Resource →
a user's meter, vehicle and resource, each waiting for its tenant's remote id as a unit
waits for its building.

Remote ids of a user's objects are "<userId>/<id>": Spark addresses them under their
user, and the user they were registered to is what a delete must name, even if the
object was since given another tenant here (Spark cannot move it; the form refuses).

Repeats. Spark's guide says nothing of a repeated key; its reference spec answers 409
Conflict for a location registered twice, and a key that identifies one meter (its
meterPointId) or one vehicle or resource (the vehicleId/resourceId we choose) cannot
stand for two, so the platform refuses the second create and keeps the first (the
sandbox does the same). A create we repeat after losing its answer therefore cannot make
a second object: before repeating, the engine lists the user's objects and adopts ours by
its key, and a 409 that still comes is answered the same way.
"""

import json

from django.conf import settings

from onboarding.models import Meter, Resource, TenantUser, Vehicle

from ..errors import NotSupported, PermanentError
from ..handlers import Handler
from .client import ConflictError, SparkClient

NAME = "spark"


def make_client(connection, *, token_store, on_call) -> SparkClient:
    options = connection.options
    common = {
        "token_store": token_store,
        "on_call": on_call,
        "timeout": (settings.PROVIDER_CONNECT_TIMEOUT_SECONDS, settings.PROVIDER_TIMEOUT_SECONDS),
        "scope": options.get("scope") or None,
    }
    args = (
        connection.base_url,
        options.get("token_url", ""),
        connection.client_id,
        connection.client_secret,
    )
    try:
        return SparkClient(
            *args,
            paths=_paths(options.get("paths", "")),
            webhook_fields=options.get("webhook_fields") or "current",
            **common,
        )
    except ValueError as exc:
        # Bad settings stop Spark with one sentence (sync rows, check_providers), not a
        # stack trace in every worker.
        client = SparkClient(*args, **common)
        client.settings_error = f"the Spark settings are invalid: {exc}"
        return client


def _paths(text: str) -> dict[str, str]:
    if not text:
        return {}
    try:
        paths = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"SPARK_PATHS is not JSON ({exc})") from exc
    if not isinstance(paths, dict) or not all(isinstance(v, str) for v in paths.values()):
        raise ValueError('SPARK_PATHS must be a JSON object {"name": "/path", ...}')
    return paths


def _split(remote_id: str) -> tuple[str, str]:
    user_id, _, own_id = remote_id.partition("/")
    return user_id, own_id


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


def cannot_change(what: str, fields: tuple[str, ...]) -> dict[str, str]:
    """Spark has no API to change or move a meter, vehicle or resource: staff are told
    before saving (services.refuse_changes_platforms_cannot_take), not after."""
    why = (
        f"Spark cannot change a {what} once registered: delete the {what} and add it again "
        "with the new details."
    )
    moved = (
        f"Spark cannot move a {what} to another user: delete it and add it again under the "
        "other tenant."
    )
    return {field: moved if field == "tenant" else why for field in fields}


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


class MeterHandler(_OwnedHandler):
    what = "meter"
    key = "meterPointId"
    fixed_fields = cannot_change(
        "meter",
        ("tenant", "meter_point_id", "meter_number", "latitude", "longitude", "location_type"),
    )

    def payload(self, meter: Meter, parent_id: str | None) -> dict:
        address = meter.tenant.unit.address()
        street = ", ".join(filter(None, [address["address_line_one"], address["address_line_two"]]))
        payload = {
            "address": {"street": street, "city": address["city"], "zipCode": address["postcode"]},
            "meterPointId": meter.meter_point_id,
            "locationType": meter.location_type,
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

    def payload(self, vehicle: Vehicle, parent_id: str | None) -> dict:
        metadata = {"resourceType": "Vehicle", "brand": vehicle.brand, "model": vehicle.model}
        if vehicle.year:
            metadata["year"] = vehicle.year
        if vehicle.vin:
            metadata["vin"] = vehicle.vin
        return {"vehicleId": str(vehicle.vehicle_id), "metadata": metadata}

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

    def listed(self, client, user_id):
        return client.list_resources(user_id)

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
