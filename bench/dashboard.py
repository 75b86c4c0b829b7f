"""The dashboard with 1,000 buildings and 10,000 units, beside a bare Django view over
the same rows, in the same run.

    .venv/bin/python bench/dashboard.py [--buildings 1000] [--units-per-building 10] [--runs 40]

A fresh SQLite file under a temp VAR_DIR. Every unit has a device and a tenant, and
every space and device its Zählerfreunde outbox row (half synced, a few failed). Both
views are requested through Django's test client (all middleware, a signed-in staff
session), alternately, `--runs` times each after a warm-up:

  bare       the same page of 20 buildings, their units, the units' devices and
             tenants, and every outbox row of them, read with plain queries and each
             row's state printed in a minimal template: what any page showing these
             rows must at least cost
  dashboard  the portal's dashboard (badges per platform rolled up over each unit's
             devices and tenants, filters, needs attention, connections, pager)

Prints median and p95 milliseconds and the query count of each, and the dashboard's
query count with one building of 10 units before the data grows. Targets: dashboard
median at most 2x the bare view; the same number of queries at 10 and 10,000 units.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_RATIO = 2.0


def setup_django(var_dir: str) -> None:
    os.environ["VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ["PROVIDERS"] = "zaehlerfreunde"
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bare(request):
    """Plain queries, plain template: the page of buildings, units and their rows."""
    from django.contrib.contenttypes.models import ContentType
    from django.core.paginator import Paginator
    from django.template import engines

    from onboarding.models import Device, Space, SyncRecord, TenantUser

    page = Paginator(Space.objects.filter(parent__isnull=True).order_by("name"), 20).get_page(
        request.GET.get("page")
    )
    buildings = list(page.object_list)
    units = list(Space.objects.filter(parent__in=buildings).order_by("parent_id", "name"))
    devices = dict(Device.objects.filter(space__in=units).values_list("pk", "space_id"))
    tenants = dict(TenantUser.objects.filter(unit__in=units).values_list("pk", "unit_id"))
    types = ContentType.objects.get_for_models(Space, Device, TenantUser)
    unit_of = {}
    for model, held in ((Device, devices), (TenantUser, tenants)):
        unit_of.update({(types[model].pk, pk): unit for pk, unit in held.items()})
    unit_of.update({(types[Space].pk, u.pk): u.pk for u in units})
    rows: dict = {}
    query = SyncRecord.objects.filter(
        content_type=types[Space], object_id__in=[s.pk for s in buildings + units]
    ) | SyncRecord.objects.filter(content_type=types[Device], object_id__in=list(devices))
    query |= SyncRecord.objects.filter(content_type=types[TenantUser], object_id__in=list(tenants))
    for r in query:
        rows.setdefault(unit_of.get((r.content_type_id, r.object_id)), []).append(r)
    template = engines["django"].from_string(
        "<table>{% for b in buildings %}<tr><td>{{ b.name }}</td></tr>"
        "{% for u in b.unit_list %}<tr><td>{{ u.name }}</td><td>{% for r in u.rows %}"
        "{{ r.provider }} {{ r.state }} {{ r.last_error }}{% endfor %}</td></tr>"
        "{% endfor %}{% endfor %}</table>"
    )
    by_building = {b.pk: [] for b in buildings}
    for u in units:
        u.rows = rows.get(u.pk, [])
        by_building[u.parent_id].append(u)
    for b in buildings:
        b.unit_list = by_building[b.pk]
    from django.http import HttpResponse

    return HttpResponse(template.render({"buildings": buildings}, request))


def urlpatterns_with_bare():
    from django.urls import path

    from portal.urls import urlpatterns

    return [path("bare/", bare), *urlpatterns]


urlpatterns: list = []


def make_data(buildings: int, per_building: int, start: int = 0) -> None:
    from onboarding.models import Device, Space, SyncRecord, TenantUser
    from onboarding.sync import outbox

    homes = Space.objects.bulk_create(
        Space(
            name=f"Building {i:05d}", category="APARTMENT_BUILDING",
            address_line_one=f"Street {i}", postcode="8000", city="Zürich",
        )
        for i in range(start, start + buildings)
    )  # fmt: skip
    units = Space.objects.bulk_create(
        Space(name=f"Flat {j}", parent=h, category="FLAT")
        for h in homes
        for j in range(per_building)
    )
    devices = Device.objects.bulk_create(
        Device(space=u, name="Meter", external_device_id=f"M{u.pk}") for u in units
    )
    tenants = TenantUser.objects.bulk_create(
        TenantUser(unit=u, name="T", email=f"t{u.pk}@example.org") for u in units
    )
    outbox.mark_pending([*homes, *units, *devices, *tenants])
    # Half synced, one in fifty failed with a reason: a day's realistic mix.
    ids = list(SyncRecord.objects.values_list("pk", flat=True))
    SyncRecord.objects.filter(pk__in=ids[::2]).update(state=SyncRecord.State.SYNCED, remote_id="r")
    SyncRecord.objects.filter(pk__in=ids[1::50]).update(
        state=SyncRecord.State.FAILED, last_error="HTTP 400: postcode must have 5 digits"
    )


def measure(client, url: str, runs: int) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured)
    return times, queries


def p95(values: list[float]) -> float:
    return sorted(values)[max(int(len(values) * 0.95) - 1, 0)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=1000)
    parser.add_argument("--units-per-building", type=int, default=10)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as var_dir:
        setup_django(var_dir)
        global urlpatterns
        urlpatterns = urlpatterns_with_bare()
        from django.contrib.auth.models import Group, Permission, User
        from django.test import Client, override_settings

        from onboarding.models import Space
        from onboarding.roles import ONBOARDING_STAFF, ensure_roles

        with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"]):
            ensure_roles(Group, Permission)
            user = User.objects.create_user("bench", is_staff=True)
            user.groups.add(Group.objects.get(name=ONBOARDING_STAFF))
            client = Client()
            client.force_login(User.objects.get(pk=user.pk))
            make_data(1, args.units_per_building)
            measure(client, "/", 2)
            _t, small_queries = measure(client, "/", 3)
            started = time.perf_counter()
            make_data(args.buildings - 1, args.units_per_building, start=1)
            units = Space.objects.filter(parent__isnull=False).count()
            print(
                f"data: {args.buildings} buildings, {units} units, as many devices and "
                f"tenants ({time.perf_counter() - started:.1f} s to create)"
            )
            for url in ("/bare/", "/"):
                measure(client, url, 3)  # warm-up
            results = {"bare": ([], 0), "dashboard": ([], 0)}
            for _ in range(args.runs):
                for label, url in (("bare", "/bare/"), ("dashboard", "/")):
                    times, queries = measure(client, url, 1)
                    results[label] = (results[label][0] + times, queries)
        print(f"{'view':<10}{'median ms':>11}{'p95 ms':>9}{'queries':>9}")
        for label, (times, queries) in results.items():
            print(f"{label:<10}{statistics.median(times):>11.1f}{p95(times):>9.1f}{queries:>9}")
        ratio = statistics.median(results["dashboard"][0]) / statistics.median(results["bare"][0])
        big_queries = results["dashboard"][1]
        print(f"dashboard / bare (median): {ratio:.2f}x (target <= {TARGET_RATIO:g}x)")
        print(
            f"dashboard queries: {small_queries} with {args.units_per_building} units, "
            f"{big_queries} with {units} units"
        )
        ok = ratio <= TARGET_RATIO and big_queries == small_queries
        print("OK" if ok else "TARGET MISSED")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
