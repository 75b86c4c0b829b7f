"""How much of Climkit's 1 request/second the whole deployment gets, and never more.

    .venv/bin/python bench/climkit_budget.py [--seconds 30] [--budget sqlite|redis]

Serves the Climkit sandbox with gunicorn (one process, 8 threads, warmed up) on a free loopback
port, on its own SQLite database and VAR_DIR in a temp directory; the sandbox enforces
1 request/s itself and records when each request arrived. Then 1, 4 and 8 portal
processes (each `django.setup()` with the same settings, the client from
`providers.registry`: the database token store and the deployment's budget, SQLite
under VAR_DIR or, with --budget redis, REDIS_URL) call it as fast as their turns allow
for --seconds each, all starting at the same moment.

Baseline, in the same run: 4 processes each keeping 1/s by itself (what Celery's
per-worker `rate_limit` would do), for up to 10 s: the sandbox refuses most of them.

Per run, from the sandbox's own arrival log: calls admitted, 429s (must be 0), the
smallest gap between two calls (must be ≥ 1 s), and the rate achieved in steady state,
(calls - 1) / (last arrival - first arrival), against the budget of 1/s: the ratio must
be at least 0.95 and never above 1.0.
"""

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTROL_TOKEN = base64.urlsafe_b64encode(os.urandom(24)).decode()
SANDBOX = "/sandbox/climkit"
TARGET = 0.95


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- one caller process ---------------------------------------------------------------


def caller(seconds: float, local: bool) -> None:
    """A portal process: waits for the start time on stdin, then calls until the end.
    `local`: the baseline, each process keeping 1/s on its own (as Celery's rate_limit)."""
    import django

    django.setup()
    from providers import registry
    from providers.errors import ProviderError
    from providers.ratelimit import BudgetSpec, shared_budget

    client = registry.client("climkit")
    if local:
        client.acquire = shared_budget(BudgetSpec("climkit")).acquire  # this process only
    print("ready", flush=True)
    start = float(sys.stdin.readline())
    time.sleep(max(0.0, start - time.time()))
    outcomes: dict[str, int] = {}
    site = None
    while time.time() < start + seconds:
        try:
            # A mix of reads, as a catalogue refresh or a readings pull makes them.
            if site is None:
                site = client.all_installations()[0]
            else:
                client.meter_info(site)
            key = "ok"
        except ProviderError as exc:
            key = f"{type(exc).__name__} {exc.status}"
        outcomes[key] = outcomes.get(key, 0) + 1
    print(json.dumps(outcomes), flush=True)


# --- the bench ------------------------------------------------------------------------


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="climkit-bench-"))
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server: subprocess.Popen | None = None
        self.env = self._environment()

    def _environment(self) -> dict:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CELERY_", "SANDBOX_", "CLIMKIT_", "PYTEST", "DATABASE_URL"))
        }
        (self.tmp / "static").mkdir()
        env.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            VAR_DIR=str(self.tmp / "var"),
            DATABASE_URL=f"sqlite:///{self.tmp / 'bench.sqlite3'}",
            SANDBOX_BASE_URL=self.base,
            SANDBOX_LATENCY_MS="0",
            DEBUG="false",
            SERVE_SANDBOXES="true",  # a production-like process serving a sandbox on purpose
            SANDBOX_CONTROL_TOKEN=CONTROL_TOKEN,
            PROVIDERS="climkit",
            SECRET_KEY=base64.urlsafe_b64encode(os.urandom(48)).decode(),
            FIELD_ENCRYPTION_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="false",
            STATIC_ROOT=str(self.tmp / "static"),
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
        )
        if self.args.budget == "redis":
            if not os.environ.get("REDIS_URL"):
                raise SystemExit("--budget redis needs REDIS_URL")
            env["REDIS_URL"] = os.environ["REDIS_URL"]
        else:
            env.pop("REDIS_URL", None)
        return env

    def start(self) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT, env=self.env, check=True,
        )  # fmt: skip
        log = open(self.tmp / "gunicorn.log", "ab")  # noqa: SIM115 (closed with the process)
        self.server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi", "-w", "1", "-k", "gthread",
             "--threads", "8", "-b", f"127.0.0.1:{self.port}", "--log-level", "warning"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if self.control("GET", "state").status_code == 200:
                    # Warm: the first request of a server process imports the URLconf and
                    # views, which would delay that request's arrival stamp (a cold start
                    # of our sandbox, not something the limiter can know of).
                    self.control("GET", "state")
                    return
            time.sleep(0.2)
        raise SystemExit("sandbox did not start:\n" + (self.tmp / "gunicorn.log").read_text())

    def control(self, method: str, what: str, **kwargs):
        import requests

        return requests.request(
            method,
            f"{self.base}{SANDBOX}/_sandbox/{what}",
            headers={"X-Sandbox-Token": CONTROL_TOKEN},
            timeout=10,
            **kwargs,
        )

    def run(self, processes: int, *, local: bool = False) -> dict:
        seconds = self.args.seconds if not local else min(self.args.seconds, 10.0)
        extra = ["--local"] if local else []
        callers = [
            subprocess.Popen(
                [sys.executable, __file__, "--caller", "--seconds", str(seconds), *extra],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )  # fmt: skip
            for _ in range(processes)
        ]
        for process in callers:
            if process.stdout.readline().strip() != "ready":
                raise SystemExit("a caller did not start")
        start = time.time() + 0.5
        for process in callers:
            process.stdin.write(f"{start}\n")
            process.stdin.flush()
        outcomes: dict[str, int] = {}
        for process in callers:
            for key, count in json.loads(process.stdout.readline()).items():
                outcomes[key] = outcomes.get(key, 0) + count
            process.wait(30)
        arrivals = [
            a
            for a in self.control("GET", "state").json()["rate_limit"]["arrivals"]
            if start <= a["at"] <= start + seconds + 1
        ]
        admitted = sorted(a["at"] for a in arrivals if a["admitted"])
        for refused in (a for a in arrivals if not a["admitted"] and not local):
            before = max((t for t in admitted if t <= refused["at"]), default=None)
            after = min((t for t in admitted if t > refused["at"]), default=None)
            since = "-" if before is None else f"{refused['at'] - before:.3f}"
            until = "-" if after is None else f"{after - refused['at']:.3f}"
            print(f"  429 for {refused['endpoint']}: {since} s after the previous admitted "
                  f"call, {until} s before the next")  # fmt: skip
        gaps = [b - a for a, b in zip(admitted, admitted[1:], strict=False)]
        span = admitted[-1] - admitted[0] if len(admitted) > 1 else 0.0
        rate = (len(admitted) - 1) / span if span else 0.0
        return {
            "label": f"{processes}" + (" (baseline: a 1/s limiter per process)" if local else ""),
            "baseline": local,
            "processes": processes,
            "admitted": len(admitted),
            "refused": sum(1 for a in arrivals if not a["admitted"]),
            "min_gap": min(gaps) if gaps else float("nan"),
            "rate": rate,
            "outcomes": outcomes,
        }

    def close(self) -> None:
        if self.server and self.server.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.server.pid, signal.SIGTERM)
            self.server.wait(20)
        shutil.rmtree(self.tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each run")
    parser.add_argument("--budget", choices=("sqlite", "redis"), default="sqlite")
    parser.add_argument("--processes", default="1,4,8", help="comma-separated process counts")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline run")
    parser.add_argument("--caller", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--local", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.caller:
        caller(args.seconds, args.local)
        return 0

    bench = Bench(args)
    try:
        bench.start()
        margin = os.environ.get("CLIMKIT_RATE_MARGIN_MS", "30 (default)")
        print(f"Climkit budget: 1 request/s for the deployment; budget in {args.budget}, "
              f"margin {margin} ms; sandbox {bench.base} (gunicorn 1x8, warmed), "
              f"{args.seconds:g} s per run")  # fmt: skip
        results = [bench.run(int(n)) for n in args.processes.split(",")]
        if not args.no_baseline:
            results.append(bench.run(4, local=True))
    finally:
        bench.close()

    ok = True
    print(f"{'processes':>9} {'calls':>6} {'429s':>5} {'min gap s':>10} {'calls/s':>8} "
          f"{'ratio':>6}  caller outcomes")  # fmt: skip
    for r in results:
        ratio = r["rate"] / 1.0
        good = r["refused"] == 0 and r["min_gap"] >= 1.0 and TARGET <= ratio <= 1.0
        verdict = ""
        if r["baseline"]:
            verdict = "  (what the shared budget prevents)"
        else:
            ok &= good
            verdict = "" if good else "  <-- FAIL"
        print(f"{r['processes']:>9} {r['admitted']:>6} {r['refused']:>5} {r['min_gap']:>10.3f} "
              f"{r['rate']:>8.3f} {ratio:>6.3f}  {r['outcomes']}{verdict}")  # fmt: skip
        if r["baseline"]:
            print(f"{'':>9} ^ {r['label']}")
    ratios = ", ".join(f"{r['processes']}: {r['rate']:.3f}" for r in results if not r["baseline"])
    print(f"ratios against the 1/s budget (target ≥ {TARGET}, never above 1.0): {ratios}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
