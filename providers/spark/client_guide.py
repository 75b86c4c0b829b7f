"""Spark as its quickstart guide describes it (`SPARK_API=guide`).

The guide names the creates (users, meters, vehicles, resources, webhooks, reports, the
webhook test) and nothing else. Where it is silent (lists, deletes, a user's update, what
a list answers) the paths below are the REST shapes Spark's public docs used, and every
path can be replaced with the `paths` argument (`SPARK_PATHS`).
"""

from .client import PATHS as SHARED_PATHS
from .client import SparkClient

PATHS = {
    **SHARED_PATHS,
    "meters": "/users/{userId}/meters",
    "meter": "/users/{userId}/meters/{meterId}",
    "vehicles": "/users/{userId}/vehicles",
    "vehicle": "/users/{userId}/vehicles/{vehicleId}",
    "resources": "/users/{userId}/resources",
    "resource": "/users/{userId}/resources/{resourceId}",
}

# Resource types the guide form registers (Resource.Kind in onboarding mirrors it). The
# guide shows HotWaterTank; Spark's resource docs name batteries, heat pumps and electric
# boilers; its reference spec adds Charger, HVAC, SolarInverter and Generic.
RESOURCE_TYPES = (
    "HotWaterTank",
    "HeatPump",
    "Battery",
    "ElectricBoiler",
    "Charger",
    "HVAC",
    "SolarInverter",
    "Generic",
)
LOCATION_TYPES = ("Residential", "Commercial", "Other")


class GuideClient(SparkClient):
    api = "guide"
    PATHS = PATHS

    # --- users --------------------------------------------------------------------------
    def create_user(self, payload: dict | None = None) -> str:
        # The guide gives no fields for a user: the platform hands out the userId.
        response = self._call("POST", "users", json=payload or {})
        return str(self._object(response, "userId")["userId"])

    def update_user(self, user_id: str, payload: dict) -> None:
        # Spark's user docs: "Updating a User: POST /users/:id".
        self._done(self._call("POST", "user", {"userId": user_id}, json=payload))

    # --- meters -------------------------------------------------------------------------
    def create_meter(self, user_id: str, payload: dict) -> str:
        response = self._call("POST", "meters", {"userId": user_id}, json=payload)
        return str(self._object(response, "meterId")["meterId"])

    def list_meters(self, user_id: str) -> list[dict]:
        return self._items(self._call("GET", "meters", {"userId": user_id}), "meters")[0]

    def delete_meter(self, user_id: str, meter_id: str) -> None:
        self._done(self._call("DELETE", "meter", {"userId": user_id, "meterId": meter_id}))

    # --- vehicles -----------------------------------------------------------------------
    def create_vehicle(self, user_id: str, payload: dict) -> dict:
        """Register a vehicle under our `vehicleId`; the answer's object (the guide shows
        none, so only a JSON object is required of it)."""
        return self._object(self._call("POST", "vehicles", {"userId": user_id}, json=payload))

    def list_vehicles(self, user_id: str) -> list[dict]:
        return self._items(self._call("GET", "vehicles", {"userId": user_id}), "vehicles")[0]

    def delete_vehicle(self, user_id: str, vehicle_id: str) -> None:
        ids = {"userId": user_id, "vehicleId": vehicle_id}
        self._done(self._call("DELETE", "vehicle", ids))

    # --- resources ----------------------------------------------------------------------
    def create_resource(self, user_id: str, payload: dict) -> dict:
        return self._object(self._call("POST", "resources", {"userId": user_id}, json=payload))

    def list_resources(self, user_id: str) -> list[dict]:
        return self._items(self._call("GET", "resources", {"userId": user_id}), "resources")[0]

    def delete_resource(self, user_id: str, resource_id: str) -> None:
        ids = {"userId": user_id, "resourceId": resource_id}
        self._done(self._call("DELETE", "resource", ids))
