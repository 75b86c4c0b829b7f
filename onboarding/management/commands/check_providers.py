"""Authenticate with each enabled platform and make one harmless call."""

from django.core.management.base import BaseCommand, CommandError

from onboarding.connect import resume
from onboarding.diagnose import what_to_fix
from onboarding.sync.models import ProviderConnection
from providers import registry
from providers.checks import sandbox_refusal
from providers.errors import ProviderError


class Command(BaseCommand):
    help = (
        "For each enabled platform (or those named): authenticate, make one harmless read, "
        "print the outcome. A platform that answers is marked connected again and its "
        "waiting rows resume. Exits 1 if any fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="platforms to check (default: all enabled)")

    def handle(self, *args, names=(), **options):
        for name in names:
            if name not in registry.KNOWN:
                raise CommandError(f"unknown platform {name!r}; known: {', '.join(registry.KNOWN)}")
        for name in registry.not_yet_implemented():
            if not names or name in names:
                self.stdout.write(f"{name}: not available in this release (skipped)")
        failed = [name for name in (names or registry.enabled()) if not self._check(name)]
        if failed:
            raise CommandError(f"{len(failed)} platform(s) failed: {', '.join(failed)}")

    def _check(self, name: str) -> bool:
        if name not in registry.enabled():
            return True
        connection = registry.connection(name)
        where = "sandbox " if connection.is_sandbox else ""
        refusal = sandbox_refusal(name)
        if refusal:
            self.stdout.write(f"{registry.label(name)}: FAILED: {refusal}")
            return False
        was_disconnected = ProviderConnection.objects.filter(
            provider=name, status=ProviderConnection.Status.DISCONNECTED
        ).exists()
        try:
            registry.client(name).check()
        except ProviderError as exc:
            # One sentence: which platform, what went wrong, what to fix.
            self.stdout.write(f"{registry.label(name)}: FAILED: {what_to_fix(name, exc)}")
            return False
        resumed = resume(name) if was_disconnected else 0
        self.stdout.write(
            f"{registry.label(name)}: OK ({where}{connection.base_url})"
            + (f"; {resumed} waiting rows resume" if resumed else "")
        )
        return True
