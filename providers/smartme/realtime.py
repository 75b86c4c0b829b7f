"""smart-me's real-time webhook body, decoded (no Django here).

The platform POSTs a protobuf `DeviceDataArray` (realtime.proto, the guide's "proto
without BCL"). Decoding follows the guide's worked example:

- `DeviceId` is a .NET Guid as protobuf-net writes it: `lo` and `hi` are the Guid's 16
  bytes in .NET's own order (`Guid.ToByteArray()`), each half read as a little-endian
  fixed64. .NET's byte order is "mixed-endian": the first three groups are little-endian,
  the last two as written, which is exactly Python's `UUID(bytes_le=...)`.
- `DateTime.value` counts from 1970-01-01 in units of its `scale` (days … ticks of
  100 ns; an absent scale is DAYS, as the proto says); `MINMAX` stands for .NET's
  DateTime.MinValue/MaxValue, which no meter measures, so it is refused.
- `DateTime.kind`: UTC, or UNSPECIFIED, which the guide's own example is (it has no kind
  at all) and reads as UTC; LOCAL is the sender's wall clock (protobuf-net subtracts the
  epoch without converting), read in `local_zone` (Europe/Zurich by default: smart-me is
  a Swiss platform; a setting).
- `Obis` is six bytes A, B, C, D, E, F → "A-B:C.D.E*F", e.g. 1-0:1.8.0*255.

Everything is checked before anything is returned: a body that is not a complete,
plausible DeviceDataArray raises PayloadError with the reason, so the caller stores all
of it or nothing.
"""

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from google.protobuf.message import DecodeError

from .realtime_pb2 import DateTime, DeviceDataArray

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Microseconds per unit of each TimeSpanScale; ticks (100 ns) are divided instead.
_MICROSECONDS_PER = {
    DateTime.DAYS: 86_400_000_000,
    DateTime.HOURS: 3_600_000_000,
    DateTime.MINUTES: 60_000_000,
    DateTime.SECONDS: 1_000_000,
    DateTime.MILLISECONDS: 1_000,
}
TICKS_PER_MICROSECOND = 10
# Before this no smart-me meter sent anything (the platform started in the 2010s); a
# date before it is a zero or a garbled value, not a reading.
OLDEST = datetime(2000, 1, 1, tzinfo=UTC)
OBIS_LENGTH = 6


class PayloadError(ValueError):
    """The body is not a DeviceDataArray we can store; the message says why."""


@dataclass(frozen=True)
class DeviceData:
    device_id: str  # the smart-me device id, a lower-case UUID string
    timestamp: datetime  # aware, UTC
    values: tuple[tuple[str, float], ...]  # (OBIS code, value)


def guid(lo: int, hi: int) -> str:
    """The .NET Guid protobuf-net wrote as two fixed64 halves, as a UUID string."""
    return str(uuid.UUID(bytes_le=lo.to_bytes(8, "little") + hi.to_bytes(8, "little")))


def obis_code(raw: bytes) -> str:
    if len(raw) != OBIS_LENGTH:
        raise PayloadError(f"an OBIS code must be {OBIS_LENGTH} bytes, got {len(raw)}")
    a, b, c, d, e, f = raw
    return f"{a}-{b}:{c}.{d}.{e}*{f}"


def timestamp(
    value: DateTime, *, local_zone: ZoneInfo, not_before: datetime, not_after: datetime
) -> datetime:
    scale = value.scale  # absent → DAYS (0), the proto's default
    if scale == DateTime.TICKS:
        # Python keeps microseconds: the seventh digit of a tick count is dropped (floor).
        micros = value.value // TICKS_PER_MICROSECOND
    elif scale in _MICROSECONDS_PER:
        micros = value.value * _MICROSECONDS_PER[scale]
    elif scale == DateTime.MINMAX:
        raise PayloadError("DateTime is .NET's MinValue/MaxValue (scale MINMAX), not a time")
    else:
        raise PayloadError(f"DateTime has an unknown scale {scale}")
    # Bounds are checked on the integer, before any datetime arithmetic can overflow.
    low = _micros_since_epoch(not_before) - 86_400_000_000  # a day of slack for LOCAL
    high = _micros_since_epoch(not_after) + 86_400_000_000
    if not low <= micros <= high:
        raise PayloadError(
            f"DateTime value {value.value} (scale {DateTime.TimeSpanScale.Name(scale)}) is "
            f"implausible: outside {not_before:%Y-%m-%d} to {not_after:%Y-%m-%d}"
        )
    wall = EPOCH + timedelta(microseconds=micros)
    if value.kind == DateTime.LOCAL:
        wall = wall.replace(tzinfo=None).replace(tzinfo=local_zone).astimezone(UTC)
    elif value.kind not in (DateTime.UTC, DateTime.UNSPECIFIED):
        raise PayloadError(f"DateTime has an unknown kind {value.kind}")
    if not not_before <= wall <= not_after:
        raise PayloadError(
            f"timestamp {wall.isoformat()} is implausible "
            f"(accepted: {not_before.isoformat()} to {not_after.isoformat()})"
        )
    return wall


def _micros_since_epoch(when: datetime) -> int:
    delta = when - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _has_unknown_fields(message) -> bool:
    """Fields the proto does not define, anywhere in the message: bytes that happen to
    parse (plain text often does) but are not smart-me's DeviceDataArray. The parser
    keeps them and counts them in ByteSize, so dropping them shrinks the message (both
    sizes are of the parsed message, never compared with the body's own encoding)."""
    before = message.ByteSize()
    message.DiscardUnknownFields()
    return message.ByteSize() != before


def decode(
    body: bytes,
    *,
    now: datetime,
    local_zone: ZoneInfo | None = None,
    oldest: datetime = OLDEST,
    max_future: timedelta = timedelta(days=1),
) -> list[DeviceData]:
    """Every device's data in the body, in order; PayloadError if any of it is bad."""
    if not body:
        # An empty DeviceDataArray is zero bytes on the wire, but the platform sends one
        # only when it has data: an empty body is a misconfigured sender (the guide is
        # silent), which is better told than answered 200.
        raise PayloadError("empty body: expected a protobuf DeviceDataArray")
    try:
        array = DeviceDataArray.FromString(body)
    except DecodeError:
        raise PayloadError("not a protobuf DeviceDataArray (truncated or corrupt)") from None
    if not array.IsInitialized():
        missing = ", ".join(array.FindInitializationErrors()[:5])
        raise PayloadError(f"required fields missing: {missing}")
    if _has_unknown_fields(array):
        raise PayloadError("not a smart-me DeviceDataArray (fields the proto does not define)")
    if not array.DeviceDataItems:
        raise PayloadError("the DeviceDataArray holds no device data")
    zone = local_zone or ZoneInfo("Europe/Zurich")
    not_after = now + max_future
    items = []
    for index, item in enumerate(array.DeviceDataItems):
        where = f"DeviceDataItems[{index}]"
        try:
            when = timestamp(item.DateTime, local_zone=zone, not_before=oldest, not_after=not_after)
            values = []
            for value in item.DeviceValues:
                if not math.isfinite(value.Value):
                    raise PayloadError(f"value {value.Value} is not a finite number")
                values.append((obis_code(value.Obis), value.Value))
        except PayloadError as exc:
            raise PayloadError(f"{where}: {exc}") from None
        items.append(DeviceData(guid(item.DeviceId.lo, item.DeviceId.hi), when, tuple(values)))
    return items


# --- encoding: the platform's side, for our tests, the benchmark and trainers -----------


def encode(items: list[DeviceData], *, scale: int = DateTime.TICKS, kind: int | None = None):
    """A DeviceDataArray as smart-me would send it (UTC times unless `kind` says LOCAL,
    which then writes each time's wall clock in Europe/Zurich)."""
    array = DeviceDataArray()
    for item in items:
        data = array.DeviceDataItems.add()
        raw = uuid.UUID(item.device_id).bytes_le
        data.DeviceId.lo = int.from_bytes(raw[:8], "little")
        data.DeviceId.hi = int.from_bytes(raw[8:], "little")
        when = item.timestamp
        if kind == DateTime.LOCAL:
            when = when.astimezone(ZoneInfo("Europe/Zurich")).replace(tzinfo=UTC)
        micros = _micros_since_epoch(when)
        if scale == DateTime.TICKS:
            data.DateTime.value = micros * TICKS_PER_MICROSECOND
        else:
            data.DateTime.value = micros // _MICROSECONDS_PER[scale]
        if scale != DateTime.DAYS:
            data.DateTime.scale = scale
        if kind is not None:
            data.DateTime.kind = kind
        for code, number in item.values:
            value = data.DeviceValues.add()
            value.Obis = _obis_bytes(code)
            value.Value = number
    return array.SerializeToString()


def _obis_bytes(code: str) -> bytes:
    ab, rest = code.split(":")
    cde, f = rest.split("*")
    return bytes([*map(int, ab.split("-")), *map(int, cde.split(".")), int(f)])
