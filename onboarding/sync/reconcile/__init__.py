"""Reconcile: what each platform really holds for us, compared with what we hold.

`compare.py` reads a platform through its handlers' listings and sorts everything into
missing there, extra there, different (each field, ours beside theirs) and the same;
`record.py` keeps that (Comparison, Drift, and each row's view for its badge);
`fixes.py` mends it through the outbox (re-create with the children, send ours, adopt
an extra carrying our key), never deleting a remote object we did not create;
`tasks.py` is the read-only comparison beat runs on a schedule. The engine knows no
platform: the registry hands it clients and handlers.
"""

from providers import registry

from .compare import PlatformReport, compare
from .record import open_trouble, record


def platforms() -> list[str]:
    """Enabled platforms with at least one kind of object they can list for us."""
    return [
        name
        for name in registry.enabled()
        if any(handler.listing for handler in registry.handlers(name).values())
    ]


def run(names: list[str] | None = None, *, started_by: str = "") -> list[PlatformReport]:
    """Compare each platform (all that can be compared when `names` is None) and keep
    what was found."""
    reports = []
    for name in names or platforms():
        report = compare(name)
        record(report, started_by=started_by)
        reports.append(report)
    return reports


__all__ = ["PlatformReport", "compare", "open_trouble", "platforms", "record", "run"]
