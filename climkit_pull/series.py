"""Climkit series items → (OBIS code, value) pairs (no Django here).

Raw meter indices (meter_data_raw) are meter readings in the OBIS sense: the index at
the end of each 15-minute period. The guide names the fields; the OBIS codes are ours
(the guide has none), chosen by the meter's medium (value group A):
- en_im / en_ex (kWh): 1-0:1.8.0*255 / 1-0:2.8.0*255, active energy import / export;
- heat_energy_kwh (kWh): 6-0:1.0.0*255 for heat, 5-0:1.0.0*255 for cooling;
- vol_m3 (m³): 8-0:1.0.0*255 cold water, 9-0:1.0.0*255 hot water.
Validated data (meter_data, where CLIMKIT_PULL_VALIDATED is on) is an amount per period,
not an index: its `total` goes under the same medium with D = 29 ("energy/volume in the
last registration period"), e.g. 1-0:1.29.0*255. `self` and `ext` (the self-consumed and
grid shares) have no OBIS code and are not stored.
"""

from datetime import datetime

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


def raw_values(item: dict, medium: str) -> tuple[tuple[str, float], ...]:
    group = _group(medium)
    pairs = []
    if "en_im" in item:
        pairs.append(("1-0:1.8.0*255", item["en_im"]))
    if "en_ex" in item:
        pairs.append(("1-0:2.8.0*255", item["en_ex"]))
    if "heat_energy_kwh" in item:
        pairs.append((f"{group if group in '56' else '6'}-0:1.0.0*255", item["heat_energy_kwh"]))
    if "vol_m3" in item:
        pairs.append((f"{group if group in '89' else '8'}-0:1.0.0*255", item["vol_m3"]))
    return tuple((code, float(v)) for code, v in pairs if isinstance(v, int | float))


def validated_values(item: dict, medium: str) -> tuple[tuple[str, float], ...]:
    total = item.get("total")
    if not isinstance(total, int | float):
        return ()
    return ((f"{_group(medium)}-0:1.29.0*255", float(total)),)


def latest(items: list[dict]) -> datetime | None:
    return max((i["timestamp"] for i in items), default=None)
