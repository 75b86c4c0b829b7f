"""What the reconcile tests share: a foreground sync, the command's exit code and words,
and the partner API reached behind the portal's back (as a partner's staff would)."""

from contextlib import suppress

from django.core.management import CommandError, call_command

from providers.zaehlerfreunde.client import ZaehlerfreundeClient


def sync(portal, *args):
    """One foreground run; a failed push waits (a minute) instead of going again."""
    portal.SYNC_BACKOFF_BASE_SECONDS = 60
    with suppress(CommandError):  # exit 1 for a failed row: the tests assert the rows
        call_command("sync_pending", *args)


def reconcile(*args, capsys) -> tuple[int, str]:
    """`manage.py reconcile …`: (exit code, everything it wrote)."""
    try:
        call_command("reconcile", *args)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    out = capsys.readouterr()
    return code, out.out + out.err


def zaehlerfreunde_by_hand(live_server) -> ZaehlerfreundeClient:
    """The partner API with the portal's credentials, but not through the portal."""
    return ZaehlerfreundeClient(
        f"{live_server.url}/sandbox/zaehlerfreunde/partner", "portal-sandbox", "sandbox-secret"
    )
