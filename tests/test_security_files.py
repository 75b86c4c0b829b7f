"""Secrets under var/ are readable by their owner only (issue 18, item 10's second half)."""

import os
import stat
import subprocess
import sys

from .conftest import ROOT

SECRETS = ("dev-secret-key", "smartme-webhook-secret", "sandbox-control-token", "demo-password")


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_var_secrets_are_made_0600_and_old_ones_narrowed(tmp_path):
    (tmp_path / "sandbox-control-token").write_text("made-before")
    (tmp_path / "sandbox-control-token").chmod(0o644)  # as the old code left it
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.pop("SECRET_KEY", None)
    env.update(VAR_DIR=str(tmp_path), DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'db'}")
    for args in (["migrate", "--noinput"], ["ensure_demo_staff"]):
        done = subprocess.run(
            [sys.executable, "-c", "import os, sys; os.umask(0o022); "
             "from django.core.management import execute_from_command_line; "
             "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'portal.settings'); "
             "execute_from_command_line(['manage.py', *sys.argv[1:]])", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    for name in SECRETS:
        assert mode(tmp_path / name) == 0o600, name
    assert (tmp_path / "sandbox-control-token").read_text() == "made-before"  # kept
