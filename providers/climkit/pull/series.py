"""Climkit series items → (OBIS code, value, unit) triples (no Django here).

Raw meter indices (meter_data_raw) are meter readings in the OBIS sense: the index at
the end of each 15-minute period. The guide names the fields; the OBIS codes are ours
(the guide has none), chosen by the meter's medium (value group A):
- en_im / en_ex (kWh): 1-0:1.8.0*255 / 1-0:2.8.0*255, active energy import / export;
- heat_energy_kwh (kWh): 6-0:1.0.0*255 for heat, 5-0:1.0.0*255 for cooling;
- vol_m3 (m³): 8-0:1.0.0*255 cold water, 9-0:1.0.0*255 hot water.
Validated data (meter_data, where CLIMKIT_PULL_VALIDATED is on) is an amount per period,
not an index: its `total` goes under the same medium with D = 29 ("energy/volume in the
last registration period"), e.g. 1-0:1.29.0*255. For electricity the guide adds the
split a ZEV (self-consumption community) bill needs, total = self + ext: `self`, what
the meter drew from the community's PV, and `ext`, what it drew from the grid. OBIS has
no code for them, so they get OBIS-like codes of ours in value group B's range that
IEC 62056-61 leaves to the utility (65-127): 1-65:1.29.0*255 (self) and
1-66:1.29.0*255 (ext), in kWh like the total (VALIDATED_CODES).
"""

from datetime import datetime

from onboarding.readings.units import ZEV_GRID_CHANNEL, ZEV_SELF_CHANNEL

# Validated field → value group B of its code. B=0: no channel, the total; the split's
# channels are the domain's (onboarding/readings/units.py, which pages label with).
VALIDATED_CODES = {"total": 0, "self": ZEV_SELF_CHANNEL, "ext": ZEV_GRID_CHANNEL}
MEDIUM_GROUP = {
    "electricity": "1",
    "charge_point": "1",
    "heating": "6",
    "cooling": "5",
    "cold_water": "8",
    "hot_water": "9",
}


def _group(medium: str) -> str:
    return MEDIUM_GROUP.get(medium or "electricity", "1")


def raw_values(item: dict, medium: str) -> tuple[tuple[str, float, str], ...]:
    """(OBIS code, value, unit): the guide's units (kWh, m³) are our stored ones."""
    group = _group(medium)
    pairs = []
    if "en_im" in item:
        pairs.append(("1-0:1.8.0*255", item["en_im"], "kWh"))
    if "en_ex" in item:
        pairs.append(("1-0:2.8.0*255", item["en_ex"], "kWh"))
    if "heat_energy_kwh" in item:
        code = f"{group if group in '56' else '6'}-0:1.0.0*255"
        pairs.append((code, item["heat_energy_kwh"], "kWh"))
    if "vol_m3" in item:
        pairs.append((f"{group if group in '89' else '8'}-0:1.0.0*255", item["vol_m3"], "m³"))
    return tuple((code, float(v), unit) for code, v, unit in pairs if _is_number(v))


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validated_values(item: dict, medium: str) -> tuple[tuple[str, float, str], ...]:
    """(OBIS code, value, unit): `total`, and for electricity the split a ZEV bill
    needs, `self` (from the community's PV) and `ext` (from the grid), each under its
    code (VALIDATED_CODES); what an item lacks is left out, never made up."""
    group = _group(medium)
    unit = "m³" if group in "89" else "kWh"
    pairs = []
    for field, channel in VALIDATED_CODES.items():
        value = item.get(field)
        if field != "total" and group != "1":
            continue  # the guide: self and ext "wenn der Typ Strom ist"
        if _is_number(value):
            pairs.append((f"{group}-{channel}:1.29.0*255", float(value), unit))
    return tuple(pairs)


def latest(items: list[dict]) -> datetime | None:
    return max((i["timestamp"] for i in items), default=None)
