"""What a read-only platform holds, as its catalogue sees it (no Django here).

Each platform the portal only reads (smart-me, Climkit) has `providers/<name>/catalogue.py`
with `fetch(client) -> list[CatalogueItem]`: everything it holds, read in full before the
portal changes anything (onboarding/catalogue/refresh.py stores it in one transaction).
"""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class CatalogueItem:
    kind: str  # smart-me: "device"; Climkit: "site", "meter", "sensor"
    remote_id: str
    name: str
    serial: str = ""
    medium: str = ""  # the platform's word for what it measures: "electricity", "water", …
    parent: tuple[str, str] | None = None  # (kind, remote_id), e.g. a Climkit meter's site
    last_value: float | None = None
    last_value_unit: str = ""
    last_value_at: datetime | None = None  # aware
    raw: dict = field(default_factory=dict)
