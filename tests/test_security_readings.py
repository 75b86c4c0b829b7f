"""The smart-me webhook's secret stays out of the logs, and its unmatched readings are
bounded (issue 18, item 6)."""

import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.utils import timezone

from onboarding.catalogue.models import CatalogueEntry
from onboarding.readings import tasks
from onboarding.readings.models import UnmatchedReading
from providers.smartme import realtime
from providers.smartme.realtime import DeviceData

from .conftest import ROOT, wait_until

SECRET = "s3cret-webhook-path-4711"
WHEN = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
VALUES = (("1-0:1.8.0*255", 1.0), ("1-0:2.8.0*255", 2.0), ("1-0:1.7.0*255", 3.0))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_runserver_and_djangos_request_log_never_write_the_secret(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        SMARTME_WEBHOOK_SECRET=SECRET, VAR_DIR=str(tmp_path), PYTHONUNBUFFERED="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )  # fmt: skip
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}/webhooks/smartme"
        wait_until(lambda: _answers(base), timeout=60, message="runserver to answer")
        assert (
            requests.post(f"{base}/{SECRET}/", data=b"\xff garbage", timeout=10).status_code == 400
        )
        assert requests.get(f"{base}/{SECRET}/", timeout=10).status_code == 405
        assert requests.post(f"{base}/a-wrong-guess/", data=b"", timeout=10).status_code == 404
        time.sleep(0.5)  # the access log line is written after the answer
    finally:
        server.terminate()
        server.wait(20)
    written = log.read_text()
    assert "/webhooks/smartme/***/" in written  # the lines are there ...
    assert "Bad Request" in written and '" 400' in written
    assert SECRET not in written and "a-wrong-guess" not in written  # ... without the path


def _answers(base: str) -> bool:
    try:
        requests.get(base + "/x/", timeout=2)
    except requests.ConnectionError:
        return False
    return True


@pytest.fixture
def webhook(settings, live_server):
    settings.SMARTME_WEBHOOK_SECRET = SECRET

    def post(*devices: str) -> dict:
        body = realtime.encode([DeviceData(d, WHEN, VALUES) for d in devices])
        response = requests.post(
            f"{live_server.url}/webhooks/smartme/{SECRET}/", data=body, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()

    return post


def in_catalogue(remote_id: str) -> None:
    now = timezone.now()
    CatalogueEntry.objects.create(
        platform="smartme", kind="device", remote_id=remote_id, name=remote_id[:8],
        first_seen=now, last_seen=now,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_readings_of_made_up_devices_are_counted_and_dropped(webhook):
    known, made_up = str(uuid.uuid4()), [str(uuid.uuid4()) for _ in range(50)]
    in_catalogue(known)
    answer = webhook(known, *made_up)
    assert answer == {"devices": 51, "readings": 0, "unmatched": 3, "dropped": 150}
    assert set(UnmatchedReading.objects.values_list("remote_id", flat=True)) == {known}


@pytest.mark.django_db(transaction=True)
def test_unmatched_readings_are_capped(webhook, settings):
    settings.READINGS_UNMATCHED_MAX_ROWS = 4
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    in_catalogue(first)
    in_catalogue(second)
    assert webhook(first)["unmatched"] == 3
    assert webhook(second) == {"devices": 1, "readings": 0, "unmatched": 1, "dropped": 2}
    assert UnmatchedReading.objects.count() == 4


@pytest.mark.django_db
def test_unmatched_readings_wait_no_longer_than_the_retention(settings):
    settings.READINGS_UNMATCHED_RETENTION_DAYS = 30
    now = timezone.now()
    for age in (31, 29):
        UnmatchedReading.objects.create(
            source="smartme", remote_id=f"d{age}", obis="1-0:1.8.0*255", timestamp=now,
            value=1.0, received_at=now - timedelta(days=age),
        )  # fmt: skip
    assert tasks.prune_unmatched() == 1
    assert list(UnmatchedReading.objects.values_list("remote_id", flat=True)) == ["d29"]
    assert settings.CELERY_BEAT_SCHEDULE["prune-unmatched-readings"]["task"] == (
        "readings.tasks.prune_unmatched"
    )
