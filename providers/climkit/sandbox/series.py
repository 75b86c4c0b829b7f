"""Deterministic time series for any range asked (no Django here).

Each meter's power is a smooth function of time whose parameters come from a hash of
its id, and its meter index is that function's integral in closed form. So any range
can be answered without stored data, the same question always gets the same answer, and
the series agree with each other: a raw index difference is exactly the validated total
for that period, and hourly, daily, monthly and yearly values are sums of the 15-minute
ones.

- Consumption (electricity, charge points, heating, water): a mean power with daily,
  weekly and yearly swings, always positive: P(t) = P̄·(1 + Σ aᵢ·cos(ωᵢt + φᵢ)), Σ|aᵢ| < 1.
- PV production: a half sine between 06:00 and 18:00 solar time (UTC + 30 min, about
  Swiss longitude, so no DST jumps), scaled by the season; integrated per day in closed
  form as well.
- Self-consumption: per 15 minutes, the site's PV covers its electricity consumption up
  to what it produces (self = min(consumption, production)), shared among the consumption
  meters in proportion to their use.
Indices start at the meter's own offset on the day its site was created; earlier periods
have no data, and the future has none yet.
"""

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

STEP = 900  # seconds in the platform's base period (15T)
DAY = 86400.0
WEEK = 7 * DAY
YEAR = 365.2425 * DAY
SOLAR_OFFSET = 1800  # solar time ≈ UTC + 30 min in Switzerland
# Our limit where the guide names none: one request covers at most a year and a day of
# 15-minute periods (35,232), which keeps every answer under a second to compute.
MAX_STEPS = 367 * 96


def _unit(seed: str, salt: str) -> float:
    """A number in [0, 1) fixed by (seed, salt)."""
    digest = hashlib.sha256(f"{seed}:{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Profile:
    """What drives one meter's series."""

    meter_id: str
    type: str  # electricity, charge_point, heating, cooling, hot_water, cold_water
    mode: str  # consumption, production, introduction, battery
    start: float  # epoch seconds: the site's creation, the index's zero point

    @property
    def is_water(self) -> bool:
        return self.type in ("hot_water", "cold_water")

    @property
    def is_pv(self) -> bool:
        return self.type == "electricity" and self.mode == "production"

    def _u(self, salt: str) -> float:
        return _unit(self.meter_id, salt)

    @cached_property
    def mean(self) -> float:
        """Mean power (kW), or mean flow (m³/h) for water."""
        low, high = {
            "electricity": (0.15, 0.6),
            "charge_point": (0.8, 2.5),
            "heating": (1.0, 4.0),
            "cooling": (0.3, 1.2),
            "hot_water": (0.004, 0.012),
            "cold_water": (0.006, 0.02),
        }.get(self.type, (0.1, 0.5))
        if self.mode == "battery":
            low, high = low / 4, high / 4
        return low + (high - low) * self._u("mean")

    @cached_property
    def peak(self) -> float:
        """PV peak power (kW)."""
        return 8 + 25 * self._u("peak")

    @cached_property
    def offset(self) -> float:
        """The index on the start day (a meter rarely starts at zero)."""
        return round(100 + 9000 * self._u("offset"), 3)

    @cached_property
    def swings(self) -> list[tuple[float, float, float]]:
        """(amplitude, angular frequency, phase) per swing; amplitudes sum below 1."""
        yearly = {"heating": 0.6, "cooling": 0.5}.get(self.type, 0.1)
        # Evening peak for homes, night charging for cars, morning showers for hot water.
        peak_hour = {"charge_point": 22, "hot_water": 7, "heating": 6}.get(self.type, 19)
        daily = 0.3 if self.type in ("heating", "cooling") else 0.55
        weekly = 0.25 if self.type == "charge_point" else 0.15
        daily_phase = -2 * math.pi * (peak_hour * 3600 + 3600 * self._u("hour")) / DAY
        # Heating peaks mid-January, cooling mid-July.
        peak_day = 15 if self.type != "cooling" else 196
        yearly_phase = -2 * math.pi * (peak_day * DAY) / YEAR
        weekly_phase = 2 * math.pi * self._u("week")
        scale = 0.95 / (yearly + daily + weekly)  # keep power positive
        scale = min(scale, 1.0)
        return [
            (daily * scale, 2 * math.pi / DAY, daily_phase),
            (weekly * scale, 2 * math.pi / WEEK, weekly_phase),
            (yearly * scale, 2 * math.pi / YEAR, yearly_phase),
        ]

    # --- cumulative amounts (kWh, or m³ for water) since `start` -------------------------
    def _integral(self, x: float) -> float:
        """∫ (1 + Σ aᵢ·cos(ωᵢt + φᵢ)) dt up to x, in seconds (up to a constant)."""
        total = x
        for amplitude, omega, phase in self.swings:
            total += amplitude / omega * math.sin(omega * x + phase)
        return total

    def consumed(self, t: float) -> float:
        """∫ P dt from start to t, in kWh (power in kW) or m³ (flow in m³/h)."""
        return self.mean * (self._integral(t) - self._integral(self.start)) / 3600

    def produced(self, t: float) -> float:
        """PV energy from start to t, kWh: whole solar days in closed form, then today."""
        return self.peak * (_pv_to(t) - _pv_to(self.start))

    def import_index(self, t: float) -> float:
        if self.is_pv:  # the inverter's own consumption at night: a tiny share
            return self.offset / 100 + 0.002 * self.consumed(t)
        if self.mode == "introduction":  # the grid connection: what the site draws
            return self.offset + 0.7 * self.consumed(t)
        return self.offset + self.consumed(t)

    def export_index(self, t: float) -> float:
        if self.is_pv:
            return self.offset + self.produced(t)
        if self.mode == "introduction":
            return self.offset / 3 + 0.35 * self.peak * (_pv_to(t) - _pv_to(self.start))
        if self.mode == "battery":
            return self.offset / 2 + 0.9 * self.consumed(t)
        return 0.0

    def raw_fields(self, t: float) -> dict:
        """The raw item of the guide at time t: which index fields depend on the type."""
        if self.type in ("electricity", "charge_point"):
            return {
                "en_im": round(self.import_index(t), 4),
                "en_ex": round(self.export_index(t), 4),
            }
        if self.type in ("heating", "cooling"):
            return {"heat_energy_kwh": round(self.import_index(t), 4)}
        return {"vol_m3": round(self.import_index(t), 5)}

    def amount(self, a: float, b: float) -> float:
        """What the meter measured in (a, b]: its main quantity (production for PV)."""
        if self.is_pv:  # max: float noise at midnight is a few 1e-11 kWh below zero
            return max(0.0, self.peak * (_pv_to(b) - _pv_to(a)))
        return self.mean * (self._integral(b) - self._integral(a)) / 3600


def _season(day: float) -> float:
    """PV yield factor of a solar day (0 = 1970-01-01): 0.3 at midwinter, 1.0 midsummer."""
    return 0.65 - 0.35 * math.cos(2 * math.pi * (day - 172) / 365.2425 + math.pi)


def _pv_to(t: float) -> float:
    """PV energy of a 1 kW-peak plant from 1970 to t, in kWh.

    A day yields season(d)·24/π kWh (a half sine over 12 hours). The sum over whole days
    of a cosine is closed form; today's share is the integral of the half sine so far.
    """
    solar = t + SOLAR_OFFSET
    days = math.floor(solar / DAY)
    omega = 2 * math.pi / 365.2425
    # Σ_{d=0}^{n-1} cos(ω(d - 172) + π) = sin(nω/2)/sin(ω/2) · cos(ω((n-1)/2 - 172) + π)
    cos_sum = (
        math.sin(days * omega / 2)
        / math.sin(omega / 2)
        * math.cos(omega * ((days - 1) / 2 - 172) + math.pi)
    )
    whole_days = (0.65 * days - 0.35 * cos_sum) * 24 / math.pi
    hour = (solar - days * DAY) / 3600
    if hour <= 6:
        today = 0.0
    elif hour >= 18:
        today = 1.0
    else:
        today = (1 - math.cos(math.pi * (hour - 6) / 12)) / 2
    return whole_days + _season(days) * 24 / math.pi * today


# --- ranges and periods ---------------------------------------------------------------


class RangeError(ValueError):
    """A range the platform refuses (400)."""


def steps(t_s: datetime, t_e: datetime, not_before: float, now: float) -> list[float]:
    """Ends of the 15-minute periods inside [t_s, t_e], measured (≤ now) after not_before."""
    first = math.ceil(max(t_s.timestamp(), not_before) / STEP) * STEP + STEP
    last = math.floor(min(t_e.timestamp(), now) / STEP) * STEP
    if (t_e.timestamp() - t_s.timestamp()) / STEP > MAX_STEPS:
        raise RangeError(f"Requested period too long: at most {MAX_STEPS // 96} days per request.")
    return [float(end) for end in range(int(first), int(last) + 1, STEP)]


def period_start(end: float, frequency: str, zone: ZoneInfo) -> datetime:
    """The start (local time) of the period of `frequency` that holds the 15-min period
    ending at `end`."""
    local = datetime.fromtimestamp(end - STEP, UTC).astimezone(zone)
    if frequency == "H":
        local = local.replace(minute=0, second=0)
    elif frequency == "D":
        local = local.replace(hour=0, minute=0, second=0)
    elif frequency == "M":
        local = local.replace(day=1, hour=0, minute=0, second=0)
    elif frequency == "Y":
        local = local.replace(month=1, day=1, hour=0, minute=0, second=0)
    # Re-resolve the offset: midnight may be in another DST season than the 15 minutes.
    return local.replace(tzinfo=None).replace(tzinfo=zone)


def stamp(value: datetime) -> str:
    """The platform's timestamp form: "2026-03-22 05:30:00+01:00"."""
    return value.isoformat(sep=" ", timespec="seconds")


def local_end(end: float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(end, UTC).astimezone(zone)


def group(ends: Iterable[float], frequency: str, zone: ZoneInfo):
    """[(timestamp shown, [period ends])]: 15T shows each period's end, longer
    frequencies their start (the guide)."""
    groups: dict[float, tuple[datetime, list[float]]] = {}
    for end in ends:
        shown = local_end(end, zone) if frequency == "15T" else period_start(end, frequency, zone)
        # Keyed by the instant, not the local time: in the night the clocks go back, 02:15
        # comes twice, and Python finds two times of one zone equal by their wall clock.
        groups.setdefault(shown.timestamp(), (shown, []))[1].append(end)
    return list(groups.values())


# --- the sandbox's answers --------------------------------------------------------------


def _electric_split(profiles: list[Profile], end: float) -> tuple[float, float, float]:
    """(site consumption, PV production, self-consumed) in the 15 minutes ending at end."""
    start = end - STEP
    conso = sum(
        p.amount(start, end)
        for p in profiles
        if p.type == "electricity" and p.mode == "consumption"
    )
    prod = sum(p.amount(start, end) for p in profiles if p.is_pv)
    return conso, prod, min(conso, prod)


def meter_series(profile: Profile, site: list[Profile], ends: list[float], frequency: str,
                 zone: ZoneInfo) -> list[dict]:  # fmt: skip
    """meter_data: total, self, ext (self and ext for electricity consumption only)."""
    out = []
    for shown, group_ends in group(ends, frequency, zone):
        total = self_total = 0.0
        for end in group_ends:
            amount = profile.amount(end - STEP, end)
            total += amount
            if profile.type == "electricity" and profile.mode == "consumption":
                conso, _, self_used = _electric_split(site, end)
                self_total += amount * (self_used / conso if conso else 0.0)
        item = {"total": round(total, 4), "timestamp": stamp(shown)}
        if profile.type == "electricity":
            item["self"] = round(self_total, 4)
            item["ext"] = round(total - self_total, 4)
        out.append(item)
    return out


def raw_series(profile: Profile, ends: list[float], zone: ZoneInfo) -> list[dict]:
    """meter_data_raw: the indices at the end of each 15-minute period."""
    return [{**profile.raw_fields(end), "timestamp": stamp(local_end(end, zone))} for end in ends]


def site_series(site: list[Profile], meter_type: str, ends: list[float], frequency: str,
                zone: ZoneInfo) -> list[dict]:  # fmt: skip
    """site_data for one meter type: conso_total, and for electricity prod_total,
    from_ext, self, to_ext."""
    of_type = [p for p in site if p.type == meter_type and p.mode == "consumption"]
    if not of_type and not (meter_type == "electricity" and any(p.is_pv for p in site)):
        return []
    out = []
    for shown, group_ends in group(ends, frequency, zone):
        if meter_type == "electricity":
            conso = prod = self_used = 0.0
            for end in group_ends:
                c, p, s = _electric_split(site, end)
                conso, prod, self_used = conso + c, prod + p, self_used + s
            out.append({
                "conso_total": round(conso, 4),
                "prod_total": round(prod, 4),
                "from_ext": round(conso - self_used, 4),
                "self": round(self_used, 4),
                "to_ext": round(prod - self_used, 4),
                "timestamp": stamp(shown),
            })  # fmt: skip
        else:
            conso = sum(p.amount(e - STEP, e) for e in group_ends for p in of_type)
            out.append({"conso_total": round(conso, 4), "timestamp": stamp(shown)})
    return out


def sensor_value(sensor_id: str, sensor_type: str, t: float) -> float:
    """A sensor's reading at t: a daily swing around its base, with fixed jitter."""
    base, swing, digits = {
        "temperature": (21.0, 2.5, 1),
        "humidity": (45.0, 10.0, 0),
        "co2": (650.0, 300.0, 0),
    }.get(sensor_type, (10.0, 3.0, 2))
    phase = 2 * math.pi * _unit(sensor_id, "phase")
    jitter = (_unit(sensor_id, f"j{int(t)}") - 0.5) * swing * 0.1
    return round(base + swing * math.sin(2 * math.pi * t / DAY + phase) + jitter, digits)


def sensor_series(sensor_id: str, sensor_type: str, ends: list[float]) -> list[dict]:
    """sensor_data: epoch milliseconds (the guide's `<int timestamp>`), value."""
    return [
        {"timestamp": int(end * 1000), "value": sensor_value(sensor_id, sensor_type, end)}
        for end in ends
    ]
