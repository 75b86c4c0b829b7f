"""Sandbox devices as the smart-me API shows them (field names and types: NOTES.md)."""

from ..values import format_value_date
from .models import Device

# The measured values the API may carry, in the order the platform lists them.
READING_FIELDS = (
    "ActivePower", "ActivePowerUnit", "CounterReading", "CounterReadingUnit",
    "CounterReadingImport", "CounterReadingExport",
    "CounterReadingT1", "CounterReadingT2", "CounterReadingT3", "CounterReadingT4",
    "Voltage", "VoltageL1", "VoltageL2", "VoltageL3",
    "Current", "CurrentL1", "CurrentL2", "CurrentL3",
    "PowerFactor", "Temperature",
)  # fmt: skip


def device_json(device: Device) -> dict:
    body = {
        "Id": str(device.uuid),
        "Name": device.name,
        "Serial": device.serial,  # a JSON number
        "DeviceEnergyType": device.energy_type,
        "FamilyType": device.family_type,
    }
    for field in READING_FIELDS:
        body[field] = device.readings.get(field)
    body["ValueDate"] = format_value_date(device.value_date) if device.value_date else None
    # The platform omits null fields.
    return {key: value for key, value in body.items() if value is not None}


def gateway_json(gateway: Device) -> dict:
    """`GET /gateway/mbus/{id}`, with the fields the guide's sample reads."""
    return {
        "Id": str(gateway.uuid),
        "Name": gateway.name,
        "SerialNumber": gateway.serial,
        "ReadoutInterval": gateway.readout_interval,
        "State": gateway.gateway_state,
        "LastSeen": format_value_date(gateway.last_seen) if gateway.last_seen else None,
        "Meters": [
            {
                "Id": str(meter.uuid),
                "Name": meter.name,
                "SecondaryAddress": meter.secondary_address,
                "State": meter.mbus_state,
            }
            for meter in gateway.meters.all()
        ],
    }
