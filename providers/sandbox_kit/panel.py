"""What every trainer page shows of the sandbox kit: where the API and the control
endpoints are, the latency, the pending faults and the requests served.

A page passes `panel=control_panel(...)` and includes
`sandbox_kit/_control_panel.html` with `part="connection"` (rows for its Connection
table), `part="faults"` and `part="requests"`.
"""

from . import faults
from .control import request_counts


def control_panel(
    platform: str,
    *,
    base_url: str,
    control_url: str,
    extra_controls: str = "",
    stands_for: str = "",
    spared: str = "the token endpoint",
) -> dict:
    """`extra_controls`: the platform's own control endpoints, after the kit's;
    `stands_for`: the real API's base URL; `spared`: the endpoint faults spare unless
    filtered to it (the token endpoint)."""
    return {
        "base_url": base_url,
        "base_url_setting": f"{platform.upper()}_BASE_URL",
        "stands_for": stands_for,
        "control_url": control_url,
        "extra_controls": extra_controls,
        "latency_ms": faults.current_latency_ms(platform),
        "faults": faults.pending(platform),
        "spared": spared,
        "requests": sorted(request_counts(platform).items()),
    }
