"""The unit of a reading: what its OBIS code measures, the one unit we store it in, and
conversions between the units platforms send and take (no platform named here).

Why one stored unit per quantity, converted at ingest, rather than whatever the source
sent: a device's readings of one OBIS code come from one source today but may come from
another tomorrow (a meter moved from smart-me to Climkit), and a chart, a gap check, a
latest value or a ZEV bill adds and compares them; mixed units in one column would make
every such reader convert. So each source says what its values are in, ingest converts
to the quantity's stored unit, and every row also carries that unit (`Reading.unit`):
a reader never has to know where a reading came from to know what it means, and the
data migration that fixed smart-me's milli-units could tell a fixed row from one still
waiting (safe to run twice).

Stored units are those Zählerfreunde's spec takes for each OBIS code (its NewReading
list: kWh for active energy and heat, m³ for gas and water volume) and, for what it
does not list, the SI unit a meter's display shows (kW, kvarh, V, A, Hz). Climkit
already answers in them (kWh, m³).

The quantity comes from the OBIS code (IEC 62056-61): value group A is the medium,
C the quantity, D how it is processed (8 a meter reading, 29 a period's amount, 7 an
instantaneous value, ...). A code we do not recognise keeps its value as sent, with an
empty unit: shown without a unit, never guessed.
"""

import functools
import math
import re
from dataclasses import dataclass
from decimal import Decimal

_OBIS = re.compile(r"^(?P<a>\d+)-(?P<b>\d+):(?P<c>\d+)\.(?P<d>\d+)\.(?P<e>\d+)")

# Electricity (A=1), value group C: which quantity. Active energy/power for the sums,
# quadrants and phases (1, 2, 15, 16, 21, 22, 41, 42, 61, 62), reactive (3, 4, 5-8, 23,
# 24, 43, 44, 63, 64), apparent (9, 10, 29, 30, 49, 50, 69, 70).
_ACTIVE = {1, 2, 15, 16, 21, 22, 41, 42, 61, 62}
_REACTIVE = {3, 4, 5, 6, 7, 8, 23, 24, 43, 44, 63, 64}
_APPARENT = {9, 10, 29, 30, 49, 50, 69, 70}
_CURRENT = {11, 31, 51, 71, 91}
_VOLTAGE = {12, 32, 52, 72}
_FREQUENCY = {14}
# Value group D: a cumulative or a period's amount (energy) or an instantaneous value
# (power). 8 time integral 1 (a meter reading), 9 time integral 2, 29 energy of the
# last registration period; 4-7 (current and last average, instantaneous).
_INTEGRALS = {8, 9, 10, 29}
_INSTANT = {4, 5, 6, 7, 24, 25, 26, 27}


@dataclass(frozen=True)
class Quantity:
    name: str  # energy, power, reactive energy, ..., "" when unknown
    unit: str  # the unit we store it in, "" when unknown


UNKNOWN = Quantity("", "")
ENERGY = Quantity("energy", "kWh")
POWER = Quantity("power", "kW")
REACTIVE_ENERGY = Quantity("reactive energy", "kvarh")
REACTIVE_POWER = Quantity("reactive power", "kvar")
APPARENT_ENERGY = Quantity("apparent energy", "kVAh")
APPARENT_POWER = Quantity("apparent power", "kVA")
VOLTAGE = Quantity("voltage", "V")
CURRENT = Quantity("current", "A")
FREQUENCY = Quantity("frequency", "Hz")
VOLUME = Quantity("volume", "m³")
HEAT = Quantity("heat energy", "kWh")
HEAT_POWER = Quantity("heat power", "kW")

# Each unit as (its quantity's base unit, the power of ten it is of it): kWh = 10³ Wh.
_SCALES = {
    "mWh": ("Wh", -3), "Wh": ("Wh", 0), "kWh": ("Wh", 3), "MWh": ("Wh", 6),
    "mW": ("W", -3), "W": ("W", 0), "kW": ("W", 3), "MW": ("W", 6),
    "mvarh": ("varh", -3), "varh": ("varh", 0), "kvarh": ("varh", 3),
    "mvar": ("var", -3), "var": ("var", 0), "kvar": ("var", 3),
    "mVAh": ("VAh", -3), "VAh": ("VAh", 0), "kVAh": ("VAh", 3),
    "mVA": ("VA", -3), "VA": ("VA", 0), "kVA": ("VA", 3),
    "mV": ("V", -3), "V": ("V", 0), "kV": ("V", 3),
    "mA": ("A", -3), "A": ("A", 0),
    "mHz": ("Hz", -3), "Hz": ("Hz", 0),
    "l": ("m³", -3), "m³": ("m³", 0),
}  # fmt: skip
# The milli-unit of each stored unit: what smart-me's webhook sends (NOTES.md).
MILLI = {
    "kWh": "mWh", "kW": "mW", "kvarh": "mvarh", "kvar": "mvar", "kVAh": "mVAh",
    "kVA": "mVA", "V": "mV", "A": "mA", "Hz": "mHz", "m³": "l",
}  # fmt: skip


# OBIS-like codes of ours, for what OBIS has no code for: value group B's range that
# IEC 62056-61 leaves to the utility (65-127). A ZEV (self-consumption community) bill
# splits a meter's energy into what came from the community's PV and what from the
# grid (Climkit's validated `self` and `ext`): 1-65:… and 1-66:…, e.g. 1-65:1.29.0*255.
ZEV_SELF_CHANNEL = 65
ZEV_GRID_CHANNEL = 66
CHANNEL_LABELS = {
    ZEV_SELF_CHANNEL: "from the community's PV (ZEV self-consumption)",
    ZEV_GRID_CHANNEL: "from the grid (ZEV)",
}
_D_LABELS = {8: "meter reading", 29: "per period", 7: "instantaneous"}


class UnitError(ValueError):
    """Two units of different quantities, or a unit we do not know."""


@functools.lru_cache(maxsize=1024)
def quantity(obis: str) -> Quantity:
    """What an OBIS code such as `1-0:1.8.0*255` (or `1-0:1.8.0`) measures (cached: a
    webhook delivery asks it for every value, of a handful of codes)."""
    match = _OBIS.match(obis or "")
    if not match:
        return UNKNOWN
    a, c, d = int(match["a"]), int(match["c"]), int(match["d"])
    if a == 1:
        return _electricity(c, d)
    if a in (5, 6):  # cooling, heat (EN 13757-1): C=1 energy, C=8 power
        return {1: HEAT, 8: HEAT_POWER}.get(c, UNKNOWN)
    if a == 7:  # gas: C=1-3 volumes (3 = the spec's "Vorlauf-Zählervolumen")
        return VOLUME if c in (1, 2, 3) else UNKNOWN
    if a in (8, 9):  # cold and hot water: C=1 volume
        return VOLUME if c == 1 else UNKNOWN
    return UNKNOWN


def _electricity(c: int, d: int) -> Quantity:
    if c in _VOLTAGE:
        return VOLTAGE
    if c in _CURRENT:
        return CURRENT
    if c in _FREQUENCY:
        return FREQUENCY
    for kinds, energy, power in (
        (_ACTIVE, ENERGY, POWER),
        (_REACTIVE, REACTIVE_ENERGY, REACTIVE_POWER),
        (_APPARENT, APPARENT_ENERGY, APPARENT_POWER),
    ):
        if c in kinds:
            if d in _INTEGRALS:
                return energy
            if d in _INSTANT:
                return power
    return UNKNOWN


def stored_unit(obis: str) -> str:
    return quantity(obis).unit


def powers_of_ten(from_unit: str, to_unit: str) -> int:
    """How many powers of ten `to_unit` is above `from_unit` (mWh → kWh: 6)."""
    try:
        base_from, exp_from = _SCALES[from_unit]
        base_to, exp_to = _SCALES[to_unit]
    except KeyError as exc:
        raise UnitError(f"unknown unit {exc.args[0]!r}") from None
    if base_from != base_to:
        raise UnitError(f"{from_unit} cannot be converted to {to_unit}")
    return exp_to - exp_from


def in_unit_of(value: float, unit: str, wanted: dict[str, str]) -> float:
    """`value` (in `unit`) in the unit a destination takes for its quantity: `wanted`
    maps a base unit (Wh, W, m³, ...) to the destination's (kWh, kW, m³, ...). A unit
    the destination names nothing for, or no unit, is sent as stored."""
    base = _SCALES.get(unit, ("", 0))[0]
    target = wanted.get(base)
    return convert(value, unit, target) if target else value


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """`value` in `to_unit`, moved by whole powers of ten without float noise: down by
    dividing by the exact integer 10ⁿ (correctly rounded: 1879583.2 mWh is 1.8795832
    kWh; multiplying by the inexact 1e-6 gives 1.8795832000000001), up by moving the
    decimal point of its shortest decimal form (1.8795832 kWh is 1879.5832 Wh, where
    1.8795832 * 1000 is 1879.5831999999998)."""
    if from_unit == to_unit:
        return value
    steps = powers_of_ten(from_unit, to_unit)
    if steps >= 0:
        return value / 10**steps
    if not math.isfinite(value):
        return value
    return float(Decimal(repr(value)).scaleb(-steps))


def to_stored(obis: str, value: float, unit: str) -> tuple[float, str]:
    """(value, unit) in the stored unit of the OBIS code's quantity; a code we do not
    recognise keeps its value and the unit given. UnitError if `unit` is not one of
    the quantity's (a source that says kWh for a volume is a bug to see, not store)."""
    target = stored_unit(obis)
    if not target:
        return value, unit
    return convert(value, unit, target), target


def from_milli(obis: str, value: float) -> tuple[float, str]:
    """A value in the milli-unit of its quantity (smart-me's webhook) as stored."""
    target = stored_unit(obis)
    if not target:
        return value, ""
    return convert(value, MILLI[target], target), target


def channel(obis: str) -> int | None:
    match = _OBIS.match(obis or "")
    return int(match["b"]) if match else None


def is_own_code(obis: str) -> bool:
    """One of our OBIS-like codes (a utility-specific channel), which no platform knows."""
    b = channel(obis)
    return b is not None and 65 <= b <= 127


def describe(obis: str) -> str:
    """What staff read beside a code: `energy per period, from the grid (ZEV), kWh`."""
    match = _OBIS.match(obis or "")
    what = quantity(obis)
    if not match or not what.name:
        return ""
    parts = [what.name]
    d_label = _D_LABELS.get(int(match["d"]))
    if d_label and what in (ENERGY, POWER):
        parts[0] = f"{what.name} {d_label}"
    if int(match["b"]) in CHANNEL_LABELS:
        parts.append(CHANNEL_LABELS[int(match["b"])])
    return ", ".join([*parts, what.unit])


def with_unit(value: float, unit: str) -> str:
    """`1.8795832 kWh`, for pages: the number as stored, its unit after it."""
    text = f"{value:.12g}"
    return f"{text} {unit}" if unit else text
