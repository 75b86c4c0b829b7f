"""How `import_building` compares with a bare bulk_create of the same rows (the outbox's
rows included: one per object and enabled platform that takes it).

    .venv/bin/python bench/import_bench.py [--units 10000]

Without DATABASE_URL it runs on a fresh SQLite file in a temp dir. With DATABASE_URL it
needs --scratch: it then deletes every space, device, tenant, invite and sync row there.
Celery publishes to an in-memory broker, so nothing reaches the project's queue.
"""

import argparse
import csv
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNITS_PER_BUILDING = 100
LIMIT = 2.0  # import / a bulk_create of the same rows, outbox rows included


def setup(scratch: bool) -> str:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    if os.environ.get("DATABASE_URL"):
        if not scratch:
            sys.exit("DATABASE_URL is set: pass --scratch if its data may be deleted.")
        where = os.environ["DATABASE_URL"].rsplit("@", 1)[-1]  # no password in the output
    else:
        where = str(Path(tempfile.mkdtemp(prefix="import-bench-")) / "bench.sqlite3")
        os.environ["DATABASE_URL"] = f"sqlite:///{where}"
    # The on_commit enqueue must not leave messages in var/broker for a dev worker.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.conf import settings

    # As in production: with DEBUG on, every query is also formatted for the debug log,
    # which costs the command (more, smaller queries) more than the baseline. Query
    # counts are taken in separate runs with CaptureQueriesContext.
    settings.DEBUG = False
    return where


def write_csv(path: Path, units: int, prefix: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            [
                "building",
                "address_line_one",
                "postcode",
                "city",
                "unit",
                "device_name",
                "external_device_id",
                "tenant_name",
                "tenant_email",
            ]
        )
        for i in range(units):
            b = i // UNITS_PER_BUILDING
            out.writerow(
                [
                    f"{prefix} Haus {b}",
                    f"Hauptstraße {b}",
                    f"{10000 + b % 90000}",
                    "Berlin",
                    f"Whg {i % UNITS_PER_BUILDING}",
                    "Stromzähler",
                    f"{prefix}-MELO-{i:06d}",
                    f"Mieter {i}",
                    f"mieter{i}@example.org",
                ]
            )


def wipe() -> None:
    """Delete what the bench created (raw DELETEs: the ORM's cascade collector is slow)."""
    from django.db import connection, transaction

    from onboarding.models import Device, Invite, Space, SyncRecord, TenantUser

    with transaction.atomic(), connection.cursor() as cursor:
        for model in (SyncRecord, Invite, TenantUser, Device, Space):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608


def baseline(units: int) -> float:
    """The same rows the import writes, bulk_create'd in one transaction: spaces, devices,
    tenants, invites, and one outbox row per object and enabled platform that takes it
    (as outbox.mark_pending makes them: rank, due time, name)."""
    from django.db import transaction

    from onboarding.models import Device, Invite, Space, TenantUser

    start = time.perf_counter()
    with transaction.atomic():
        buildings = [
            Space(
                name=f"base Haus {b}",
                category="APARTMENT_BUILDING",
                address_line_one=f"Hauptstraße {b}",
                postcode=f"{10000 + b}",
                city="Berlin",
            )
            for b in range((units + UNITS_PER_BUILDING - 1) // UNITS_PER_BUILDING)
        ]
        Space.objects.bulk_create(buildings, batch_size=1000)
        spaces = [
            Space(
                name=f"Whg {i % UNITS_PER_BUILDING}",
                parent=buildings[i // UNITS_PER_BUILDING],
                category="FLAT",
            )
            for i in range(units)
        ]
        Space.objects.bulk_create(spaces, batch_size=1000)
        devices = [
            Device(
                space=s,
                name="Stromzähler",
                external_device_id=f"base-MELO-{i:06d}",
                is_main_device=True,
            )
            for i, s in enumerate(spaces)
        ]
        Device.objects.bulk_create(devices, batch_size=1000)
        tenants = [
            TenantUser(unit=s, name=f"Mieter {i}", email=f"mieter{i}@example.org")
            for i, s in enumerate(spaces)
        ]
        TenantUser.objects.bulk_create(tenants, batch_size=1000)
        invites = [Invite(space=t.unit, tenant=t, email=t.email) for t in tenants]
        Invite.objects.bulk_create(invites, batch_size=1000)
        outbox_rows(buildings + spaces, devices, tenants, invites)
    return time.perf_counter() - start


def outbox_rows(*groups) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from onboarding.models import SyncRecord
    from providers import registry

    due = timezone.now()
    for objects in groups:
        model = type(objects[0])
        content_type = ContentType.objects.get_for_model(model)
        for provider in registry.providers_for(model):
            handler = registry.handler(provider, model)
            SyncRecord.objects.bulk_create(
                [
                    SyncRecord(
                        content_type=content_type,
                        object_id=obj.pk,
                        provider=provider,
                        rank=handler.rank(obj),
                        not_before=due,
                        queued_at=due,
                        object_repr=str(obj)[:300],
                    )
                    for obj in objects
                ],
                batch_size=1000,
            )


def rows_written() -> int:
    from onboarding.models import Device, Invite, Space, SyncRecord, TenantUser

    return sum(m.objects.count() for m in (Space, Device, TenantUser, Invite, SyncRecord))


def run_import(path: Path) -> tuple[float, str]:
    """(seconds, the command's summary)."""
    import io

    from django.core.management import call_command

    out = io.StringIO()
    start = time.perf_counter()
    call_command("import_building", str(path), stdout=out)
    return time.perf_counter() - start, out.getvalue()


def count_queries(fn, *args) -> tuple[int, int]:
    """(queries, of which INSERT/UPDATE/DELETE) while fn runs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        fn(*args)
    writes = sum(
        q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for q in queries
    )
    return len(queries), writes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10000)
    parser.add_argument("--scratch", action="store_true", help="DATABASE_URL may be wiped")
    args = parser.parse_args()
    where = setup(args.scratch)
    from django.db.models import Max

    from onboarding.models import SyncRecord

    n, small = args.units, max(args.units // 10, 1)
    tmp = Path(tempfile.mkdtemp(prefix="import-bench-csv-"))
    big_csv, small_csv = tmp / "big.csv", tmp / "small.csv"
    write_csv(big_csv, n, "big")
    write_csv(small_csv, small, "small")
    print(f"database: {where}; {n} units, {UNITS_PER_BUILDING} per building")

    # Warm up (imports, first queries), then the best of two runs of each, alternating.
    wipe()
    baseline(small)
    wipe()
    run_import(small_csv)
    bases, firsts = [], []
    for _ in range(2):
        wipe()
        bases.append(baseline(n))
        base_rows = rows_written()
        wipe()
        seconds, summary = run_import(big_csv)
        firsts.append(seconds)
        import_rows = rows_written()
    base, first = min(bases), min(firsts)
    synced = SyncRecord.objects.count()
    last_change = SyncRecord.objects.aggregate(Max("updated_at"))
    again, _ = run_import(big_csv)
    again_queries = count_queries(run_import, big_csv)
    untouched = (SyncRecord.objects.count(), SyncRecord.objects.aggregate(Max("updated_at"))) == (
        synced,
        last_change,
    )
    wipe()
    tenth, _ = run_import(small_csv)
    wipe()
    tenth_queries = count_queries(run_import, small_csv)
    wipe()
    first_queries = count_queries(run_import, big_csv)
    wipe()
    base_queries = count_queries(baseline, n)
    wipe()

    print(f"{'':<26}{'seconds':>9}{'queries':>9}{'reads':>7}{'writes':>8}")
    for label, seconds, (queries, writes) in (
        ("baseline bulk_create", base, base_queries),
        (f"import {n} units", first, first_queries),
        (f"re-import {n} units", again, again_queries),
        (f"import {small} units", tenth, tenth_queries),
    ):
        print(f"{label:<26}{seconds:>9.2f}{queries:>9}{queries - writes:>7}{writes:>8}")
    print(
        f"rows written: baseline {base_rows}, import {import_rows} (outbox rows included: "
        f"{'the same work' if base_rows == import_rows else 'NOT the same work'})"
    )
    print(
        f"import / baseline: {first / base:.2f}x (limit {LIMIT:g}x: "
        f"{'ok' if first / base <= LIMIT else 'MISSED'}); runs: baseline "
        f"{', '.join(f'{t:.2f}' for t in bases)}, import {', '.join(f'{t:.2f}' for t in firsts)}"
    )
    print(
        "reads do not grow with the rows; writes are bulk batches, their size set by the "
        "database's bound-parameter limit (SQLite: 999 per query)"
    )
    print(f"re-import wrote nothing and left the sync rows alone: {untouched}")
    print("first import's summary:")
    print(summary, end="")
    shutil.rmtree(tmp)
    if where.startswith(tempfile.gettempdir()):
        shutil.rmtree(Path(where).parent)  # the throwaway SQLite database


if __name__ == "__main__":
    main()
