"""Connect the portal to zevvy: a person approves the device login on zevvy's page."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from onboarding import connect
from onboarding.sync.models import DeviceAuthorization
from providers import registry
from providers.errors import ProviderError

Outcome = DeviceAuthorization.Outcome


class Command(BaseCommand):
    help = (
        "Start zevvy's device login: prints a code and the page where a person with a "
        "zevvy account approves it, then waits (polling at the pace zevvy asks) until "
        "it is approved, denied or expired. Exits 0 once connected, 1 with the reason "
        "otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--started-by", default="", help="who started it (shown on the admin's page)"
        )

    def handle(self, *args, started_by="", **options):
        if "zevvy" not in registry.enabled():
            raise CommandError("zevvy is not enabled: add it to PROVIDERS first.")
        try:
            login = connect.start(started_by=started_by or "manage.py connect_zevvy")
        except ProviderError as exc:
            raise CommandError(connect.describe_failure(exc)) from None
        minutes = max(1, round((login.expires_at - timezone.now()).total_seconds() / 60))
        self.stdout.write(
            f"To connect the portal to zevvy, open {login.verification_uri} and enter the "
            f"code {login.user_code}\n"
            f"(or open {login.verification_uri_complete or login.verification_uri} directly).\n"
            f"user_code: {login.user_code}\n"
            f"verification_uri: {login.verification_uri}\n"
            f"verification_uri_complete: {login.verification_uri_complete}\n"
            f"Waiting for approval; the code expires in about {minutes} minute"
            f"{'s' if minutes != 1 else ''}."
        )
        self.stdout.flush()
        said = ""
        while True:
            wait = (login.next_poll_at - timezone.now()).total_seconds()
            if wait > 0:
                time.sleep(wait)
            login = connect.poll()
            if login is None:
                raise CommandError("The device login was removed while waiting; start again.")
            if login.message and login.message != said and login.outcome == Outcome.PENDING:
                self.stdout.write(login.message)
                self.stdout.flush()
                said = login.message
            if login.outcome == Outcome.CONNECTED:
                self.stdout.write(self.style.SUCCESS(login.message))
                return
            if login.outcome == Outcome.FAILED:
                raise CommandError(login.message)
