"""smart-me's value vocabulary, shared by the client and the sandbox (no Django here).

From NOTES.md (the platform's public specification): `DeviceEnergyType` is an integer,
`ValueDate` is UTC with seven fractional digits and a `Z`, `Serial` a JSON number.
"""

from datetime import UTC, datetime

# DeviceEnergyType → our word for it. The words for 1–4 are the ones the catalogue maps
# to a device medium (onboarding/catalogue/links.py).
ENERGY_TYPES = {
    0: "unknown",
    1: "electricity",
    2: "water",
    3: "gas",
    4: "heat",
    5: "hca",  # heat cost allocator
    6: "all_meters",
    7: "temperature",
    8: "mbus_gateway",
    9: "rs485_gateway",
    10: "custom",
    11: "compressed_air",
    12: "solarlog",
    13: "virtual_meter",
    14: "wmbus_gateway",
}
ELECTRICITY, WATER, GAS, HEAT, TEMPERATURE, MBUS_GATEWAY = 1, 2, 3, 4, 7, 8

# The M-Bus gateway endpoint's enums, as the guide's sample spells them out.
GATEWAY_STATES = {
    0: "LastReadoutOk",
    1: "SearchInProgress",
    2: "FailedOnOneOrMoreMeter",
    3: "TooManySearchErrors",
}
MBUS_METER_STATES = {0: "LastReadoutOk", 1: "LastReadoutFailed", 2: "ReadoutStarted", 3: "CRCError"}
READOUT_INTERVALS = {
    0: "2s", 1: "10s", 2: "1min", 3: "5min", 4: "15min",
    5: "30min", 6: "60min", 7: "6hours", 8: "12hours", 9: "24hours",
}  # fmt: skip


def format_value_date(moment: datetime) -> str:
    """`2026-03-22T05:30:00.1234560Z`: UTC, seven fractional digits (.NET ticks), `Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def parse_value_date(text: str) -> datetime:
    """The inverse, tolerant of fewer or more fractional digits and of an explicit
    offset. Digits past the sixth (100 ns ticks) are dropped: Python keeps microseconds.
    Raises ValueError for anything that is not such a timestamp."""
    if not isinstance(text, str) or "T" not in text:
        raise ValueError(f"not a ValueDate: {text!r}")
    main, zone = text, "+00:00"
    if main.endswith(("Z", "z")):
        main = main[:-1]
    elif len(main) > 6 and main[-6] in "+-" and main[-3] == ":":
        main, zone = main[:-6], main[-6:]
    if "." in main:
        main, fraction = main.split(".", 1)
        if not fraction.isdigit():
            raise ValueError(f"not a ValueDate: {text!r}")
        main += "." + (fraction + "000000")[:6]
    moment = datetime.fromisoformat(main + zone)
    return moment.astimezone(UTC)
