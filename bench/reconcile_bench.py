"""Reconciling 10,000 units against platforms 20 ms away, beside the bare client's full
list-all loop in the same run.

    .venv/bin/python bench/reconcile_bench.py [--units 10000] [--latency-ms 20] [--zf-devices 0]

A fresh SQLite file under a temp VAR_DIR; the sandboxes are served by gunicorn (4 x 4
gthread) on a free port, answering every request after --latency-ms. The rows are made
directly in both databases (the portal's and the sandboxes' tables): 100 units a
building, each unit on Zählerfreunde as a space and its device on zevvy, every outbox
row synced with the remote id the sandbox holds. Then, behind the portal's back, three
units are deleted and one renamed on Zählerfreunde and two devices deleted on zevvy,
so the comparison has something to find. Per platform:

  bare       the platform's bare client listing everything in a loop (no Django, no
             matching): the least any comparison must cost at this latency
  reconcile  compare() + record(): the listing through the handlers, matching with our
             rows, the findings kept (drifts, row marks, the call log)
  per object zevvy's GET /devices/{id} for a sample, extrapolated to every object: what
             one call per object would cost (Zählerfreunde has no GET of one space)

Target: reconcile's calls equal the bare listing's (a few hundred, not one per object)
and its time at most 1.5x the bare listing's. --zf-devices N also gives N units a
device on Zählerfreunde, whose devices are listed only per space (one call per space
holding devices, in the bare loop as in reconcile).
"""

import argparse
import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CONTROL_TOKEN = base64.urlsafe_b64encode(os.urandom(24)).decode()
UNITS_PER_BUILDING = 100
TIME_LIMIT = 1.5  # reconcile time / bare listing time
PER_OBJECT_SAMPLE = 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(tmp: Path, port: int) -> dict:
    (tmp / "static").mkdir()
    return {
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "VAR_DIR": str(tmp / "var"),
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "SANDBOX_BASE_URL": f"http://127.0.0.1:{port}",
        "SANDBOX_LATENCY_MS": "0",
        "DEBUG": "false",  # no query log, as in production
        "SERVE_SANDBOXES": "true",
        "SANDBOX_CONTROL_TOKEN": CONTROL_TOKEN,
        "PROVIDERS": "zaehlerfreunde,zevvy",
        "SECRET_KEY": base64.urlsafe_b64encode(os.urandom(48)).decode(),
        "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "STATIC_ROOT": str(tmp / "static"),
        "LOG_LEVEL": "WARNING",
        "RECONCILE_MINUTES": "0",
        "PYTHONPATH": str(ROOT),
    }


class Sandboxes:
    """gunicorn serving the portal's sandboxes, and their control side."""

    def __init__(self, env: dict, port: int, tmp: Path):
        import requests

        self.base = f"http://127.0.0.1:{port}"
        log = open(tmp / "gunicorn.log", "ab")  # noqa: SIM115 (closed with the process)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi", "-w", "4", "-k", "gthread",
             "--threads", "4", "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
            cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        self.http = requests.Session()
        self.http.headers["X-Sandbox-Token"] = CONTROL_TOKEN
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if self.http.get(self.control("zaehlerfreunde", "latency"), timeout=2).ok:
                    return
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not start:\n" + (tmp / "gunicorn.log").read_text())

    def control(self, platform: str, what: str) -> str:
        return f"{self.base}/sandbox/{platform}/_sandbox/{what}"

    def latency(self, ms: int) -> None:
        for platform in ("zaehlerfreunde", "zevvy"):
            url = self.control(platform, "latency")
            self.http.post(url, json={"ms": ms}, timeout=10).raise_for_status()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(20)


def populate(units: int, zf_devices: int) -> dict:
    """Our buildings, units and devices with synced rows, and the same on the sandboxes."""
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from onboarding.models import Device, Space, SyncRecord
    from providers.zaehlerfreunde.sandbox import models as zf
    from providers.zevvy.sandbox import models as zv

    now = timezone.now()
    buildings = max(1, units // UNITS_PER_BUILDING)
    address = {"address_line_one": "Hauptstrasse 1", "postcode": "8004", "city": "Zürich"}
    homes = Space.objects.bulk_create(
        Space(name=f"Haus {b:04d}", category="APARTMENT_BUILDING", **address)
        for b in range(buildings)
    )
    flats = Space.objects.bulk_create(
        (
            Space(name=f"Wohnung {i:05d}", category="FLAT", parent=homes[i % buildings])
            for i in range(units)
        ),
        batch_size=2000,
    )
    devices = Device.objects.bulk_create(
        (
            Device(space=flat, name="Zähler", external_device_id=f"CH{i:08d}", is_main_device=True)
            for i, flat in enumerate(flats)
        ),
        batch_size=2000,
    )
    remote_spaces = {}
    for space in homes:
        remote_spaces[space.pk] = zf.Space(
            name=space.name, category=space.category, **address, uuid=uuid.uuid4()
        )
    zf.Space.objects.bulk_create(remote_spaces.values())
    by_uuid = {s.uuid: s for s in zf.Space.objects.all()}
    for flat in flats:
        parent = by_uuid[remote_spaces[flat.parent_id].uuid]
        remote_spaces[flat.pk] = zf.Space(
            name=flat.name, category="FLAT", parent=parent, **address, uuid=uuid.uuid4()
        )
    zf.Space.objects.bulk_create(
        [remote_spaces[f.pk] for f in flats], batch_size=2000
    )  # fmt: skip
    space_type = ContentType.objects.get_for_model(Space)
    device_type = ContentType.objects.get_for_model(Device)
    rows = [
        SyncRecord(
            content_type=space_type, object_id=s.pk, provider="zaehlerfreunde",
            rank=0 if s.parent_id is None else 1, state="synced", not_before=now,
            remote_id=str(remote_spaces[s.pk].uuid), object_repr=s.name, last_synced_at=now,
        )
        for s in [*homes, *flats]
    ]  # fmt: skip
    # zevvy names a device by our reference (providers/zevvy/sync.py).
    remote_devices = [
        zv.Device(
            name=f"portal-device-{d.pk}", reference=f"portal-device-{d.pk}", uuid=uuid.uuid4()
        )
        for d in devices
    ]
    zv.Device.objects.bulk_create(remote_devices, batch_size=2000)
    rows += [
        SyncRecord(
            content_type=device_type, object_id=d.pk, provider="zevvy", rank=0, state="synced",
            not_before=now, remote_id=str(r.uuid), object_repr=d.name, last_synced_at=now,
        )
        for d, r in zip(devices, remote_devices, strict=True)
    ]  # fmt: skip
    if zf_devices:
        rows += _zf_devices(devices[:zf_devices], remote_spaces, device_type, now)
    SyncRecord.objects.bulk_create(rows, batch_size=2000)
    return {"flats": flats, "devices": devices, "remote_spaces": remote_spaces}


def _zf_devices(devices, remote_spaces, device_type, now) -> list:
    from onboarding.models import SyncRecord
    from providers.zaehlerfreunde.sandbox import models as zf

    remote = [
        zf.Device(
            name=d.name, device_type="SMART_METER", medium="ELECTRICITY",
            external_device_id=d.external_device_id, uuid=uuid.uuid4(),
        )
        for d in devices
    ]  # fmt: skip
    zf.Device.objects.bulk_create(remote, batch_size=2000)
    spaces = {s.uuid: s for s in zf.Space.objects.all()}
    zf.SpaceDevice.objects.bulk_create(
        [
            zf.SpaceDevice(
                space=spaces[remote_spaces[d.space_id].uuid], device=r, is_main_device=True
            )
            for d, r in zip(devices, remote, strict=True)
        ],
        batch_size=2000,
    )
    return [
        SyncRecord(
            content_type=device_type, object_id=d.pk, provider="zaehlerfreunde", rank=2,
            state="synced", not_before=now, remote_id=str(r.uuid), object_repr=d.name,
            last_synced_at=now, sent_parent_id=str(remote_spaces[d.space_id].uuid),
        )
        for d, r in zip(devices, remote, strict=True)
    ]  # fmt: skip


def connect_zevvy(sandboxes: Sandboxes) -> None:
    """A person approves the portal's device login (on the sandbox, directly)."""
    from onboarding import connect
    from providers.zevvy.sandbox import authserver

    url = sandboxes.control("zevvy", "device-flow")
    sandboxes.http.post(url, json={"interval": 1}, timeout=10).raise_for_status()
    login = connect.start(started_by="bench")
    authserver.decide(login.user_code, True)
    deadline = time.monotonic() + 30
    while connect.poll().outcome != "connected":
        if time.monotonic() > deadline:
            raise RuntimeError("zevvy did not connect")
        time.sleep(0.3)


def drift_behind_its_back(data: dict) -> None:
    from providers.zaehlerfreunde.sandbox import models as zf
    from providers.zevvy.sandbox import models as zv

    flats = data["flats"]
    gone = [data["remote_spaces"][f.pk].uuid for f in flats[1:4]]
    zf.Space.objects.filter(uuid__in=gone).delete()
    zf.Space.objects.filter(uuid=data["remote_spaces"][flats[5].pk].uuid).update(name="By hand")
    zv.Device.objects.filter(
        reference__in=[f"portal-device-{d.pk}" for d in data["devices"][:2]]
    ).delete()


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self, call) -> None:
        self.calls += 1


def bare_listing(platform: str) -> tuple[int, float, int]:
    """(calls, seconds, objects) of the bare client listing everything in a loop."""
    from onboarding.sync.tokens import DatabaseTokenStore
    from providers import registry

    counter = Counter()
    client = registry.sync_module(platform).make_client(
        registry.connection(platform), token_store=DatabaseTokenStore(platform), on_call=counter
    )
    client.ensure_token()
    counter.calls = 0
    start = time.perf_counter()
    if platform == "zaehlerfreunde":
        spaces = list(client.list_spaces())
        objects = len(spaces)
        with_devices = set(_zf_spaces_with_devices())
        for space in spaces:
            if space["id"] in with_devices:
                objects += len(list(client.list_devices(space["id"])))
    else:
        objects = len(list(client.list_devices()))
    return counter.calls, time.perf_counter() - start, objects


def _zf_spaces_with_devices() -> list[str]:
    from providers.zaehlerfreunde.sandbox import models as zf

    return [str(u) for u in zf.SpaceDevice.objects.values_list("space__uuid", flat=True)]


def per_object(objects: int) -> tuple[float, float]:
    """(ms per call, extrapolated seconds) of one GET per zevvy device, on a sample."""
    from onboarding.sync.tokens import DatabaseTokenStore
    from providers import registry

    client = registry.sync_module("zevvy").make_client(
        registry.connection("zevvy"), token_store=DatabaseTokenStore("zevvy"), on_call=Counter()
    )
    client.ensure_token()
    ids = [d["id"] for d, _ in zip(client.list_devices(), range(PER_OBJECT_SAMPLE), strict=False)]
    start = time.perf_counter()
    for device_id in ids:
        client.get_device(device_id)
    ms = (time.perf_counter() - start) * 1000 / len(ids)
    return ms, ms * objects / 1000


def reconciled(platform: str):
    from onboarding.sync.reconcile import compare, record

    start = time.perf_counter()
    report = compare(platform)
    listed = time.perf_counter() - start
    record(report, started_by="bench")
    return report, listed, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--zf-devices", type=int, default=0)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="reconcile-bench-"))
    port = free_port()
    env = environment(tmp, port)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    sandboxes = Sandboxes(env, port, tmp)
    try:
        return run(args, sandboxes)
    finally:
        sandboxes.stop()


def run(args, sandboxes: Sandboxes) -> int:
    started = time.perf_counter()
    data = populate(args.units, args.zf_devices)
    connect_zevvy(sandboxes)
    drift_behind_its_back(data)
    print(
        f"{args.units} units in {len(data['remote_spaces']) - args.units} buildings on "
        f"Zählerfreunde, {len(data['devices'])} devices on zevvy, "
        f"{args.zf_devices} devices on Zählerfreunde; set up in "
        f"{time.perf_counter() - started:.1f} s; latency {args.latency_ms} ms a call"
    )
    sandboxes.latency(args.latency_ms)
    ok = True
    # Three units gone (with their Zählerfreunde devices, if they had one), one renamed;
    # two zevvy devices gone.
    zf_missing = 3 + sum(1 for i in (1, 2, 3) if i < args.zf_devices)
    expected = {"zaehlerfreunde": (zf_missing, 1), "zevvy": (2, 0)}
    print(f"{'platform':16}{'what':12}{'objects':>9}{'calls':>8}{'seconds':>10}")
    for platform in ("zaehlerfreunde", "zevvy"):
        calls, seconds, objects = bare_listing(platform)
        print(f"{platform:16}{'bare':12}{objects:>9}{calls:>8}{seconds:>10.2f}")
        report, listed, total = reconciled(platform)
        compared = len(report.same) + len(report.findings)
        print(
            f"{'':16}{'reconcile':12}{compared:>9}{len(report.calls):>8}{total:>10.2f}"
            f"   (listing and matching {listed:.2f} s, keeping {total - listed:.2f} s)"
        )
        ratio = total / seconds
        missing, different = len(report.of_kind("missing")), len(report.of_kind("different"))
        print(
            f"{'':16}found {missing} missing, {different} different; "
            f"reconcile / bare: {ratio:.2f}x time, {len(report.calls) / calls:.2f}x calls"
        )
        if (missing, different) != expected[platform] or report.error:
            print(f"  WRONG: expected {expected[platform]} ({report.error})")
            ok = False
        if len(report.calls) > calls or ratio > TIME_LIMIT:
            over = f"calls {len(report.calls)} > {calls} or {ratio:.2f}x > {TIME_LIMIT}x"
            print(f"  OVER TARGET: {over}")
            ok = False
    ms, extrapolated = per_object(len(data["devices"]))
    print(
        f"one call per object (zevvy GET /devices/{{id}}, {PER_OBJECT_SAMPLE} sampled): "
        f"{ms:.1f} ms a call, {extrapolated:.0f} s for {len(data['devices'])} devices"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
