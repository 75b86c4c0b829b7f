"""The operator's view: /healthz, /readyz, /metrics and JSON logs, over real HTTP, a real
database and, where counters must move, a real Celery worker pushing to the sandbox."""

import json
import re
import subprocess
import sys
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from onboarding import services
from onboarding.models import ProviderConnection, SyncRecord
from onboarding.operations import heartbeats
from onboarding.operations.models import Heartbeat
from onboarding.sync import tasks

from .conftest import ROOT, wait_until
from .factories import building

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.platforms("zaehlerfreunde")]
State = SyncRecord.State


@pytest.fixture(autouse=True)
def fresh_heartbeats():
    heartbeats.forget_throttle()  # the database is new for each test; so is the throttle
    yield
    heartbeats.forget_throttle()


def readyz(live_server, query: str = "") -> tuple[int, dict]:
    response = requests.get(f"{live_server.url}/readyz{query}", timeout=20)
    return response.status_code, response.json()


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of a Prometheus text scrape."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(scrape: dict, name: str, **labels) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


def total(scrape: dict, name: str, **labels) -> float:
    """Sum of every sample of `name` whose labels include `labels`."""
    return sum(
        v for (n, have), v in scrape.items() if n == name and set(labels.items()) <= set(have)
    )


# --- /healthz and /readyz -----------------------------------------------------------------


def test_healthz_answers_while_the_process_lives(live_server):
    response = requests.get(f"{live_server.url}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_when_database_broker_beat_and_platform_answer(portal, live_server):
    tasks.sweep()  # what beat does every minute: it notes its sweep
    status, body = readyz(live_server)
    assert status == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "broker", "beat", "platforms"}
    assert body["checks"]["platforms"]["zaehlerfreunde"] == {
        "ok": True,
        "detail": "no successful call yet",
    }


def test_readyz_says_503_with_the_reason_when_the_broker_is_down(portal, live_server, settings):
    tasks.sweep()
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on :1
    status, body = readyz(live_server)
    assert status == 503
    assert body["status"] == "not ready"
    broker = body["checks"]["broker"]
    assert broker["ok"] is False and "broker unreachable at 127.0.0.1:1/0" in broker["detail"]
    assert body["checks"]["database"]["ok"] is True
    # Asked only about the database, the same process is ready.
    assert readyz(live_server, "?checks=database")[0] == 200


def test_readyz_says_503_with_the_reason_when_the_database_is_down(portal, worker_env):
    # A web process whose database cannot be reached (PostgreSQL: nothing on port 1;
    # SQLite: a file in a folder that does not exist).
    if connection.vendor == "postgresql":
        unreachable = "postgres://postgres@127.0.0.1:1/portal"
    else:
        unreachable = "sqlite:////nonexistent-folder/portal.sqlite3"
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client(HTTP_HOST='127.0.0.1').get('/readyz');"
        "print(r.status_code); print(r.content.decode())"
    )
    env = {**worker_env, "DATABASE_URL": unreachable}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    status, body = done.stdout.strip().split("\n", 1)
    body = json.loads(body)
    assert status == "503"
    assert body["checks"]["database"]["ok"] is False
    assert "database unreachable" in body["checks"]["database"]["detail"]
    assert body["checks"]["beat"] == {
        "ok": False,
        "detail": "not checked: the database is unreachable",
    }


def test_readyz_says_503_when_beat_has_not_swept_for_three_intervals(portal, live_server):
    status, body = readyz(live_server)
    assert status == 503
    assert "beat has not swept the outbox yet" in body["checks"]["beat"]["detail"]

    Heartbeat.objects.create(name=heartbeats.SWEEP, at=timezone.now() - timedelta(minutes=10))
    status, body = readyz(live_server)
    assert status == 503
    # 600 s, and a second more when the answer took that long on a loaded machine.
    assert re.search(r"beat's last sweep was 60[01] s ago \(limit 180 s\)",
                     body["checks"]["beat"]["detail"])  # fmt: skip

    tasks.sweep()
    assert readyz(live_server)[0] == 200


def test_readyz_says_503_for_a_disconnected_platform(portal, live_server):
    tasks.sweep()
    ProviderConnection.objects.create(
        provider="zaehlerfreunde",
        status=ProviderConnection.Status.DISCONNECTED,
        status_message="Zählerfreunde refused our credentials.",
    )
    status, body = readyz(live_server)
    assert status == 503
    assert body["checks"]["platforms"]["zaehlerfreunde"] == {
        "ok": False,
        "detail": "disconnected: Zählerfreunde refused our credentials.",
    }


def test_readyz_says_503_while_every_call_to_a_platform_fails(sandbox, live_server, settings):
    # Down as soon as a failure follows the last good answer (production waits 15 min).
    settings.READYZ_PLATFORM_FAILING_SECONDS = 0
    tasks.sweep()
    sandbox.fault("error", count=50, status=503, path="/spaces")
    building("Failing block")
    call_command("sync_pending")  # pushes in this process: the token, then a 503
    status, body = readyz(live_server)
    assert status == 503
    detail = body["checks"]["platforms"]["zaehlerfreunde"]["detail"]
    assert detail.startswith("failing: POST /spaces: 503 HTTP 503 Service Unavailable at ")
    assert "; last successful call " in detail  # the token call before it

    sandbox.clear_faults()
    SyncRecord.objects.update(not_before=timezone.now())
    call_command("sync_pending")
    status, body = readyz(live_server)
    assert status == 200, body
    assert body["checks"]["platforms"]["zaehlerfreunde"]["detail"].startswith(
        "last successful call "
    )


# --- /metrics -----------------------------------------------------------------------------


def test_metrics_are_only_for_the_token_or_the_allowed_networks(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 403

    settings.METRICS_TOKEN = "scrape-me"
    bearer = {"HTTP_AUTHORIZATION": "Bearer scrape-me"}
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7", **bearer).status_code == 200
    wrong = {"HTTP_AUTHORIZATION": "Bearer scrape-you"}
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7", **wrong).status_code == 403


def test_a_scrape_after_a_push_by_a_worker_shows_the_counters_moving(
    sandbox, live_server, start_worker, settings, tmp_path
):
    # The worker counts into files (multiprocess mode); the web process adds them up.
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    settings.PROMETHEUS_MULTIPROC_DIR = str(metrics_dir)
    start_worker(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))

    def scrape() -> dict:
        response = requests.get(f"{live_server.url}/metrics", timeout=20)
        assert response.status_code == 200
        return samples(response.text)

    pushes = {"platform": "zaehlerfreunde"}
    before = scrape()
    assert value(before, "portal_sync_pushes_total", **pushes, outcome="synced") == 0

    home = building("Counted block")
    row = home.sync_records.get(provider="zaehlerfreunde")
    wait_until(lambda: SyncRecord.objects.get(pk=row.pk).state == State.SYNCED)
    after = scrape()
    assert value(after, "portal_sync_pushes_total", **pushes, outcome="synced") == 1
    creates = total(after, "portal_platform_requests_total", **pushes, method="POST")
    answered = sandbox.state()["requests"]
    assert creates >= answered["POST /spaces"] == 1  # the token call is a POST too
    assert total(after, "portal_platform_request_duration_seconds_count", **pushes) == total(
        after, "portal_platform_requests_total", **pushes
    )
    assert value(after, "portal_outbox_rows", platform="zaehlerfreunde", state="synced") == 1
    assert value(after, "portal_outbox_oldest_due_seconds", platform="zaehlerfreunde") == 0

    # A platform in trouble: its 500 is counted, and so is the retry it causes.
    sandbox.fault("error", count=1, status=500)
    home.name = "Counted block (renamed)"
    services.save(home)
    wait_until(
        lambda: value(scrape(), "portal_sync_pushes_total", **pushes, outcome="synced") == 2,
        timeout=30,
        message="the retry synced",
    )
    final = scrape()
    assert total(final, "portal_platform_requests_total", **pushes, status="500") == 1
    assert value(final, "portal_sync_pushes_total", **pushes, outcome="pending") == 1


def test_outbox_gauges_show_the_oldest_due_row(client, portal, settings):
    home = building("Waiting block")  # no worker: its row stays due
    row = home.sync_records.get(provider="zaehlerfreunde")
    SyncRecord.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    scrape = samples(client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode())
    assert value(scrape, "portal_outbox_rows", platform="zaehlerfreunde", state="pending") == 1
    oldest = value(scrape, "portal_outbox_oldest_due_seconds", platform="zaehlerfreunde")
    # Due since it was created (not ten minutes earlier, as its not_before says).
    assert 300 <= oldest < 400


def test_reconcile_drift_counts_what_nobody_settled_yet(client, portal):
    from onboarding.sync.reconcile.models import Drift

    now = timezone.now()
    seen = {"first_seen_at": now, "last_seen_at": now, "provider": "zaehlerfreunde"}
    Drift.objects.create(kind=Drift.Kind.MISSING, object_repr="Flat 1", **seen)
    Drift.objects.create(kind=Drift.Kind.MISSING, object_repr="Flat 2", **seen)
    Drift.objects.create(kind=Drift.Kind.EXTRA, remote_id="x", resolved_at=now, **seen)
    Drift.objects.create(kind=Drift.Kind.EXTRA, remote_id="y", fix=Drift.Fix.LEAVE, **seen)
    scrape = samples(client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode())
    drift = {"platform": "zaehlerfreunde"}
    assert value(scrape, "portal_reconcile_drift", **drift, kind="missing") == 2
    assert value(scrape, "portal_reconcile_drift", **drift, kind="extra") == 0  # settled
    assert ("portal_reconcile_drift", (("kind", "extra"), ("platform", "zaehlerfreunde"))) in scrape


# --- logs ---------------------------------------------------------------------------------


def _request_in_subprocess(worker_env, **env) -> str:
    script = (
        "import django; django.setup();"
        "from django.test import Client;"
        "Client(HTTP_HOST='127.0.0.1').get('/no-such-page/', HTTP_X_REQUEST_ID='req-42')"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env={**worker_env, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_log_format_json_writes_one_object_a_line_with_the_request_id(worker_env):
    lines = _request_in_subprocess(worker_env, LOG_FORMAT="json").strip().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    (not_found,) = [r for r in records if r["message"] == "Not Found: /no-such-page/"]
    assert not_found["request_id"] == "req-42"
    assert not_found["level"] == "WARNING" and not_found["logger"] == "django.request"
    assert "request" not in not_found  # the id, not the request object


def test_plain_log_lines_stay_the_default(worker_env):
    worker_env.pop("LOG_FORMAT", None)
    err = _request_in_subprocess(worker_env)
    assert " WARNING django.request: Not Found: /no-such-page/" in err
    assert "{" not in err


def test_a_workers_json_lines_name_the_outbox_row_and_platform(sandbox, start_worker):
    worker = start_worker(LOG_FORMAT="json")
    sandbox.fault("error", count=1, status=500)
    home = building("Logged block")
    row = home.sync_records.get(provider="zaehlerfreunde")
    wait_until(lambda: SyncRecord.objects.get(pk=row.pk).state == State.SYNCED, timeout=30)

    def retry_line():
        for line in worker.log:
            if line.startswith("{") and "not synced" in line:
                return json.loads(line)
        return None

    record = wait_until(retry_line, message="the worker logged the retry")
    assert record["outbox_row"] == row.pk and record["platform"] == "zaehlerfreunde"
    assert record["message"].startswith("not synced, pending: Attempt 1 failed, retrying")


def test_the_web_process_freezes_what_it_loaded_out_of_the_collectors_sight(worker_env):
    """A gunicorn worker's full garbage collections walked every object Django and the
    views left loaded: 60-210 ms pauses, the webhook's p99 tail (portal/wsgi.py)."""
    script = (
        "import gc, sys; from portal.wsgi import application;"
        "print(gc.get_freeze_count(), 'onboarding.views' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=worker_env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    frozen, views_loaded = done.stdout.split()
    assert views_loaded == "True"  # the URLconf and its views were loaded before freezing
    assert int(frozen) > 10_000, frozen  # Django, the apps and the views (about 100,000)
