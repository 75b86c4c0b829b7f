"""Field encryption keys (issue 18, item 7): rotation re-encrypts everything with the
newest key, a bad key stops every process at start-up, a key that cannot decrypt a
stored secret is said in words (the Spark receiver used to answer 500 to everything)."""

import json
import subprocess
import sys
import uuid

import pytest
import requests
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from onboarding.models import ProviderConnection
from providers.spark.events.models import SparkEvent, WebhookSubscription
from providers.spark.events.signature import sign

from .conftest import ROOT
from .test_security_production import production_env

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_rotate_field_keys_re_encrypts_everything_with_the_newest_key(settings, capsys):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    token = ProviderConnection.objects.create(
        provider="zaehlerfreunde", access_token="tok-1", refresh_token="ref-1"
    )
    hook = WebhookSubscription.objects.create(url="https://portal.example.org/x", secret="whsec")
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    call_command("rotate_field_keys")
    out = capsys.readouterr().out
    assert "onboarding.ProviderConnection.access_token: 1 re-encrypted" in out
    assert "spark_events.WebhookSubscription.secret: 1 re-encrypted" in out
    newest = Fernet(NEW.encode())
    assert newest.decrypt(raw("onboarding_providerconnection", "access_token", token.pk).encode())
    assert newest.decrypt(raw("onboarding_providerconnection", "refresh_token", token.pk).encode())
    assert newest.decrypt(raw("spark_events_webhooksubscription", "secret", hook.pk).encode())
    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key can go
    assert ProviderConnection.objects.get().access_token == "tok-1"
    assert WebhookSubscription.objects.get().secret == "whsec"


@pytest.mark.django_db
def test_rotation_names_what_no_key_decrypts_and_rotates_the_rest(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    lost = ProviderConnection.objects.create(provider="spark", access_token="tok-lost")
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    kept = ProviderConnection.objects.create(provider="zaehlerfreunde", access_token="tok-kept")
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    with pytest.raises(CommandError, match="cannot be decrypted with FIELD_ENCRYPTION_KEY") as e:
        call_command("rotate_field_keys")
    assert f"onboarding.ProviderConnection.access_token #{lost.pk}" in str(e.value)
    stored = raw("onboarding_providerconnection", "access_token", kept.pk)
    assert Fernet(NEW.encode()).decrypt(stored.encode()) == b"tok-kept"


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("", "FIELD_ENCRYPTION_KEY is empty"),
        ("not-a-key", "key 1 of 1 is not a Fernet key"),
        (f"{NEW},short", "key 2 of 2 is not a Fernet key"),
    ],
    ids=["empty", "not a key", "second key short"],  # the same in every test process
)
def test_an_empty_or_malformed_key_stops_check_deploy_and_start_up(tmp_path, key, said):
    env = production_env(
        tmp_path, DEBUG="false", SECRET_KEY="k" * 60, ALLOWED_HOSTS="portal.example.org",
        FIELD_ENCRYPTION_KEY=key, PROVIDERS="",
    )  # fmt: skip
    for command in (
        ["manage.py", "check", "--deploy"],
        ["-c", "from portal.wsgi import application"],  # what gunicorn loads
        ["-m", "celery", "-A", "portal", "report"],  # what a worker and beat load
    ):
        done = subprocess.run(
            [sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert done.returncode != 0, command
        assert said in done.stderr, (command, done.stderr[-600:])
        assert NEW not in done.stderr  # a key is never written out


def event() -> bytes:
    body = {"notificationId": str(uuid.uuid4()), "notificationType": "T", "payload": {}}
    return json.dumps(body).encode()


@pytest.mark.django_db(transaction=True)
def test_a_secret_no_key_decrypts_is_said_not_a_500(settings, live_server):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    WebhookSubscription.objects.create(url="https://x.example.org/", secret="lost-secret")
    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key went too early
    WebhookSubscription.objects.create(url="https://y.example.org/", secret="current-secret")
    url = f"{live_server.url}/webhooks/spark/"

    body = event()
    ours = requests.post(url, data=body, headers={"Spark-Signature": sign("current-secret", body)})
    assert ours.status_code == 200 and SparkEvent.objects.count() == 1  # the others still work

    body = event()
    theirs = requests.post(url, data=body, headers={"Spark-Signature": sign("lost-secret", body)})
    assert theirs.status_code == 503
    assert "cannot be decrypted with FIELD_ENCRYPTION_KEY" in theirs.json()["detail"]
    assert SparkEvent.objects.count() == 1
