"""Our models in the current API's terms (SPARK_API=current): what is sent, and what
stays ours because the spec has no place for it.

- TenantUser → user `{userId: spark_user_id}`; name, e-mail and phone stay ours (nothing
  personal is sent);
- Meter → location `{locationId: spark_location_id, locationType, coordinates?,
  meterPointIds: [meter_point_id]}`; the meter number and the address stay ours (a
  location has no address);
- Vehicle → `{resourceId: vehicle_id, resourceType: "Vehicle"}`; brand, model, year and
  VIN stay ours;
- Resource → at its meter's location, `{resourceId: resource_id, resourceType,
  meterPointId}`; brand, model, capacity and heating elements stay ours.
"""

from onboarding.models import Meter, Resource

Kind = Resource.Kind

# Our resource kinds on the spec's ResourceType enum (Generic, Vehicle, Charger,
# HotWaterTank, HVAC, SolarInverter). A heat pump heats and cools a home: HVAC. A home
# battery has no type of its own there, nor has an electric boiler (it may heat water or
# a heating circuit, so neither HotWaterTank nor HVAC is certain): Generic.
RESOURCE_TYPE = {
    Kind.HOT_WATER_TANK: "HotWaterTank",
    Kind.HEAT_PUMP: "HVAC",
    Kind.BATTERY: "Generic",
    Kind.ELECTRIC_BOILER: "Generic",
    Kind.CHARGER: "Charger",
    Kind.HVAC: "HVAC",
    Kind.SOLAR_INVERTER: "SolarInverter",
    Kind.GENERIC: "Generic",
}


def resource_type(kind: str) -> str:
    return RESOURCE_TYPE.get(kind, "Generic")


def user_body(tenant) -> dict:
    return {"userId": str(tenant.spark_user_id)}


def location_body(meter: Meter) -> dict:
    body = {
        "locationId": str(meter.spark_location_id),
        "locationType": meter.effective_location_type,
        "meterPointIds": [meter.meter_point_id],
    }
    if meter.latitude is not None and meter.longitude is not None:
        # Left out when unknown: the spec's Coordinate is not nullable.
        body["coordinates"] = {
            "latitude": float(meter.latitude),
            "longitude": float(meter.longitude),
        }
    return body


def vehicle_body(vehicle) -> dict:
    return {"resourceId": str(vehicle.vehicle_id), "resourceType": "Vehicle"}


def resource_body(resource: Resource, meter: Meter) -> dict:
    return {
        "resourceId": str(resource.resource_id),
        "resourceType": resource_type(resource.kind),
        # The metering point the resource is behind: its location's.
        "meterPointId": meter.meter_point_id,
    }
