"""Sandboxes served on purpose in production are no door in (issue 18, item 3): the
public default credentials are refused (configured ones work), and the Spark sandbox
delivers webhooks only to public http(s) targets or this portal's own receiver."""

import subprocess
import sys

import pytest
import requests

from providers.spark.sandbox.models import Delivery, Webhook

from .conftest import ROOT
from .test_security_production import production_env

API = "/sandbox/spark/energy-coordination/v1"
TOKEN = "/sandbox/spark/identity/connect/token"

# In a production process: migrate, then ask the Zählerfreunde and Spark sandboxes for a
# token with the credentials the environment gives; print each answer's status.
ASK_FOR_TOKENS = """
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.conf import settings
from django.test import Client
client = Client()
zf = client.post("/sandbox/zaehlerfreunde/partner/auth/token", {"clientId": ID,
    "clientSecret": SECRET}, content_type="application/json", secure=True)
from urllib.parse import urlencode
spark = client.post("/sandbox/spark/identity/connect/token", urlencode({"grant_type":
    "client_credentials", "client_id": ID, "client_secret": SECRET}),
    content_type="application/x-www-form-urlencoded", secure=True)
print(zf.status_code, spark.status_code, settings.SANDBOX_CREDENTIALS_REFUSED)
"""


def ask_for_tokens(tmp_path, client_id, secret, **env) -> str:
    code = f"ID, SECRET = {client_id!r}, {secret!r}\n" + ASK_FOR_TOKENS
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
        env=production_env(
            tmp_path, DEBUG="false", SECRET_KEY="k" * 60, ALLOWED_HOSTS="testserver",
            FIELD_ENCRYPTION_KEY="V47sIvEQTQ6RVLqHDzyqw7Uz8n5_N8csjbRSAreYO0A=",
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", SERVE_SANDBOXES="true", **env,
        ),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_production_sandboxes_refuse_the_public_default_credentials(tmp_path):
    refused = ask_for_tokens(tmp_path, "portal-sandbox", "sandbox-secret")
    zaehlerfreunde, spark, names = refused.split(" ", 2)
    assert zaehlerfreunde == "401" and spark == "400"  # no token (Spark: invalid_client)
    assert "SANDBOX_CLIENT_SECRET" in names
    configured = ask_for_tokens(
        tmp_path,
        "training-client",
        "a-secret-of-our-own",
        SANDBOX_CLIENT_ID="training-client",
        SANDBOX_CLIENT_SECRET="a-secret-of-our-own",
        SANDBOX_SMARTME_API_KEY="our-api-key",
    )
    assert configured == "200 200 []"


def test_check_deploy_asks_for_sandbox_credentials_of_our_own(tmp_path):
    env = production_env(
        tmp_path, DEBUG="false", SECRET_KEY="k" * 60, ALLOWED_HOSTS="portal.example.org",
        FIELD_ENCRYPTION_KEY="V47sIvEQTQ6RVLqHDzyqw7Uz8n5_N8csjbRSAreYO0A=",
        SERVE_SANDBOXES="true",
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "providers.E002" in done.stderr and "SANDBOX_CLIENT_SECRET" in done.stderr


@pytest.fixture
def api(spark, live_server, settings):
    settings.SANDBOX_WEBHOOK_PRIVATE_TARGETS = False  # as in production
    answer = requests.post(
        live_server.url + TOKEN,
        data={"grant_type": "client_credentials", "client_id": settings.SANDBOX_CLIENT_ID,
              "client_secret": settings.SANDBOX_CLIENT_SECRET},
        timeout=10,
    )  # fmt: skip
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    session.base = live_server.url + API
    return session


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "target", ["http://127.0.0.1:{port}/hook", "http://10.0.0.1/x", "http://[::1]:{port}/"]
)
def test_no_webhook_to_loopback_or_private_addresses(api, loopback, target):
    url = target.format(port=loopback.url.rsplit(":", 1)[1])
    refused = api.post(api.base + "/webhooks", json={"webhookUrl": url, "name": "scan"}, timeout=10)
    assert refused.status_code == 400
    assert "not a public address" in refused.text
    assert not Webhook.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_stored_private_subscription_is_not_delivered_to(api, loopback):
    # Subscribed before the rule (or while the name resolved elsewhere).
    hook = Webhook.objects.create(url=loopback.url + "/hook", name="old", secret="")
    test = api.post(f"{api.base}/webhooks/{hook.webhook_id}/test", timeout=30)
    assert test.status_code == 200 and test.json()["delivered"] is False
    assert loopback.received == []  # not even one request: no status code to read
    assert "not delivered" in Delivery.objects.get().error


@pytest.mark.django_db(transaction=True)
def test_the_portals_own_receiver_is_allowed(api, live_server):
    own = live_server.url + "/webhooks/spark/"
    created = api.post(api.base + "/webhooks", json={"webhookUrl": own, "name": "us"}, timeout=10)
    assert created.status_code == 201, created.text
