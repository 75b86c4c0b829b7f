"""A small line chart as inline SVG, rendered on the server (no chart library, no script).

One chart per OBIS code: a meter's energy counter (kWh) and its power (kW) do not share
an axis; each axis label carries the readings' unit. Long series are reduced to at most
`MAX_POINTS` bucket means first, so a week of 15-second readings is still a few
kilobytes.
"""

from collections.abc import Sequence
from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

MAX_POINTS = 300
WIDTH, HEIGHT = 640, 150
LEFT, RIGHT, TOP, BOTTOM = 84, 10, 12, 24


def reduce(points: Sequence[tuple[datetime, float]], limit: int = MAX_POINTS):
    """At most `limit` points: the mean time and value of equal-sized runs."""
    if len(points) <= limit:
        return list(points)
    size = len(points) / limit
    reduced = []
    for i in range(limit):
        run = points[int(i * size) : int((i + 1) * size)] or [points[-1]]
        start = run[0][0].timestamp()
        mean_time = start + sum(p[0].timestamp() - start for p in run) / len(run)
        reduced.append((datetime.fromtimestamp(mean_time, run[0][0].tzinfo),
                        sum(p[1] for p in run) / len(run)))  # fmt: skip
    return reduced


def _number(value: float) -> str:
    if value and abs(value) < 1e-3:
        return f"{value:.3g}"
    if abs(value) >= 1e5:
        return f"{value:,.0f}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def _with_unit(number: str, unit: str) -> str:
    return f"{number} {unit}" if unit else number


def line_chart(
    points: Sequence[tuple[datetime, float]], *, label: str = "", unit: str = ""
) -> SafeString:
    """`points` in time order; an SVG with the value range (in `unit`) and the time
    span labelled."""
    points = reduce(points)
    if not points:
        return mark_safe("")  # noqa: S308 (constant)
    t0, t1 = points[0][0].timestamp(), points[-1][0].timestamp()
    values = [v for _, v in points]
    low, high = min(values), max(values)
    span_t = (t1 - t0) or 1.0
    span_v = (high - low) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: datetime) -> float:
        return LEFT + (t.timestamp() - t0) / span_t * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - (v - low) / span_v * plot_h

    path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
    first, last = localtime(points[0][0]), localtime(points[-1][0])
    dots = "".join(
        f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="2"/>' for t, v in points
    ) if len(points) <= 30 else ""  # fmt: skip
    # Every interpolated value is a number we formatted or escaped text.
    svg = (
        # Scales down with the page (the admin's read-only column is narrow).
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(label)}" style="max-width:{WIDTH}px;'
        'font:13px sans-serif;background:#fff;border:1px solid #ddd">'
        f"<title>{escape(label)}</title>"
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#999"/>'
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
        'stroke="#999"/>'
        f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">'
        f"{escape(_with_unit(_number(high), unit))}</text>"
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">'
        f"{escape(_with_unit(_number(low), unit))}</text>"
        f'<text x="{LEFT}" y="{HEIGHT - 6}">{first:%d.%m. %H:%M}</text>'
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" text-anchor="end">{last:%d.%m. %H:%M}</text>'
        f'<polyline fill="none" stroke="#417690" stroke-width="1.5" points="{path}"/>'
        f'<g fill="#417690">{dots}</g>'
        "</svg>"
    )
    return mark_safe(svg)  # noqa: S308 (built from numbers and escaped text above)
