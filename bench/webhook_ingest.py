"""How fast the smart-me webhook stores readings, beside PostgreSQL COPY of the same rows.

    .venv/bin/python bench/webhook_ingest.py [--devices 1000] [--senders 4] [--requests 400]
        [--rate 50] [--seconds 10] [--workers 3] [--threads 4]
        [--pg postgresql://postgres@127.0.0.1:5432/postgres]

It needs PostgreSQL (trust auth): it creates a scratch database `webhook_bench_<pid>`
beside the one --pg names and drops it at the end, and keeps everything else (the broker
folder, logs) in a temp dir. The portal runs under gunicorn (--workers processes x
--threads threads, DEBUG off, as in production) with --devices smart-me devices linked
to our Devices, each
forwarding to Zählerfreunde (so a delivery also wakes its forwardings; no worker runs,
nothing is sent).

Every request is a protobuf DeviceDataArray of 100 devices x 3 values, the kind smart-me
POSTs, with readings nobody stored before. Phases:
  webhook  --senders threads POST --requests deliveries as fast as they are answered
           (readings/s over the wall time; latency of each request)
  paced    --rate deliveries/s for --seconds, open loop (a slow answer does not slow the
           sender down): p50/p99 latency, the figure the target is about
  COPY     the webhook phase's rows, as the webhook stored them, with one COPY into a
           table with the same columns, indexes and foreign key (the database's own
           best), and again as one COPY per 300-row delivery in its own transaction
Then: the ratio webhook / COPY and the p99, against the targets (within 5x of COPY,
p99 under 50 ms at 50 requests/s), and a check that every reading was stored once.
"""

import argparse
import base64
import contextlib
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEVICES_PER_REQUEST = 100
CODES = ("1-0:1.8.0*255", "1-0:2.8.0*255", "1-0:1.7.0*255")
SECRET = base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
RATIO_TARGET = 5.0
P99_TARGET_MS = 50.0
START = datetime(2025, 1, 1, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[index]


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="webhook-bench-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.db_name = f"webhook_bench_{os.getpid()}"
        parts = urlsplit(args.pg)
        self.admin_url = urlunsplit(parts._replace(scheme="postgresql"))
        self.db_url = urlunsplit(parts._replace(scheme="postgres", path=f"/{self.db_name}"))
        self.gunicorn: subprocess.Popen | None = None
        self.created = False
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CELERY_", "SANDBOX_", "SMARTME_", "READINGS_", "PYTEST"))
        }
        self.env.pop("REDIS_URL", None)
        (self.tmp / "static").mkdir()
        self.env.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            DATABASE_URL=self.db_url,
            VAR_DIR=str(self.tmp / "var"),
            DEBUG="false",
            SECRET_KEY=base64.urlsafe_b64encode(os.urandom(48)).decode(),
            FIELD_ENCRYPTION_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="false",
            STATIC_ROOT=str(self.tmp / "static"),
            SMARTME_WEBHOOK_SECRET=SECRET,
            SERVE_SANDBOXES="false",
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
        )

    # --- database ----------------------------------------------------------------------
    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.created = True
        os.environ.update(self.env)  # this process's Django uses the scratch database too
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)

    def drop_database(self) -> None:
        if not self.created:
            return
        import psycopg

        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    # --- gunicorn ----------------------------------------------------------------------
    def start_portal(self) -> None:
        log = open(self.tmp / "gunicorn.log", "ab")  # noqa: SIM115 (closed below)
        self.gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi", "-w", str(self.args.workers),
             "-k", "gthread", "--threads", str(self.args.threads),
             "-b", f"127.0.0.1:{self.port}", "--log-level", "warning",
             "--backlog", "256", "--access-logfile", str(self.tmp / "access.log"),
             "--access-logformat", "%(m)s %(s)s %(D)s"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        import requests

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base}/webhooks/smartme/{SECRET}/", timeout=2).status_code:
                    return
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not start:\n" + self.log_tail())

    def server_times(self) -> list[float]:
        """Seconds each POST spent inside gunicorn (its access log), in order."""
        path = self.tmp / "access.log"
        lines = path.read_text().splitlines() if path.exists() else []
        return [int(line.split()[2]) / 1e6 for line in lines if line.startswith("POST 200")]

    def log_tail(self) -> str:
        path = self.tmp / "gunicorn.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def close(self) -> None:
        if self.gunicorn and self.gunicorn.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.gunicorn.pid, signal.SIGTERM)
            try:
                self.gunicorn.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.gunicorn.pid, signal.SIGKILL)
        self.drop_database()
        shutil.rmtree(self.tmp, ignore_errors=True)


# --- data --------------------------------------------------------------------------------


def make_devices(n: int) -> list[str]:
    """n Devices linked to n smart-me devices, each forwarding to Zählerfreunde; returns
    the smart-me ids. Straight into the tables: the outbox has nothing to do here."""
    from django.utils import timezone

    from onboarding.models import CatalogueEntry, Device, Space
    from onboarding.readings.models import Forwarding

    now = timezone.now()
    home = Space.objects.create(
        name="Bench Haus", category="APARTMENT_BUILDING", address_line_one="Hauptstrasse 1",
        postcode="8004", city="Zürich",
    )  # fmt: skip
    ids = [str(uuid.uuid4()) for _ in range(n)]
    entries = CatalogueEntry.objects.bulk_create(
        CatalogueEntry(platform="smartme", kind="device", remote_id=rid, name=f"Zähler {i}",
                       first_seen=now, last_seen=now)
        for i, rid in enumerate(ids)
    )  # fmt: skip
    devices = Device.objects.bulk_create(
        Device(space=home, name=f"Zähler {i:05d}", external_device_id=f"BENCH-{i:06d}",
               smartme_device=entry)
        for i, entry in enumerate(entries)
    )  # fmt: skip
    Forwarding.objects.bulk_create(
        Forwarding(device=d, destination="zaehlerfreunde") for d in devices
    )
    return ids


class Deliveries:
    """Delivery k: 100 consecutive devices (wrapping), three values each, at START + k s:
    no reading repeats another, and neighbouring deliveries share devices."""

    def __init__(self, remote_ids: list[str]):
        self.ids = remote_ids
        self.next = 0
        self.lock = threading.Lock()

    def take(self) -> int:
        with self.lock:
            k = self.next
            self.next += 1
            return k

    def items(self, k: int):
        from providers.smartme.realtime import DeviceData

        when = START + timedelta(seconds=k)
        first = (k * 37) % len(self.ids)
        return [
            DeviceData(
                self.ids[(first + j) % len(self.ids)],
                when,
                tuple((code, k + j + i / 10) for i, code in enumerate(CODES)),
            )
            for j in range(DEVICES_PER_REQUEST)
        ]

    def body(self, k: int) -> bytes:
        from providers.smartme.realtime import encode

        return encode(self.items(k))


# --- phases ------------------------------------------------------------------------------


def post(session, url: str, body: bytes) -> float:
    started = time.perf_counter()
    response = session.post(url, data=body, timeout=30)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"webhook answered {response.status_code}: {response.text[:300]}")
    if response.json()["readings"] != DEVICES_PER_REQUEST * len(CODES):
        raise RuntimeError(f"not every reading matched its device: {response.text}")
    return elapsed


def webhook_phase(bench: Bench, deliveries: Deliveries, requests_total: int, senders: int):
    import requests

    url = f"{bench.base}/webhooks/smartme/{SECRET}/"
    bodies = {
        k: deliveries.body(k) for k in range(deliveries.next, deliveries.next + requests_total)
    }
    latencies: list[float] = []

    def sender():
        session = requests.Session()
        mine = []
        while True:
            k = deliveries.take()
            if k not in bodies:
                return mine
            mine.append(post(session, url, bodies[k]))

    started = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        for result in [pool.submit(sender) for _ in range(senders)]:
            latencies += result.result()
    seconds = time.perf_counter() - started
    deliveries.next = max(bodies) + 1
    return seconds, latencies, sorted(bodies)


def paced_phase(bench: Bench, deliveries: Deliveries, rate: float, seconds: float):
    """Open loop: request i leaves at start + i/rate whatever the earlier ones do."""
    import requests

    url = f"{bench.base}/webhooks/smartme/{SECRET}/"
    count = int(rate * seconds)
    first = deliveries.next
    bodies = [deliveries.body(first + i) for i in range(count)]
    deliveries.next = first + count
    local = threading.local()
    lateness: list[float] = []

    def one(i: int, due: float) -> float:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        lateness.append(max(0.0, -wait))
        return post(local.session, url, bodies[i])

    start = time.perf_counter() + 0.2
    with ThreadPoolExecutor(32) as pool:
        futures = [pool.submit(one, i, start + i / rate) for i in range(count)]
        latencies = [f.result() for f in futures]
    achieved = count / (time.perf_counter() - start)
    return latencies, achieved, max(lateness)


def copy_rows(keys: list[int], deliveries: Deliveries) -> list[tuple]:
    """The rows the webhook phase stored, exactly as it stored them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT device_id, obis, timestamp, value, unit, source, received_at "
            "FROM readings_reading "
            "WHERE timestamp >= %s AND timestamp <= %s ORDER BY id",
            [START + timedelta(seconds=min(keys)), START + timedelta(seconds=max(keys))],
        )
        return cursor.fetchall()


def copy_phase(rows: list[tuple], chunk: int | None) -> float:
    """COPY the rows into a fresh table shaped like readings_reading (same indexes, the
    same foreign key); chunk=None is one COPY, else one COPY + commit per chunk."""
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection  # psycopg 3
    with raw.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS copy_bench")
        cursor.execute("CREATE TABLE copy_bench (LIKE readings_reading INCLUDING ALL)")
        cursor.execute(
            "ALTER TABLE copy_bench ADD FOREIGN KEY (device_id) REFERENCES onboarding_device (id) "
            "DEFERRABLE INITIALLY DEFERRED"
        )
    raw.commit()
    columns = "device_id, obis, timestamp, value, unit, source, received_at"
    parts = [rows] if chunk is None else [rows[i : i + chunk] for i in range(0, len(rows), chunk)]
    started = time.perf_counter()
    for part in parts:
        with raw.cursor() as cursor, cursor.copy(f"COPY copy_bench ({columns}) FROM STDIN") as copy:
            for row in part:
                copy.write_row(row)
        raw.commit()
    seconds = time.perf_counter() - started
    with raw.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM copy_bench")
        assert cursor.fetchone()[0] == len(rows)
        cursor.execute("DROP TABLE copy_bench")
    raw.commit()
    return seconds


def check_once(deliveries: Deliveries) -> tuple[int, int]:
    from onboarding.readings.models import Reading, UnmatchedReading

    stored = Reading.objects.count()
    expected = deliveries.next * DEVICES_PER_REQUEST * len(CODES)
    if stored != expected or UnmatchedReading.objects.exists():
        raise RuntimeError(f"stored {stored} readings, expected {expected}")
    return stored, expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    bench = Bench(args)
    try:
        bench.create_database()
        remote_ids = make_devices(args.devices)
        bench.start_portal()
        deliveries = Deliveries(remote_ids)
        per_request = DEVICES_PER_REQUEST * len(CODES)
        print(
            f"PostgreSQL scratch database {bench.db_name}; gunicorn {args.workers} workers x "
            f"{args.threads} threads (gthread); "
            f"{args.devices} linked devices; {per_request} readings per request"
        )
        # Warm up: every worker's connection, every device's forwarding made pending.
        webhook_phase(bench, deliveries, max(20, args.devices // DEVICES_PER_REQUEST * 2), 4)

        first = deliveries.next
        seconds, latencies, keys = webhook_phase(bench, deliveries, args.requests, args.senders)
        readings = len(keys) * per_request
        webhook_rate = readings / seconds
        print(
            f"webhook  {args.senders} senders, {len(keys)} requests: {readings} readings in "
            f"{seconds:.2f} s = {webhook_rate:,.0f} readings/s ({len(keys) / seconds:.0f} req/s); "
            f"latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 99) * 1000:.1f} ms"
        )

        before = len(bench.server_times())
        paced, achieved, late = paced_phase(bench, deliveries, args.rate, args.seconds)
        p50, p99 = statistics.median(paced) * 1000, percentile(paced, 99) * 1000
        time.sleep(0.5)  # the access log is written after the answer
        inside = bench.server_times()[before:]
        print(
            f"paced    {args.rate:.0f} req/s for {args.seconds:.0f} s ({len(paced)} requests, "
            f"achieved {achieved:.1f} req/s, sender at most {late * 1000:.0f} ms late): "
            f"p50 {p50:.1f} ms, p90 {percentile(paced, 90) * 1000:.1f} ms, "
            f"p99 {p99:.1f} ms, max {max(paced) * 1000:.1f} ms; "
            f"{sum(t > P99_TARGET_MS / 1000 for t in paced)} over {P99_TARGET_MS:.0f} ms"
        )
        if inside:
            print(
                f"         inside gunicorn (its access log, {len(inside)} requests): "
                f"p50 {statistics.median(inside) * 1000:.1f} ms, "
                f"p99 {percentile(inside, 99) * 1000:.1f} ms"
            )

        rows = copy_rows(list(range(first, first + len(keys))), deliveries)
        assert len(rows) == readings, (len(rows), readings)
        copy_seconds = copy_phase(rows, None)
        copy_rate = readings / copy_seconds
        chunked_seconds = copy_phase(rows, per_request)
        print(
            f"COPY     the same {readings} rows, one COPY: {copy_seconds:.2f} s = "
            f"{copy_rate:,.0f} rows/s; one COPY per delivery: {readings / chunked_seconds:,.0f} "
            "rows/s"
        )
        stored, _ = check_once(deliveries)
        ratio = copy_rate / webhook_rate
        print(f"stored   {stored} readings, each once; no reading unmatched")
        ok_ratio, ok_p99 = ratio <= RATIO_TARGET, p99 < P99_TARGET_MS
        print(
            f"RESULT   COPY / webhook = {ratio:.2f}x (target <= {RATIO_TARGET:.0f}x: "
            f"{'met' if ok_ratio else 'MISSED'}); p99 at {args.rate:.0f} req/s = {p99:.1f} ms "
            f"(target < {P99_TARGET_MS:.0f} ms: {'met' if ok_p99 else 'MISSED'})"
        )
        return 0 if ok_ratio and ok_p99 else 1
    except Exception:
        print(bench.log_tail(), file=sys.stderr)
        raise
    finally:
        bench.close()


if __name__ == "__main__":
    sys.exit(main())
