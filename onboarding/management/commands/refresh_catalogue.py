"""Refresh the catalogue of smart-me, Climkit (or the platforms named) now."""

from django.core.management.base import BaseCommand, CommandError

from onboarding.catalogue.refresh import RefreshFailed, platforms, refresh


class Command(BaseCommand):
    help = (
        "Read what each read-only platform holds (default: every enabled one with a "
        "catalogue) and store it in the catalogue. A platform that cannot be read keeps "
        "its catalogue as it was; the command then says what to fix and exits 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="platforms to refresh, e.g. smartme climkit")

    def handle(self, *args, names=(), **options):
        available = platforms()
        for name in names:
            if name not in available:
                known = ", ".join(available) or "none enabled"
                raise CommandError(f"{name!r} has no catalogue to refresh here; use: {known}.")
        failures = []
        for name in names or available:
            try:
                self.stdout.write(refresh(name).summary())
            except RefreshFailed as exc:
                failures.append(str(exc))  # one sentence each: the platform, what to fix
        if failures:
            raise CommandError(" ".join(failures))
