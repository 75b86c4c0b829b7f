"""Production is never a sandbox by accident (issue 18, item 2).

`check --deploy` refuses a platform enabled without a base URL before start; started
anyway, such a platform's rows wait and nothing is sent anywhere, not to
SANDBOX_BASE_URL either. The README's production example passes `check --deploy` as it
stands (only its "…" placeholders filled).
"""

import os
import re
import shlex
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings

from onboarding.models import SyncRecord

from .conftest import ROOT, wait_until
from .factories import building

README = ROOT / "README.md"


def readme_production_env() -> dict[str, str]:
    """The variables the README's production example exports, placeholders filled."""
    text = README.read_text()
    block = text.split("## Production", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    exported: dict[str, str] = {}
    for statement in re.sub(r"\\\n", " ", block).splitlines():
        words = shlex.split(statement, comments=True)
        if words[:1] != ["export"]:
            continue
        for word in words[1:]:
            name, _, value = word.partition("=")
            exported[name] = value
    filled = {
        "SECRET_KEY": Fernet.generate_key().decode() * 2,
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    return {
        name: filled.get(name) or value.replace("…", "secret-part")
        for name, value in exported.items()
    }


def production_env(tmp_path, **extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_BASE_URL", "_CLIENT_ID", "_CLIENT_SECRET"))
        and not k.startswith("PYTEST")
    }
    for name in (
        "SERVE_SANDBOXES",
        "SANDBOX_CONTROL_TOKEN",
        "PROVIDERS",
        "DATABASE_URL",
        "REDIS_URL",
    ):
        env.pop(name, None)
    env.update(VAR_DIR=str(tmp_path), STATIC_ROOT=str(tmp_path / "static"), **extra)
    return env


def test_the_readmes_production_example_passes_check_deploy(tmp_path):
    example = readme_production_env()
    assert example["DEBUG"] == "false" and "PROVIDERS" in example  # it is the example
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_env(tmp_path, **example), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout


@pytest.mark.django_db(transaction=True)
@pytest.mark.platforms("zaehlerfreunde")
def test_production_without_base_url_sends_nothing_not_even_to_the_sandbox(
    settings, loopback, start_worker
):
    """A worker in production (DEBUG=false, SERVE_SANDBOXES unset) with Zählerfreunde
    enabled but no base URL, and a server listening at SANDBOX_BASE_URL: the row waits
    saying why, and the server receives nothing."""
    settings.SANDBOX_BASE_URL = loopback.url
    settings.SERVE_SANDBOXES = False
    settings.DEBUG = False
    worker = start_worker(
        DEBUG="false",
        SECRET_KEY=django_settings.SECRET_KEY,
        FIELD_ENCRYPTION_KEY=",".join(django_settings.FIELD_ENCRYPTION_KEYS),
        ALLOWED_HOSTS="portal.example.org",
        SANDBOX_BASE_URL=loopback.url,
        STATIC_ROOT=str(django_settings.VAR_DIR / "static-production"),
    )
    home = building()
    row = wait_until(
        lambda: SyncRecord.objects.filter(
            object_id=home.pk, provider="zaehlerfreunde", last_error__contains="BASE_URL"
        ).first(),
        timeout=60,
        message="the row to say it waits for its base URL",
    )
    assert row.state == SyncRecord.State.PENDING and row.attempts == 0
    assert "ZAEHLERFREUNDE_BASE_URL is not set" in row.last_error
    assert worker.process.poll() is None
    assert loopback.received == []  # not the token endpoint, not /spaces: nothing
