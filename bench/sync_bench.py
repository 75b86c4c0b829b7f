"""How fast the outbox pushes devices to the Zählerfreunde sandbox, beside a bare client loop.

    .venv/bin/python bench/sync_bench.py [--devices 2000] [--latency-ms 20]

Everything runs in a temp VAR_DIR: a fresh SQLite file (or, with DATABASE_URL, a scratch
PostgreSQL database `sync_bench_<pid>` created beside it and dropped at the end), the
filesystem broker under it (or, with REDIS_URL, Redis db --redis-db, flushed). The
sandbox is served by gunicorn (4 processes x 4 threads) on a free port; the workers are
real `celery worker --pool=prefork` processes (--concurrency 1, then 4).

Per latency (0 ms: local overhead only; --latency-ms: a platform across the internet):
  bare     ZaehlerfreundeClient.create_device in a loop, one process, no Django models
  engine   N Device rows marked pending in one transaction (N messages on commit),
           pushed by warm workers; timed from the commit until the last row is synced
           (its last_synced_at), then checked: N devices remotely, no duplicate, one
           API call per device, every row synced.
Then one in-process profile of engine.run (queries per run, where the time goes).
"""

import argparse
import base64
import contextlib
import cProfile
import os
import pstats
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PROVIDER = "zaehlerfreunde"
PARTNER_PATH = "/sandbox/zaehlerfreunde/partner"
CONTROL_PATH = "/sandbox/zaehlerfreunde/_sandbox"
CONTROL_TOKEN = base64.urlsafe_b64encode(os.urandom(24)).decode()
BARE_LIMIT = 1.5  # engine x1 time per object / bare time per object
SCALE_LIMIT = 2.5  # engine x4 throughput / engine x1 throughput
STALL_SECONDS = 120.0


@dataclass
class Result:
    label: str
    seconds: float
    objects: int
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.objects / self.seconds

    @property
    def ms_per_object(self) -> float:
        return self.seconds * 1000 / self.objects


# --- the environment every process shares ----------------------------------------------


class Bench:
    """Owns the temp dir, the scratch database, the broker and every process started."""

    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="sync-bench-"))
        self.processes: list[subprocess.Popen] = []
        self.scratch_db: tuple[str, str] | None = None  # (admin conninfo, name)
        self.redis_url = ""
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = self._environment()

    def _environment(self) -> dict:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CELERY_", "SANDBOX_", "ZAEHLERFREUNDE_", "PYTEST"))
        }
        (self.tmp / "static").mkdir()
        env.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            VAR_DIR=str(self.tmp / "var"),
            SANDBOX_BASE_URL=self.base,
            SANDBOX_LATENCY_MS="0",
            # As in production: no query log in every process, no per-request debug.
            DEBUG="false",
            # A production-like process serving the sandbox on purpose, control by token.
            SERVE_SANDBOXES="true",
            SANDBOX_CONTROL_TOKEN=CONTROL_TOKEN,
            # With DEBUG off the sandboxes refuse their public demo credentials (each
            # process would make up its own): every process of the bench shares these.
            SANDBOX_CLIENT_ID="bench-client",
            SANDBOX_CLIENT_SECRET=base64.urlsafe_b64encode(os.urandom(24)).decode(),
            SANDBOX_SMARTME_API_KEY=base64.urlsafe_b64encode(os.urandom(24)).decode(),
            PROVIDERS="zaehlerfreunde",
            SECRET_KEY=base64.urlsafe_b64encode(os.urandom(48)).decode(),
            FIELD_ENCRYPTION_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="false",
            STATIC_ROOT=str(self.tmp / "static"),
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
        )
        database_url = os.environ.get("DATABASE_URL", "")
        if database_url:
            env["DATABASE_URL"] = self._create_scratch_database(database_url)
        else:
            env["DATABASE_URL"] = f"sqlite:///{self.tmp / 'bench.sqlite3'}"
        if os.environ.get("REDIS_URL"):
            parts = urlsplit(os.environ["REDIS_URL"])
            self.redis_url = urlunsplit(parts._replace(path=f"/{self.args.redis_db}"))
            env["REDIS_URL"] = self.redis_url
            self._flush_redis()
        else:
            env.pop("REDIS_URL", None)
        return env

    def describe(self) -> str:
        db = self.env["DATABASE_URL"].rsplit("@", 1)[-1]  # no password in the output
        broker = self.redis_url.rsplit("@", 1)[-1] if self.redis_url else "filesystem"
        return f"database {db}; broker {broker}; sandbox {self.base} (gunicorn 4x4 gthread)"

    # --- scratch database and broker ----------------------------------------------------
    def _create_scratch_database(self, url: str) -> str:
        import psycopg

        parts = urlsplit(url)
        name = f"sync_bench_{os.getpid()}"
        admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.scratch_db = (admin, name)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def _drop_scratch_database(self) -> None:
        if not self.scratch_db:
            return
        import psycopg

        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        admin, name = self.scratch_db
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _flush_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        client.flushdb()
        client.close()

    # --- processes ----------------------------------------------------------------------
    def spawn(self, argv: list[str], log_name: str, **extra_env) -> subprocess.Popen:
        log = open(self.tmp / log_name, "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**self.env, **extra_env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its children
        )
        log.close()
        self.processes.append(process)
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 20.0) -> None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        if process in self.processes:
            self.processes.remove(process)

    def log_tail(self, log_name: str, lines: int = 30) -> str:
        path = self.tmp / log_name
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def start_sandbox(self, **extra_env) -> None:
        self.spawn(
            [sys.executable, "-m", "gunicorn", "portal.wsgi", "-w", "4", "-k", "gthread",
             "--threads", "4", "-b", f"127.0.0.1:{self.port}", "--log-level", "warning"],
            "gunicorn.log",
            **extra_env,
        )  # fmt: skip
        import requests

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                url = f"{self.base}{CONTROL_PATH}/latency"
                if requests.get(url, headers={"X-Sandbox-Token": CONTROL_TOKEN}, timeout=2).ok:
                    return
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not start:\n" + self.log_tail("gunicorn.log"))

    def start_worker(self, concurrency: int) -> subprocess.Popen:
        ready = self.tmp / f"worker-{concurrency}-{time.monotonic_ns()}.ready"
        log_name = f"worker-{concurrency}.log"
        process = self.spawn(
            [sys.executable, "-m", "celery", "-A", "bench._bench_worker", "worker",
             "--pool=prefork", f"--concurrency={concurrency}", "-n", f"bench{concurrency}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", "celery",
             "--loglevel=WARNING"],
            log_name,
            BENCH_READY_FILE=str(ready),
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                self.stop(process)
                raise RuntimeError("worker did not start:\n" + self.log_tail(log_name))
            time.sleep(0.05)
        time.sleep(0.5)  # the pool's children finish starting after "ready"
        return process

    def close(self) -> None:
        for process in list(self.processes):
            self.stop(process)
        with contextlib.suppress(Exception):
            if self.redis_url:
                self._flush_redis()
        self._drop_scratch_database()
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- sandbox control ------------------------------------------------------------------


class Sandbox:
    def __init__(self, base: str):
        import requests

        self.requests = requests.Session()
        self.requests.headers["X-Sandbox-Token"] = CONTROL_TOKEN
        self.control = base + CONTROL_PATH

    def reset(self, latency_ms: int) -> None:
        self.requests.post(f"{self.control}/reset", timeout=60).raise_for_status()
        # The reset forgets the latency too (it lives in SandboxConfig): set it after.
        response = self.requests.post(
            f"{self.control}/latency", json={"ms": latency_ms}, timeout=10
        )
        response.raise_for_status()
        assert response.json()["ms"] == latency_ms

    def state(self) -> dict:
        response = self.requests.get(f"{self.control}/state", timeout=120)
        response.raise_for_status()
        return response.json()


def device_payload(i: int, tag: str) -> dict:
    """What DeviceHandler.payload sends for the rows the engine phase creates."""
    return {
        "deviceName": f"Zähler {i:05d}",
        "isMainDevice": True,
        "deviceType": "SMART_METER",
        "deviceMedium": "ELECTRICITY",
        "externalDeviceId": f"{tag}-{i:06d}",
    }


BUILDING = {
    "name": "Bench Haus",
    "category": "APARTMENT_BUILDING",
    "addressLineOne": "Hauptstraße 1",
    "postcode": "10115",
    "city": "Berlin",
}


# --- phases ---------------------------------------------------------------------------


def bare_loop(bench: Bench, sandbox: Sandbox, n: int, latency_ms: int) -> Result:
    from providers.zaehlerfreunde.client import ZaehlerfreundeClient

    sandbox.reset(latency_ms)
    client = ZaehlerfreundeClient(
        bench.base + PARTNER_PATH,
        bench.env.get("SANDBOX_CLIENT_ID", "portal-sandbox"),
        bench.env.get("SANDBOX_CLIENT_SECRET", "sandbox-secret"),
    )
    space_id = client.create_space(BUILDING)  # also fetches the token, before timing
    payloads = [device_payload(i, "bare") for i in range(n)]
    start = time.perf_counter()
    for payload in payloads:
        client.create_device(space_id, payload)
    seconds = time.perf_counter() - start
    devices = sandbox.state()["counts"]["devices"]
    if devices != n:
        raise RuntimeError(f"bare loop: the sandbox has {devices} devices, expected {n}")
    return Result("bare client loop", seconds, n)


def wipe_portal() -> None:
    """Delete what a phase created (raw DELETEs: the ORM's cascade collector is slow)."""
    from django.db import connection, transaction

    from onboarding.models import ApiCall, Device, ProviderConnection, Space, SyncRecord
    from providers import registry

    with transaction.atomic(), connection.cursor() as cursor:
        for model in (ApiCall, SyncRecord, Device, Space, ProviderConnection):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
    registry.client(PROVIDER).tokens.forget()  # the sandbox reset revoked it anyway


def purge_broker() -> int:
    from portal.celery import app

    with app.connection_for_write() as conn:
        return conn.default_channel.queue_purge("celery") or 0


def synced_building(sandbox: Sandbox, latency_ms: int):
    """A fresh building, synced in this process (its message purged): devices may go."""
    from django.db import transaction

    from onboarding.models import Space, SyncRecord
    from onboarding.sync import engine, outbox

    wipe_portal()
    sandbox.reset(latency_ms)
    with transaction.atomic():
        building = Space.objects.create(
            name=BUILDING["name"],
            category=BUILDING["category"],
            address_line_one=BUILDING["addressLineOne"],
            postcode=BUILDING["postcode"],
            city=BUILDING["city"],
        )
        (record_id,) = outbox.mark_pending([building])
    outcome = engine.run(record_id)
    purge_broker()
    record = SyncRecord.objects.get(pk=record_id)
    if outcome is None or record.state != SyncRecord.State.SYNCED or not record.remote_id:
        raise RuntimeError(f"the building did not sync: {record.state} {record.last_error}")
    return building


def new_devices(building, n: int, tag: str):
    from onboarding.models import Device

    return Device.objects.bulk_create(
        [
            Device(
                space=building,
                name=p["deviceName"],
                is_main_device=p["isMainDevice"],
                device_type=p["deviceType"],
                medium=p["deviceMedium"],
                external_device_id=p["externalDeviceId"],
            )
            for p in (device_payload(i, tag) for i in range(n))
        ],
        batch_size=500,
    )


def engine_workers(
    bench: Bench,
    sandbox: Sandbox,
    n: int,
    latency_ms: int,
    concurrency: int,
) -> Result:
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction
    from django.db.models import Count, Max

    from onboarding.models import ApiCall, Device, SyncRecord
    from onboarding.sync import outbox

    building = synced_building(sandbox, latency_ms)
    device_type = ContentType.objects.get_for_model(Device)
    rows = SyncRecord.objects.filter(content_type=device_type, provider=PROVIDER)
    worker = bench.start_worker(concurrency)  # warm, on an empty queue
    try:
        with transaction.atomic():
            devices = new_devices(building, n, f"w{concurrency}")
            outbox.mark_pending(devices)
            start_wall = time.time()
            start = time.perf_counter()
        enqueued = time.perf_counter() - start  # commit + N publishes (on_commit)
        last, last_change = -1, time.monotonic()
        while True:
            states = dict(rows.values_list("state").annotate(n=Count("pk")).order_by())
            done = states.get(SyncRecord.State.SYNCED, 0)
            if done == n:
                break
            bad = {s: c for s, c in states.items() if s in ("failed", "needs_attention")}
            if bad:
                errors = set(rows.exclude(last_error="").values_list("last_error", flat=True)[:5])
                raise RuntimeError(f"engine x{concurrency}: rows {bad}: {errors}")
            if done != last:
                last, last_change = done, time.monotonic()
            elif time.monotonic() - last_change > STALL_SECONDS:
                raise RuntimeError(
                    f"engine x{concurrency}: stuck at {done}/{n} synced {states}\n"
                    + bench.log_tail(f"worker-{concurrency}.log")
                )
            time.sleep(0.2)
    finally:
        bench.stop(worker)
    finished = rows.aggregate(Max("last_synced_at"))["last_synced_at__max"]
    seconds = finished.timestamp() - start_wall

    # Correct as well as fast: every device once remotely, one call each, all synced.
    state = sandbox.state()
    # The control side's picture lists a device's keys as `externalDeviceIds`.
    keys = [(d, (d.get("externalDeviceIds") or [""])[0]) for d in state["devices"]]
    remote = [d for d, key in keys if key.startswith(f"w{concurrency}-")]
    externals = {key for _, key in keys if key.startswith(f"w{concurrency}-")}
    creates = state["requests"].get("POST /spaces/{spaceId}/devices", 0)
    calls = ApiCall.objects.filter(content_type=device_type).count()
    retried = rows.exclude(attempts=0).count() + rows.exclude(last_error="").count()
    problems = []
    if len(remote) != n or len(externals) != n:
        problems.append(f"{len(remote)} devices remotely ({len(externals)} distinct), not {n}")
    if creates != n or calls != n:
        problems.append(f"{creates} create requests, {calls} API calls logged, not {n}")
    if rows.exclude(state=SyncRecord.State.SYNCED).exists() or rows.filter(remote_id="").exists():
        problems.append("rows left unsynced or without a remote id")
    if retried:
        problems.append(f"{retried} rows with attempts or errors")
    if problems:
        raise RuntimeError(f"engine x{concurrency}: " + "; ".join(problems))
    return Result(
        f"engine, {concurrency} worker{'s' if concurrency > 1 else ''}",
        seconds,
        n,
        note=f"commit+enqueue {enqueued:.2f}s",
    )


def engine_in_process(sandbox: Sandbox, n: int, latency_ms: int) -> tuple[Result, dict]:
    """engine.run for n rows in this process (no Celery): queries per run, and a profile."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from onboarding.sync import engine, outbox

    building = synced_building(sandbox, latency_ms)
    with transaction.atomic():
        ids = outbox.mark_pending(new_devices(building, 2 * n + 1, "prof"))
    purge_broker()  # their messages: nobody consumes them here

    with CaptureQueriesContext(connection) as captured:
        engine.run(ids[0])  # the first also loads the token (from the building's sync)
    queries = [q["sql"] for q in captured]

    start = time.perf_counter()
    for record_id in ids[1 : n + 1]:
        engine.run(record_id)
    seconds = time.perf_counter() - start

    profile = cProfile.Profile()  # a second batch: cProfile slows Python code down
    profile.enable()
    for record_id in ids[n + 1 :]:
        engine.run(record_id)
    profile.disable()
    profiled = sum(v[2] for v in pstats.Stats(profile).stats.values())

    with CaptureQueriesContext(connection) as captured:
        engine.run(ids[-1])  # already synced: what a duplicate message costs
    duplicate_queries = len(captured)

    stats = pstats.Stats(profile).stats
    http = _cumulative(stats, "providers/http.py", "send")
    sql = _cumulative(stats, "django/db/backends/utils.py", "_execute") + _cumulative(
        stats, "django/db/backends/utils.py", "_executemany"
    )
    return Result("engine.run in-process", seconds, n), {
        "queries": queries,
        "duplicate_queries": duplicate_queries,
        "http_ms": http * 1000 / n,
        "sql_ms": sql * 1000 / n,
        "profiled_ms": profiled * 1000 / n,
        "top": _top(profile),
    }


def _cumulative(stats: dict, file_suffix: str, function: str) -> float:
    return sum(
        value[3]
        for (filename, _, name), value in stats.items()
        if filename.endswith(file_suffix) and name == function
    )


def _top(profile: cProfile.Profile, limit: int = 12) -> str:
    import io

    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(lines[start:])


# --- main -----------------------------------------------------------------------------


def show(result: Result) -> None:
    print(
        f"  {result.label:<24}{result.seconds:>8.2f} s{result.per_second:>9.1f} obj/s"
        f"{result.ms_per_object:>8.2f} ms/obj  {result.note}",
        flush=True,
    )


def run_round(bench: Bench, sandbox: Sandbox, n: int, latency_ms: int) -> list[Result]:
    print(f"\n-- latency {latency_ms} ms per sandbox answer --", flush=True)
    results = []
    for phase in (
        lambda: bare_loop(bench, sandbox, n, latency_ms),
        lambda: engine_workers(bench, sandbox, n, latency_ms, 1),
        lambda: engine_workers(bench, sandbox, n, latency_ms, 4),
    ):
        results.append(phase())
        show(results[-1])
    return results


def print_table(rounds: dict[int, list[Result]]) -> None:
    print("\n== results ==")
    print(f"{'latency':>8}  {'':<24}{'seconds':>9}{'obj/s':>9}{'ms/obj':>9}")
    for latency, results in rounds.items():
        for r in results:
            print(
                f"{latency:>6}ms  {r.label:<24}{r.seconds:>9.2f}{r.per_second:>9.1f}"
                f"{r.ms_per_object:>9.2f}"
            )
    print()
    for latency, (bare, one, four) in rounds.items():
        overhead = one.ms_per_object / bare.ms_per_object
        scale = four.per_second / one.per_second
        print(
            f"latency {latency:>3} ms: engine x1 / bare per object {overhead:.2f}x "
            f"(limit < {BARE_LIMIT}: {'ok' if overhead < BARE_LIMIT else 'MISSED'}); "
            f"x4 / x1 throughput {scale:.2f}x "
            f"(limit > {SCALE_LIMIT}: {'ok' if scale > SCALE_LIMIT else 'MISSED'})"
        )


def print_profile(result: Result, profile: dict, latency_ms: int) -> None:
    queries = profile["queries"]
    writes = sum(q.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for q in queries)
    print(f"\n== engine.run in this process, no Celery ({result.objects} rows, {latency_ms} ms) ==")
    http, sql, total = profile["http_ms"], profile["sql_ms"], profile["profiled_ms"]
    print(
        f"{result.ms_per_object:.2f} ms per run. Under cProfile (a second batch, slower: "
        f"{total:.2f} ms): HTTP call incl. the sandbox's answer {http:.2f} ms, SQL "
        f"{sql:.2f} ms, the rest (ORM, payload, recorder, hashing) {total - http - sql:.2f} ms"
    )
    print(
        f"queries per engine.run: {len(queries)} ({len(queries) - writes} reads, {writes} "
        f"writes); a duplicate message for a synced row: {profile['duplicate_queries']}"
    )
    for sql in queries:
        print("   ", sql[:150])
    print("top functions by own time:")
    print(profile["top"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--profile-devices", type=int, default=300)
    parser.add_argument("--redis-db", type=int, default=15, help="with REDIS_URL (flushed)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = parser.parse_args()
    # SIGTERM as Ctrl-C: the finally below stops gunicorn and the workers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = time.monotonic()
    bench = Bench(args)
    try:
        os.environ.update(bench.env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        bench.start_sandbox()
        sandbox = Sandbox(bench.base)
        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC {os.cpu_count()} CPUs; {bench.describe()}")
        print(
            f"{args.devices} devices per phase; workers: celery --pool=prefork "
            "--concurrency 1 and 4; times from the commit to the last row synced"
        )
        rounds = {}
        for latency in dict.fromkeys((0, args.latency_ms)):
            rounds[latency] = run_round(bench, sandbox, args.devices, latency)
        print_table(rounds)
        print(
            "The rows with latency model production (a platform across the internet); at "
            "0 ms everything (sandbox, workers, database) shares the CPUs, so it shows the "
            "local cost per object, not what more workers buy."
        )
        profiled, profile = engine_in_process(sandbox, args.profile_devices, 0)
        print_profile(profiled, profile, 0)
        bare0 = rounds[0][0]
        print(
            f"in-process engine.run vs bare loop at 0 ms: "
            f"{profiled.ms_per_object:.2f} vs {bare0.ms_per_object:.2f} ms per object "
            "(the rest of engine x1 is Celery: message, ack, DB connection per task)"
        )
        kept = f"; logs kept in {bench.tmp}" if args.keep else ""
        print(f"\ntotal bench time {time.monotonic() - started:.0f} s{kept}")
    finally:
        bench.close()


if __name__ == "__main__":
    main()
