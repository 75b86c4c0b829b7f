"""A portfolio end to end: import it, push it to three platforms, beside the bare clients.

    .venv/bin/python bench/portfolio.py [--units 10000] [--workers 1,4,8] [--latency-ms 20]
        [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--redis redis://127.0.0.1:6379/14]

--units units in buildings of --units-per-building (10,000 in 1,000 by default), each
with a device, a tenant with an invite, and a Spark meter for every tenth tenant. Per
worker count, one round:

  engine  the CSV imported in one transaction (buildings, units, devices, tenants,
          invites, and a meter_point_id for every tenth tenant), then pushed
          to the Zählerfreunde, Spark and zevvy sandboxes by a `celery worker --pool=prefork
          --concurrency N` until every row has settled; timed from the import's commit
          (the enqueue is the engine's cost) to each platform's last row synced
  bare    the same objects, with the payloads the handlers build, created by N processes
          of bare clients (no Django, no outbox), level by level (buildings, Spark users
          and zevvy devices; units; devices, invites and Spark meters)

Everything runs on PostgreSQL and Redis (a scratch database `portfolio_<pid>` for the
portal and `portfolio_sandbox_<pid>` for the sandboxes, dropped at the end; Redis
database --redis, flushed). The sandboxes are the portal itself under gunicorn (4 x 4
threads) answering after --latency-ms. Printed per platform: objects/s, time to settle,
the ratio engine / bare, and per round the database transactions per object (the engine
runs in autocommit: one per statement), the workers' peak memory and the import's time.
Checked: every row synced, and each sandbox holds each object once.
"""

import argparse
import contextlib
import csv
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sync_bench import CONTROL_TOKEN, Bench  # noqa: E402 (after the path)

PLATFORMS = ("zaehlerfreunde", "spark", "zevvy")
LABELS = {"zaehlerfreunde": "Zählerfreunde", "spark": "Volue Spark", "zevvy": "zevvy"}
GOAL = 1.2  # engine / bare at 4 and 8 workers
STALL_SECONDS = 180.0
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Side:
    """One side (engine or bare) of one round: when each platform's last object landed."""

    seconds: dict[str, float] = field(default_factory=dict)  # platform: time to settle
    objects: dict[str, int] = field(default_factory=dict)
    peak_kib: int = 0  # the largest process
    total_kib: int = 0  # all of them
    cpu_seconds: float = 0.0  # the pushing processes' CPU time, all of them
    queries_per_object: float | None = None

    @property
    def cpu_ms_per_object(self) -> float:
        return self.cpu_seconds * 1000 / sum(self.objects.values())

    @property
    def total_seconds(self) -> float:
        return max(self.seconds.values())

    def per_second(self, platform: str) -> float:
        return self.objects[platform] / self.seconds[platform]


@dataclass
class Round:
    workers: int
    import_seconds: float
    engine: Side
    bare: Side


# --- the environment -----------------------------------------------------------------


class Portfolio(Bench):
    """sync_bench's processes and broker, on two scratch PostgreSQL databases."""

    def _environment(self) -> dict:
        env = super()._environment()
        env.update(
            PROVIDERS=",".join(PLATFORMS),
            SANDBOX_LATENCY_MS=str(self.args.latency_ms),
            # Long backoffs would only hide a problem in a benchmark: fail loudly instead.
            SYNC_MAX_ATTEMPTS="3",
        )
        self.sandbox_db = self._create_scratch_database(
            self.args.pg, f"portfolio_sandbox_{os.getpid()}"
        )
        return env

    def _create_scratch_database(self, url: str, name: str | None = None) -> str:
        import psycopg

        parts = urlsplit(url)
        name = name or f"portfolio_{os.getpid()}"
        admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.scratch_dbs = [*getattr(self, "scratch_dbs", []), (admin, name)]
        return urlunsplit(parts._replace(path=f"/{name}"))

    def _drop_scratch_database(self) -> None:
        import psycopg

        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        for admin, name in getattr(self, "scratch_dbs", []):
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def describe(self) -> str:
        broker = self.redis_url.rsplit("@", 1)[-1]
        return (
            f"PostgreSQL {urlsplit(self.args.pg).hostname}, broker {broker}; sandboxes at "
            f"{self.base} (gunicorn 4x4 gthread, own database), {self.args.latency_ms} ms each"
        )

    def start_sandbox(self) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT, env={**self.env, "DATABASE_URL": self.sandbox_db}, check=True,
        )  # fmt: skip
        super().start_sandbox(DATABASE_URL=self.sandbox_db)


def bench_args_for_sync_bench(args) -> argparse.Namespace:
    """What sync_bench's Bench reads: a DATABASE_URL-like --pg and the Redis db."""
    os.environ["DATABASE_URL"] = args.pg
    os.environ["REDIS_URL"] = args.redis
    redis_db = int(urlsplit(args.redis).path.strip("/") or 0)
    return argparse.Namespace(**vars(args), redis_db=redis_db)


class Sandboxes:
    def __init__(self, base: str):
        import requests

        self.http = requests.Session()
        self.http.headers["X-Sandbox-Token"] = CONTROL_TOKEN
        self.base = base

    def control(self, platform: str, what: str, **kwargs):
        method = "post" if "json" in kwargs or what in ("reset",) else "get"
        url = f"{self.base}/sandbox/{platform}/_sandbox/{what}"
        response = getattr(self.http, method)(url, timeout=300, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self) -> None:
        for platform in PLATFORMS:
            self.control(platform, "reset")
        # A second between device-login polls; tokens that outlive the round.
        self.control("zevvy", "device-flow", json={"interval": 1, "access_token_seconds": 86400})

    def counts(self) -> dict[str, dict]:
        return {p: self.control(p, "state")["counts"] for p in PLATFORMS}


# --- the portfolio -------------------------------------------------------------------


def write_csv(path: Path, units: int, per_building: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            ["building", "address_line_one", "postcode", "city", "unit", "device_name",
             "external_device_id", "tenant_name", "tenant_email", "send_invite_email",
             "meter_point_id"]
        )  # fmt: skip
        for i in range(units):
            b = i // per_building
            out.writerow(
                [f"Haus {b:04d}", f"Hauptstraße {b}", f"{10000 + b % 90000}", "Berlin",
                 f"Whg {i % per_building:03d}", "Stromzähler", f"MELO-{i:06d}",
                 f"Mieter {i}", f"mieter{i}@example.org", "no",
                 f"DE000{i:012d}" if i % 10 == 0 else ""]
            )  # fmt: skip


def wipe_portal() -> None:
    from django.apps import apps
    from django.db import connection

    tables = [
        model._meta.db_table
        for label in ("onboarding", "readings", "operations")
        for model in apps.get_app_config(label).get_models()
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")  # noqa: S608 (model names)
    from providers import registry

    registry.client.cache_clear()


def connect_zevvy() -> None:
    """A person approves the portal's zevvy login (what connect_zevvy waits for)."""
    import requests
    from django.conf import settings

    from onboarding import connect

    login = connect.start(started_by="bench")
    person = requests.Session()
    person.headers["X-Sandbox-Token"] = settings.SANDBOX_CONTROL_TOKEN
    page = person.get(login.verification_uri_complete, timeout=30)
    user_code = re.search(r'name="user_code" value="([^"]*)"', page.text).group(1)
    person.post(
        login.verification_uri_complete.split("?")[0],
        data={"user_code": user_code, "decision": "approve",
              "csrfmiddlewaretoken": CSRF_FIELD.search(page.text).group(1)},
        timeout=30,
    ).raise_for_status()  # fmt: skip
    deadline = time.monotonic() + 60
    while (connect.poll().outcome != "connected") and time.monotonic() < deadline:
        time.sleep(0.3)
    if connect.current().outcome != "connected":
        raise RuntimeError(f"zevvy did not connect: {connect.current().message}")


def import_portfolio(path: Path, units: int) -> tuple[float, list]:
    """The import (its Spark meters included); (seconds, [commit time])."""
    from django.db import transaction

    from onboarding import services

    committed: list[float] = []
    start = time.perf_counter()
    with transaction.atomic():
        transaction.on_commit(lambda: committed.append(time.time()))  # before the enqueue
        services.import_buildings(path)
    return time.perf_counter() - start, committed


def rows_expected() -> dict[str, int]:
    from django.db.models import Count

    from onboarding.models import SyncRecord

    counts = SyncRecord.objects.values_list("provider").annotate(n=Count("pk")).order_by()
    return dict(counts)


# --- the engine side -----------------------------------------------------------------


def process_peak_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def pool_pids(parent_pid: int) -> list[int]:
    children = Path(f"/proc/{parent_pid}/task/{parent_pid}/children")
    return [parent_pid, *map(int, children.read_text().split())] if children.exists() else []


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (/proc/<pid>/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def database_transactions() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            [connection.settings_dict["NAME"]],
        )
        return cursor.fetchone()[0]


class OwnQueries:
    """Counts this process's own statements, to take them out of the database's count."""

    def __init__(self):
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)


def engine_round(bench: Portfolio, sandboxes: Sandboxes, csv_path: Path, workers: int):
    from django.db import connection
    from django.db.models import Count, Max

    from onboarding.models import SyncRecord

    wipe_portal()
    bench._flush_redis()
    sandboxes.reset()
    connect_zevvy()
    worker = bench.start_worker(workers)  # warm and idle: the import enqueues
    pids = pool_pids(worker.pid)
    cpu_before = cpu_seconds(pids)
    try:
        own = OwnQueries()
        before = database_transactions()
        with connection.execute_wrapper(own):
            import_seconds, committed = import_portfolio(csv_path, bench.args.units)
            expected = rows_expected()
            t0 = committed[0]
            last_done, last_change = -1, time.monotonic()
            while True:
                states = dict(
                    SyncRecord.objects.exclude(state__in=["pending", "in_flight"])
                    .values_list("state")
                    .annotate(n=Count("pk"))
                    .order_by()
                )
                done = sum(states.values())
                if done == sum(expected.values()):
                    break
                if done != last_done:
                    last_done, last_change = done, time.monotonic()
                elif time.monotonic() - last_change > STALL_SECONDS:
                    raise RuntimeError(
                        f"engine x{workers}: stuck at {done} settled {states}\n"
                        + bench.log_tail(f"worker-{workers}.log")
                    )
                time.sleep(0.5)
            peaks = [process_peak_kib(pid) for pid in pids]
            cpu = cpu_seconds(pids) - cpu_before
    finally:
        bench.stop(worker)
    time.sleep(1.5)  # the workers' backends have flushed their statistics on exit
    transactions = database_transactions() - before - own.n - 1
    bad = SyncRecord.objects.exclude(state=SyncRecord.State.SYNCED)
    if bad.exists():
        errors = set(bad.values_list("provider", "state", "last_error")[:5])
        raise RuntimeError(f"engine x{workers}: {bad.count()} rows not synced: {errors}")
    finished = dict(
        SyncRecord.objects.values_list("provider").annotate(at=Max("last_synced_at")).order_by()
    )
    side = Side(
        seconds={p: finished[p].timestamp() - t0 for p in PLATFORMS},
        objects={p: expected[p] for p in PLATFORMS},
        peak_kib=max(peaks[1:] or peaks or [0]),
        total_kib=sum(peaks),
        cpu_seconds=cpu,
        queries_per_object=transactions / sum(expected.values()),
    )
    check_sandboxes(sandboxes, bench.args, f"engine x{workers}")
    return import_seconds, side


def check_sandboxes(sandboxes: Sandboxes, args, what: str) -> None:
    """Each object once on its platform, none missing."""
    buildings = -(-args.units // args.units_per_building)
    meters = -(-args.units // 10)
    counts = sandboxes.counts()
    want = {
        ("zaehlerfreunde", "spaces"): buildings + args.units,
        ("zaehlerfreunde", "devices"): args.units,
        ("zaehlerfreunde", "invites"): args.units,
        ("spark", "users"): args.units,
        ("spark", "locations"): meters,  # SPARK_API=current: a meter is a location
        ("zevvy", "devices"): args.units,
    }
    wrong = {k: counts[k[0]].get(k[1]) for k, n in want.items() if counts[k[0]].get(k[1]) != n}
    if wrong:
        raise RuntimeError(f"{what}: the sandboxes hold {wrong}, expected {want}")


# --- the bare side -------------------------------------------------------------------


def bare_jobs() -> list[list[dict]]:
    """The objects the engine pushed, as the handlers build their payloads, by level."""
    from onboarding.models import Device, Invite, Meter, Space, TenantUser
    from providers import registry

    zf, spark, zevvy = (registry.handlers(p) for p in PLATFORMS)
    levels: list[list[dict]] = [[], [], []]

    def job(level, platform, kind, key, payload, parent=None):
        # As plain JSON, which is what goes over the wire (a payload may hold a model's
        # choice or a UUID, which the bare processes, without Django, could not unpickle).
        payload = json.loads(json.dumps(payload, default=str))
        levels[level].append(
            {"platform": platform, "kind": kind, "key": key, "payload": payload, "parent": parent}
        )

    for space in Space.objects.select_related("parent").order_by("pk"):
        level = 0 if space.parent_id is None else 1
        payload = zf[Space].payload(space, None)
        parent = ("space", space.parent_id) if space.parent_id else None
        job(level, "zaehlerfreunde", "space", ("space", space.pk), payload, parent)
    for device in Device.objects.select_related("space").order_by("pk"):
        payload = zf[Device].payload(device, None)
        space = ("space", device.space_id)
        job(2, "zaehlerfreunde", "device", ("device", device.pk), payload, space)
        job(0, "zevvy", "zevvy_device", ("zdevice", device.pk), zevvy[Device].payload(device, None))
    for invite in Invite.objects.order_by("pk"):
        payload = zf[Invite].payload(invite, None)
        space = ("space", invite.space_id)
        job(2, "zaehlerfreunde", "invite", ("invite", invite.pk), payload, space)
    for tenant in TenantUser.objects.order_by("pk"):
        job(0, "spark", "spark_user", ("user", tenant.pk), spark[TenantUser].payload(tenant, None))
    for meter in Meter.objects.select_related("tenant__unit__parent").order_by("pk"):
        payload = spark[Meter].payload(meter, None)
        job(2, "spark", "spark_meter", ("meter", meter.pk), payload, ("user", meter.tenant_id))
    return levels


def bare_round(bench: Portfolio, sandboxes: Sandboxes, workers: int) -> Side:
    from bench import _bare_push

    levels = bare_jobs()
    sandboxes.reset()
    from dataclasses import asdict

    from providers import registry

    config = {"control_token": CONTROL_TOKEN}
    config.update({name: asdict(registry.connection(name)) for name in PLATFORMS})
    spawn = multiprocessing.get_context("spawn")
    remote: dict = {}
    finished: dict[str, float] = {}
    jobs = [job for level in levels for job in level]
    objects = {p: sum(1 for job in jobs if job["platform"] == p) for p in PLATFORMS}
    ready = spawn.Barrier(workers + 1)
    with spawn.Pool(workers, initializer=_bare_push.start, initargs=(config, ready)) as pool:
        ready.wait(timeout=120)  # every process has its clients and tokens
        pids = [process.pid for process in pool._pool]  # the pool's own processes
        cpu_before = cpu_seconds(pids)
        start = time.time()
        for level in levels:
            for job in level:
                if job["parent"] is not None:
                    job["parent_id"] = remote[tuple(job["parent"])]
            chunks = [level[i : i + 10] for i in range(0, len(level), 10)]
            for done in pool.imap_unordered(_bare_push.push, chunks):
                for key, remote_id, platform, at in done:
                    remote[tuple(key)] = remote_id
                    finished[platform] = max(finished.get(platform, 0.0), at)
        cpu = cpu_seconds(pids) - cpu_before
        peaks = [process_peak_kib(pid) for pid in pids]
    check_sandboxes(sandboxes, bench.args, f"bare x{workers}")
    return Side(
        seconds={p: finished[p] - start for p in PLATFORMS},
        objects=objects,
        peak_kib=max(peaks),
        total_kib=sum(peaks),
        cpu_seconds=cpu,
    )


# --- where the engine's own time goes ------------------------------------------------


def profile_round(bench: Portfolio, sandboxes: Sandboxes, units: int) -> None:
    """engine.run in this process over a small portfolio, the sandboxes answering at once:
    statements per push by kind of row, and where the time goes (cProfile)."""
    import cProfile
    import io
    import pstats
    from collections import Counter, defaultdict

    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from onboarding.models import SyncRecord
    from onboarding.sync import engine
    from onboarding.sync.tasks import due_records

    wipe_portal()
    sandboxes.reset()
    for platform in PLATFORMS:
        sandboxes.control(platform, "latency", json={"ms": 0})
    connect_zevvy()
    path = bench.tmp / "profile.csv"
    write_csv(path, units, bench.args.units_per_building)
    import_portfolio(path, units)
    bench._flush_redis()  # their messages: nobody consumes them here
    statements: dict[tuple, list[int]] = defaultdict(list)
    samples: dict[tuple, list[str]] = {}
    kinds = {ct.pk: ct.model for ct in ContentType.objects.all()}
    profile = cProfile.Profile()
    pushes = 0
    start = time.perf_counter()
    while ids := list(due_records(also_queued=True).values_list("pk", "provider", "content_type")):
        for pk, provider, content_type in ids:
            with CaptureQueriesContext(connection) as captured:
                profile.enable()
                outcome = engine.run(pk)
                profile.disable()
            if outcome is not None:
                pushes += 1
                statements[(provider, kinds[content_type])].append(len(captured))
                samples.setdefault((provider, kinds[content_type]), [q["sql"] for q in captured])
    seconds = time.perf_counter() - start
    left = SyncRecord.objects.exclude(state=SyncRecord.State.SYNCED).count()
    print(f"\n== engine.run in-process, sandboxes at 0 ms: {pushes} pushes, {left} unsynced ==")
    print(f"{seconds * 1000 / pushes:.1f} ms per push under cProfile (slower than without)")
    for (provider, kind), counts in sorted(statements.items()):
        common = Counter(counts).most_common(1)[0][0]
        print(f"  {LABELS[provider]:<14} {kind:<11} {len(counts):>5} pushes, {common} statements")
        if bench.args.verbose:
            for sql in samples[(provider, kind)]:
                print(f"      {sql[:140]}")
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    # --profile-ours: the portal's own functions by cumulative time (where a push waits)
    if bench.args.profile_ours:
        stats.sort_stats("cumulative").print_stats(r"/(onboarding|providers)/", 30)
    else:
        stats.sort_stats("tottime").print_stats(30)
    print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))
    for platform in PLATFORMS:
        sandboxes.control(platform, "latency", json={"ms": bench.args.latency_ms})


# --- the report ----------------------------------------------------------------------


def print_round(r: Round) -> None:
    print(f"\n-- {r.workers} worker process{'es' if r.workers > 1 else ''} --", flush=True)
    print(f"{'platform':<15}{'objects':>8}{'engine s':>10}{'obj/s':>8}{'bare s':>9}"
          f"{'obj/s':>8}{'engine/bare':>13}")  # fmt: skip
    for p in PLATFORMS:
        e, b = r.engine, r.bare
        print(
            f"{LABELS[p]:<15}{e.objects[p]:>8}{e.seconds[p]:>10.1f}{e.per_second(p):>8.1f}"
            f"{b.seconds[p]:>9.1f}{b.per_second(p):>8.1f}{e.seconds[p] / b.seconds[p]:>12.2f}x"
        )
    total = sum(r.engine.objects.values())
    print(
        f"{'all':<15}{total:>8}{r.engine.total_seconds:>10.1f}"
        f"{total / r.engine.total_seconds:>8.1f}{r.bare.total_seconds:>9.1f}"
        f"{total / r.bare.total_seconds:>8.1f}"
        f"{r.engine.total_seconds / r.bare.total_seconds:>12.2f}x"
    )
    print(
        f"import {r.import_seconds:.1f} s; database transactions per object "
        f"{r.engine.queries_per_object:.1f}; CPU per object: engine's workers "
        f"{r.engine.cpu_ms_per_object:.1f} ms, bare clients {r.bare.cpu_ms_per_object:.1f} ms; "
        f"peak memory per worker process: engine "
        f"{r.engine.peak_kib / 1024:.0f} MiB ({r.engine.total_kib / 1024:.0f} MiB with the "
        f"pool's parent), bare {r.bare.peak_kib / 1024:.0f} MiB",
        flush=True,
    )


def print_summary(rounds: list[Round]) -> None:
    print("\n== summary: time to settle every row, engine / bare ==")
    first = rounds[0]
    for r in rounds:
        ratio = r.engine.total_seconds / r.bare.total_seconds
        total = sum(r.engine.objects.values())
        growth = first.engine.total_seconds / r.engine.total_seconds
        verdict = ""
        if r.workers >= 4:
            verdict = f" (goal ≤ {GOAL}x: {'met' if ratio <= GOAL else 'MISSED'})"
        print(
            f"x{r.workers}: engine {total / r.engine.total_seconds:6.1f} obj/s, bare "
            f"{total / r.bare.total_seconds:6.1f} obj/s, engine/bare {ratio:.2f}x{verdict}; "
            f"engine throughput x{growth:.2f} of x{first.workers}'s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--units-per-building", type=int, default=10)
    parser.add_argument("--workers", default="1,4,8", help="worker processes per round")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="flushed")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    parser.add_argument("--verbose", action="store_true", help="with --profile: the SQL")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="UNITS",
        help="only profile engine.run in-process over a portfolio of UNITS units",
    )  # fmt: skip
    parser.add_argument(
        "--profile-ours", action="store_true",
        help="with --profile: the portal's own functions, by cumulative time",
    )  # fmt: skip
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    counts = [int(n) for n in args.workers.split(",")]
    if args.profile:
        args.units = args.profile  # what the header reports

    started = time.monotonic()
    bench = Portfolio(bench_args_for_sync_bench(args))
    try:
        os.environ.update(bench.env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        bench.start_sandbox()
        sandboxes = Sandboxes(bench.base)
        csv_path = bench.tmp / "portfolio.csv"
        write_csv(csv_path, args.units, args.units_per_building)
        load = os.getloadavg()[0]
        print(f"{datetime.now():%Y-%m-%d %H:%M} {os.cpu_count()} CPUs, load {load:.2f}; "
              f"{bench.describe()}")  # fmt: skip
        print(
            f"{args.units} units in {-(-args.units // args.units_per_building)} buildings, a "
            f"device, a tenant and an invite each, a Spark meter for every tenth tenant; "
            f"worker processes {args.workers}",
            flush=True,
        )
        if args.profile:
            profile_round(bench, sandboxes, args.profile)
            return
        rounds = []
        for workers in counts:
            import_seconds, engine = engine_round(bench, sandboxes, csv_path, workers)
            bare = bare_round(bench, sandboxes, workers)
            rounds.append(Round(workers, import_seconds, engine, bare))
            print_round(rounds[-1])
        print_summary(rounds)
        load = os.getloadavg()[0]
        kept = f"; logs kept in {bench.tmp}" if args.keep else ""
        print(f"\nload at the end {load:.2f}; total bench time {time.monotonic() - started:.0f} s"
              f"{kept}")  # fmt: skip
    finally:
        bench.close()


if __name__ == "__main__":
    main()
