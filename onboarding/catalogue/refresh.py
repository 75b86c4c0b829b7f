"""Pull a platform's catalogue and store it: everything is fetched first, then stored in
one transaction. New rows are inserted, changed ones updated, rows the platform no
longer lists get `gone_since` (kept, since a Device may still be tied to them), and a row
that comes back is cleared of it. A fetch that fails half-way changes nothing."""

import logging
from dataclasses import dataclass

from django.db import DatabaseError, transaction
from django.utils import timezone

from providers import registry
from providers.catalogue import CatalogueItem
from providers.errors import ProviderError, TransientError

from ..diagnose import what_to_fix
from ..sync.locks import shared_lock
from .models import CatalogueEntry, CatalogueRefresh

# What makes a row "changed" for staff; the last value and the raw JSON move with every
# measurement and are stored without counting as a change.
DESCRIBING = ("name", "serial", "medium")
VALUES = ("last_value", "last_value_unit", "last_value_at", "raw")
CHUNK = 500
log = logging.getLogger(__name__)


class RefreshFailed(Exception):
    """The platform could not be read; the catalogue kept what it had. The message is
    one sentence naming the platform and what to fix."""


@dataclass
class RefreshResult:
    platform: str
    total: int = 0
    new: int = 0
    changed: int = 0
    new_values: int = 0
    gone: int = 0
    back: int = 0

    def summary(self) -> str:
        return (
            f"{registry.label(self.platform)}: {self.total} in the catalogue "
            f"({self.new} new, {self.changed} changed, {self.new_values} with new values, "
            f"{self.gone} gone, {self.back} back)"
        )


def platforms() -> list[str]:
    """Enabled platforms that have a catalogue."""
    return [name for name in registry.enabled() if registry.catalogue_module(name)]


def refresh(platform: str, *, client=None) -> RefreshResult:
    """Refresh one platform's catalogue; RefreshFailed (nothing changed) if it cannot."""
    module = registry.catalogue_module(platform)
    if module is None:
        raise RefreshFailed(f"{registry.label(platform)} has no catalogue.")
    started = timezone.now()
    try:
        items = _fetch(module, client or registry.client(platform))
        # Two refreshes may meet (beat, the admin, the command): reading twice is harmless,
        # storing is one at a time, so neither inserts a row the other just inserted. The
        # lock is held only while storing, well within its time limit; the fetch (Climkit:
        # one call a second) may take minutes.
        with shared_lock(f"catalogue:{platform}"):
            result = _store(platform, items)
    except ProviderError as exc:
        message = what_to_fix(platform, exc, doing="its catalogue was not refreshed")
        _log(platform, started, ok=False, message=message)
        raise RefreshFailed(message) from exc
    except DatabaseError as exc:  # rolled back: the catalogue is as it was
        log.exception("%s catalogue: storing failed", platform)
        message = (
            f"{registry.label(platform)}: its catalogue was not refreshed, because storing it "
            f"failed ({type(exc).__name__}: {exc}); try again, and check the database if it "
            "persists."
        )
        _log(platform, started, ok=False, message=message)
        raise RefreshFailed(message) from exc
    _log(platform, started, ok=True, message=result.summary(), result=result)
    return result


def _fetch(module, client) -> list[CatalogueItem]:
    try:
        return module.fetch(client)
    except ProviderError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # A shape the platform's module did not expect: the platform answered, but not
        # as its API promises. Logged in full for us, one sentence for the operator.
        log.exception("%s catalogue: unexpected answer", platform_name(module))
        raise TransientError(
            f"unexpected answer ({type(exc).__name__}: {exc})", status=200
        ) from exc


def platform_name(module) -> str:
    return module.__name__.split(".")[-2]


def _fields(item: CatalogueItem) -> dict:
    return {
        "name": item.name[:300],
        "serial": item.serial[:100],
        "medium": item.medium[:40],
        "last_value": item.last_value,
        "last_value_unit": item.last_value_unit[:30],
        "last_value_at": item.last_value_at,
        "raw": item.raw,
    }


@transaction.atomic
def _store(platform: str, items: list[CatalogueItem]) -> RefreshResult:
    now = timezone.now()
    result = RefreshResult(platform)
    # A platform listing one object twice (say, a meter under two gateways) is stored once.
    unique: dict[tuple[str, str], CatalogueItem] = {}
    for item in items:
        unique.setdefault((item.kind, item.remote_id), item)

    existing = {
        (e.kind, e.remote_id): e
        for e in CatalogueEntry.objects.select_for_update().filter(platform=platform)
    }
    key_of = {e.pk: key for key, e in existing.items()}
    to_create, to_update, seen = [], [], []
    for key, item in unique.items():
        entry = existing.get(key)
        values = _fields(item)
        if entry is None:
            to_create.append(
                CatalogueEntry(platform=platform, kind=item.kind, remote_id=item.remote_id,
                               first_seen=now, last_seen=now, **values)
            )  # fmt: skip
            result.new += 1
            continue
        seen.append(entry.pk)
        was_gone = entry.gone_since is not None
        describing = any(getattr(entry, f) != values[f] for f in DESCRIBING) or (
            key_of.get(entry.parent_id) != item.parent
        )
        moving = any(getattr(entry, f) != values[f] for f in VALUES)
        if was_gone:
            result.back += 1
        elif describing:
            result.changed += 1
        elif moving:
            result.new_values += 1
        if was_gone or describing or moving:
            entry.gone_since = None
            for name, value in values.items():
                setattr(entry, name, value)
            to_update.append(entry)
    CatalogueEntry.objects.bulk_create(to_create, batch_size=CHUNK)
    CatalogueEntry.objects.bulk_update(
        to_update, [*DESCRIBING, *VALUES, "gone_since"], batch_size=CHUNK
    )
    for start in range(0, len(seen), CHUNK):
        CatalogueEntry.objects.filter(pk__in=seen[start : start + CHUNK]).update(last_seen=now)

    _set_parents(platform, unique)
    seen_keys = set(unique)
    gone = [e.pk for k, e in existing.items() if k not in seen_keys and e.gone_since is None]
    for start in range(0, len(gone), CHUNK):
        CatalogueEntry.objects.filter(pk__in=gone[start : start + CHUNK]).update(gone_since=now)
    result.gone = len(gone)
    result.total = CatalogueEntry.objects.filter(platform=platform, gone_since=None).count()
    return result


def _set_parents(platform: str, items: dict[tuple[str, str], CatalogueItem]) -> None:
    """Second pass, once every row exists: a child may be listed before its parent."""
    rows = CatalogueEntry.objects.filter(platform=platform).values_list(
        "pk", "kind", "remote_id", "parent_id"
    )
    pk_of = {(kind, remote_id): pk for pk, kind, remote_id, _ in rows}
    changed = []
    for pk, kind, remote_id, parent_id in rows:
        item = items.get((kind, remote_id))
        if item is None:
            continue  # gone: keep the parent it had
        wanted = pk_of.get(item.parent) if item.parent else None
        if wanted != parent_id:
            changed.append(CatalogueEntry(pk=pk, parent_id=wanted))
    CatalogueEntry.objects.bulk_update(changed, ["parent"], batch_size=CHUNK)


def _log(platform, started, *, ok, message, result: RefreshResult | None = None) -> None:
    counts = {}
    if result is not None:
        counts = {k: getattr(result, k) for k in ("total", "new", "changed", "gone", "back")}
    CatalogueRefresh.objects.create(
        platform=platform, started_at=started, finished_at=timezone.now(), ok=ok,
        message=message, **counts,
    )  # fmt: skip
