"""Spark as it answers today (`SPARK_API=current`): Volue's public partner spec,
`../shared/provider-docs/spark-openapi.json` (NOTES.md, "The API Spark serves today").

- Every id is the partner's: `POST /users {userId}`, a location's `locationId`, a
  resource's `resourceId`. So whatever became of a create, `GET /users/{id}`,
  `GET /users/{userId}/locations/{id}` and `GET /resources/{id}` say whether it exists.
- Meters are locations (`locationType`, `coordinates`, `meterPointIds`; no address).
- A vehicle is `{resourceId, resourceType: "Vehicle"}`; every other resource is bound to
  a location. Neither has metadata.
- Every request schema has `additionalProperties: false`: bodies carry the spec's fields
  and nothing else; an optional field we have no value for is left out, not sent as null.

The spec lists `200 application/json` without a schema beside each create's `201` (and
beside each delete's `204`): a 200 is taken as the platform's "done" when it is JSON, and
whatever id it carries must be the one we sent.
"""

from .client import PATHS as SHARED_PATHS
from .client import SparkClient, unexpected

PATHS = {
    **SHARED_PATHS,
    "locations": "/users/{userId}/locations",
    "location": "/users/{userId}/locations/{locationId}",
    "vehicles": "/users/{userId}/vehicles",
    "user_resources": "/users/{userId}/resources",
    "location_resources": "/users/{userId}/locations/{locationId}/resources",
    "resource": "/resources/{resourceId}",
}
# The spec's enums (LocationType, ResourceType).
LOCATION_TYPES = ("Unknown", "Residential", "Commercial", "Other")
RESOURCE_TYPES = ("Generic", "Vehicle", "Charger", "HotWaterTank", "HVAC", "SolarInverter")


class CurrentClient(SparkClient):
    api = "current"
    PATHS = PATHS

    def _created(self, response, key: str, sent: str) -> dict:
        """A create's answer: 201 with the object, or the spec's schema-less 200 (JSON).
        An id in it that is not the one we chose is not our object."""
        if response.status_code == 201:
            body = self._object(response, key)
        else:
            self._done(response, f"JSON with {key!r}")
            body = self._json(response, dict, f"JSON with {key!r}") if response.content else {}
        if str(body.get(key, sent)).lower() != str(sent).lower():
            raise unexpected(response, f"JSON with {key!r} {sent}")
        return {**body, key: sent}

    # --- users --------------------------------------------------------------------------
    def create_user(self, user_id: str) -> dict:
        response = self._call("POST", "users", json={"userId": user_id})
        return self._created(response, "userId", user_id)

    # --- locations (our meters) ---------------------------------------------------------
    def create_location(self, user_id: str, body: dict) -> dict:
        """409 (ConflictError): a location with this id exists already."""
        response = self._call("POST", "locations", {"userId": user_id}, json=body)
        return self._created(response, "locationId", body["locationId"])

    def get_location(self, user_id: str, location_id: str) -> dict:
        ids = {"userId": user_id, "locationId": location_id}
        return self._object(self._call("GET", "location", ids), "locationId")

    def list_locations(self, user_id: str) -> list[dict]:
        return self._items(self._call("GET", "locations", {"userId": user_id}), "locations")[0]

    def replace_location(self, user_id: str, location_id: str, body: dict) -> dict:
        """`PUT`: the location becomes `body` (a field left out is cleared)."""
        ids = {"userId": user_id, "locationId": location_id}
        return self._object(self._call("PUT", "location", ids, json=body), "locationId")

    def delete_location(self, user_id: str, location_id: str) -> None:
        ids = {"userId": user_id, "locationId": location_id}
        self._done(self._call("DELETE", "location", ids))

    # --- resources ----------------------------------------------------------------------
    def create_vehicle(self, user_id: str, resource_id: str) -> dict:
        body = {"resourceId": resource_id, "resourceType": "Vehicle"}
        response = self._call("POST", "vehicles", {"userId": user_id}, json=body)
        return self._created(response, "resourceId", resource_id)

    def create_resource(self, user_id: str, location_id: str, body: dict) -> dict:
        """A resource bound to a location: `{resourceId, resourceType, meterPointId?}`."""
        ids = {"userId": user_id, "locationId": location_id}
        response = self._call("POST", "location_resources", ids, json=body)
        return self._created(response, "resourceId", body["resourceId"])

    def get_resource(self, resource_id: str) -> dict:
        response = self._call("GET", "resource", {"resourceId": resource_id})
        return self._object(response, "resourceId")

    def list_resources(self, user_id: str) -> list[dict]:
        """A user's vehicles and location-bound resources."""
        response = self._call("GET", "user_resources", {"userId": user_id})
        return self._items(response, "resources")[0]

    def delete_resource(self, resource_id: str) -> None:
        self._done(self._call("DELETE", "resource", {"resourceId": resource_id}))
