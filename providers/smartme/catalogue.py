"""smart-me's catalogue: every device of the account, M-Bus meters under their gateway.

`GET /Devices` lists every device (gateways and the meters behind them too); each M-Bus
gateway's `GET /gateway/mbus/{id}` says which meters are behind it, so those get the
gateway as parent and their M-Bus details (secondary address, readout state) in `raw`.
A meter a gateway names but /Devices does not list is kept too, from what the gateway
says of it. Any failed call fails the whole fetch: a half catalogue would mark the rest
as gone.
"""

from ..catalogue import CatalogueItem
from .client import SmartMeClient
from .values import ENERGY_TYPES, MBUS_GATEWAY, MBUS_METER_STATES, parse_value_date

KIND = "device"


def fetch(client: SmartMeClient) -> list[CatalogueItem]:
    devices = client.list_devices()
    behind: dict[str, tuple[str, dict]] = {}  # meter id → (gateway id, its M-Bus entry)
    for gateway in devices:
        if gateway.get("DeviceEnergyType") == MBUS_GATEWAY:
            for meter in client.mbus_gateway(gateway["Id"]).get("Meters", []):
                behind[meter["Id"]] = (gateway["Id"], meter)

    items = []
    listed = set()
    for device in devices:
        listed.add(device["Id"])
        gateway_id, mbus = behind.get(device["Id"], (None, None))
        items.append(_item(device, gateway_id, mbus))
    for meter_id, (gateway_id, mbus) in behind.items():
        if meter_id not in listed:
            items.append(_item({"Id": meter_id, "Name": mbus.get("Name", "")}, gateway_id, mbus))
    return items


def _item(device: dict, gateway_id: str | None, mbus: dict | None) -> CatalogueItem:
    raw = dict(device)
    if mbus is not None:
        raw["MBus"] = {**mbus, "StateName": MBUS_METER_STATES.get(mbus.get("State"), "")}
    serial = device.get("Serial")
    if serial is None and mbus is not None:
        serial = mbus.get("SecondaryAddress")
    return CatalogueItem(
        kind=KIND,
        remote_id=device["Id"],
        name=str(device.get("Name") or ""),
        # A JSON number on the platform; kept as text like every platform's serial.
        serial=_serial(serial),
        medium=ENERGY_TYPES.get(device.get("DeviceEnergyType"), ""),
        parent=(KIND, gateway_id) if gateway_id else None,
        last_value=_number(device.get("CounterReading")),
        last_value_unit=str(device.get("CounterReadingUnit") or ""),
        last_value_at=_when(device.get("ValueDate")),
        raw=raw,
    )


def _serial(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _when(value):
    try:
        return parse_value_date(value) if value else None
    except ValueError:
        return None  # an unreadable date is no reason to drop the device
