"""How many rows a fault run leaves to a person, on Zählerfreunde, Volue Spark and zevvy.

    .venv/bin/python bench/needs_a_person.py [--units 100] [--faults 10] [--runs 1]
        [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--redis redis://127.0.0.1:6379/14]

A portfolio of --units units (bench/portfolio.py's CSV: a device, a tenant with an invite
and a Spark user each, every other invite e-mailed by Zählerfreunde itself), imported
and pushed by a `celery worker --concurrency 4` while each sandbox misbehaves on its
create paths: per platform --faults answers lost after the create (the work is done,
the answer comes after the portal's timeout), --faults 502s and --faults maintenance
pages (HTTP 200, HTML). Waits until no row is pending or in flight, then prints, per
platform and kind, the rows that need a person (needs attention), and checks that each
sandbox holds each object once (an invite may be held twice: a second link for an
invite Zählerfreunde did not e-mail reaches nobody).

Run it on two commits to compare them: the counts are what staff would be asked.
"""

import argparse
import os
import signal
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.portfolio import (  # noqa: E402 (after the path)
    Portfolio,
    Sandboxes,
    bench_args_for_sync_bench,
    connect_zevvy,
    import_portfolio,
    wipe_portal,
    write_csv,
)

CREATE_PATHS = {
    "zaehlerfreunde": "/invites",
    "spark": "/energy-coordination/v1/users",
    "zevvy": "/api/devices",
}
SETTLE_SECONDS = 600.0


class FaultRun(Portfolio):
    def _environment(self) -> dict:
        env = super()._environment()
        env.update(
            # Short waits, so a run settles in a minute: retries back off briefly, a lost
            # answer is given up after two seconds.
            SYNC_BACKOFF_BASE_SECONDS="0.2",
            SYNC_BACKOFF_CAP_SECONDS="2",
            SYNC_MAX_ATTEMPTS="8",
            PROVIDER_TIMEOUT_SECONDS="2",
            SPARK_API="current",
        )
        return env


def mixed_invites(path: Path) -> None:
    """Every other invite e-mailed by Zählerfreunde itself ("yes"), the others by us."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for i, line in enumerate(lines[1:]):
        cells = line.split(",")
        cells[9] = "yes" if i % 2 == 0 else "no"
        out.append(",".join(cells))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def inject(sandboxes: Sandboxes, n: int) -> None:
    for platform, path in CREATE_PATHS.items():
        for fault in (
            {"mode": "timeout", "delay": 3},  # created, then the answer comes too late
            {"mode": "error", "status": 502},
            {"mode": "maintenance"},
        ):
            sandboxes.control(platform, "faults", json={**fault, "count": n, "path": path})


def settle() -> dict:
    from django.db.models import Count

    from onboarding.models import SyncRecord

    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        busy = SyncRecord.objects.filter(state__in=["pending", "in_flight"]).count()
        if not busy:
            break
        time.sleep(0.5)
    else:
        raise RuntimeError(f"{busy} rows still pending or in flight")
    rows = (
        SyncRecord.objects.values_list("provider", "content_type__model", "state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(p, m, s): n for p, m, s, n in rows}


def one_run(bench: FaultRun, sandboxes: Sandboxes, csv_path: Path) -> dict:
    wipe_portal()
    bench._flush_redis()
    sandboxes.reset()
    connect_zevvy()
    worker = bench.start_worker(4)
    try:
        inject(sandboxes, bench.args.faults)
        import_portfolio(csv_path, bench.args.units)
        states = settle()
    finally:
        bench.stop(worker)
    counts = sandboxes.counts()
    units = bench.args.units
    held = {
        "Zählerfreunde devices": (counts["zaehlerfreunde"].get("devices"), units),
        "Spark users": (counts["spark"].get("users"), units),
        "zevvy devices": (counts["zevvy"].get("devices"), units),
    }
    return {"states": states, "held": held, "invites": counts["zaehlerfreunde"].get("invites")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--units-per-building", type=int, default=10)
    parser.add_argument("--faults", type=int, default=10, help="of each kind, per platform")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="flushed")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    bench = FaultRun(bench_args_for_sync_bench(args))
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
        mixed_invites(csv_path)
        print(
            f"{datetime.now():%Y-%m-%d %H:%M} load {os.getloadavg()[0]:.2f}; {args.units} units, "
            f"per platform {args.faults} lost answers, {args.faults} 502s and {args.faults} "
            "maintenance pages on its create path",
            flush=True,
        )
        for run in range(1, args.runs + 1):
            result = one_run(bench, sandboxes, csv_path)
            people = Counter()
            for (platform, model, state), n in result["states"].items():
                if state in ("needs_attention", "failed"):
                    people[f"{platform} {model} ({state})"] += n
            total = sum(people.values())
            print(f"\nrun {run}: {total} rows need a person")
            for what, n in sorted(people.items()):
                print(f"  {what}: {n}")
            for what, (n, want) in result["held"].items():
                print(f"  {what} held: {n} (objects: {want}){'' if n == want else '  <- WRONG'}")
            print(f"  Zählerfreunde invites held: {result['invites']} (invites: {args.units})")
    finally:
        bench.close()


if __name__ == "__main__":
    main()
