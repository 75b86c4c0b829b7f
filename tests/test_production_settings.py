"""Production configuration: no sandbox by accident, `check --deploy` names what is wrong.

Each case runs manage.py in a fresh process with production variables, as an operator would.
"""

import base64
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL_URLS = {
    f"{name.upper()}_BASE_URL": f"https://{name}.example.org/api"
    for name in ("zaehlerfreunde", "smartme", "climkit", "spark", "zevvy")
}


def production_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
    for name in ("SERVE_SANDBOXES", "SANDBOX_CONTROL_TOKEN", "PROVIDERS", "DATABASE_URL"):
        env.pop(name, None)
    env.update(
        DEBUG="false",
        SECRET_KEY=base64.urlsafe_b64encode(os.urandom(48)).decode(),
        FIELD_ENCRYPTION_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        ALLOWED_HOSTS="portal.example.org",
        VAR_DIR=str(tmp_path),
        STATIC_ROOT=str(tmp_path / "static"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    env.update(extra)
    return env


def manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def sandbox_routes(env) -> str:
    code = (
        "import django; django.setup(); from django.urls import resolve, Resolver404\n"
        "try:\n    resolve('/sandbox/zaehlerfreunde/partner/auth/token'); print('served')\n"
        "except Resolver404:\n    print('not served')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return done.stdout.strip() or done.stderr


def test_deploy_check_names_every_platform_left_on_a_sandbox(tmp_path):
    env = production_env(tmp_path, ZAEHLERFREUNDE_BASE_URL="https://zf.example.org/partner")
    done = manage(env, "check", "--deploy", "--fail-level", "ERROR")
    assert done.returncode != 0
    assert "providers.E001" in done.stderr
    assert "SPARK_BASE_URL is not set" in done.stderr
    assert "ZAEHLERFREUNDE_BASE_URL is not set" not in done.stderr


def test_deploy_check_is_clean_with_every_platform_pointed_at_its_partner(tmp_path):
    done = manage(production_env(tmp_path, **REAL_URLS), "check", "--deploy")
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout


def test_production_serves_no_sandbox_unless_told_so(tmp_path):
    # Even with platforms left without a base URL: the sandbox stays unrouted.
    assert sandbox_routes(production_env(tmp_path)) == "not served"
    on_purpose = production_env(tmp_path, SERVE_SANDBOXES="true")
    assert sandbox_routes(on_purpose) == "served"


def test_check_providers_refuses_a_platform_without_base_url_in_production(tmp_path):
    env = production_env(tmp_path, PROVIDERS="zaehlerfreunde")
    assert manage(env, "migrate", "--noinput").returncode == 0
    done = manage(env, "check_providers")
    assert done.returncode == 1
    assert "Zählerfreunde: FAILED: Zählerfreunde is enabled but ZAEHLERFREUNDE_BASE_URL" in (
        done.stdout
    )
    assert "Traceback" not in done.stderr
