"""Compare what each push platform really holds with what we hold, and with --fix mend
it through the outbox.

Exit 0 when every platform holds what we hold, 1 when something differs (missing there,
extra there, different), 2 when a platform could not be read. What a person settled on
the drift page (an extra left alone, a difference accepted as is) no longer counts.
"""

import getpass

from django.core.management.base import BaseCommand, CommandError
from django.utils.timezone import localtime

from onboarding.sync import reconcile
from onboarding.sync.reconcile import fixes

SHOWN = 50  # findings listed per platform; the rest are counted


class Command(BaseCommand):
    help = (
        "Compare what each push platform (or only those named) holds for us with what we "
        "hold: missing there, extra there, different (each field, ours beside theirs). "
        "--fix re-creates what is missing with everything under it, sends ours where it "
        "differs and adopts an extra that carries our key, all through the outbox (run "
        "sync_pending or let the workers take them, then compare again); it never deletes "
        "a remote object. Exits 0 when nothing differs, 1 when something does, 2 when a "
        "platform could not be read."
    )

    def add_arguments(self, parser):
        parser.add_argument("platforms", nargs="*", metavar="PLATFORM")
        parser.add_argument(
            "--fix", action="store_true", help="mend what differs, through the outbox"
        )

    def handle(self, *args, platforms=(), fix=False, **options):
        comparable = reconcile.platforms()
        unknown = [name for name in platforms if name not in comparable]
        if unknown:
            raise CommandError(
                f"cannot compare {', '.join(unknown)}: choose from {', '.join(comparable)} "
                "(enabled platforms the portal pushes to)."
            )
        who = f"manage.py reconcile ({getpass.getuser()})"
        reports = reconcile.run(list(platforms) or comparable, started_by=who)
        unreadable = differs = False
        for report in reports:
            trouble = self._report(report)
            unreadable |= not report.readable
            differs |= bool(trouble)
            if fix and trouble:
                for line in fixes.fix_findings(trouble, who=who):
                    self.stdout.write(f"  fix: {line}")
        if fix and differs:
            self.stdout.write(
                "The fixes go through the outbox: let the workers take them (or run "
                "`manage.py sync_pending`), then run reconcile again."
            )
        if unreadable:
            raise CommandError("a platform could not be read (see above)", returncode=2)
        if differs:
            raise CommandError("a platform holds otherwise than we do (listed above)")

    def _report(self, report) -> list:
        label = report.label
        when = localtime(report.finished_at).strftime("%Y-%m-%d %H:%M:%S")
        if not report.readable:
            self.stderr.write(f"{label}: could not be read ({report.error}); nothing compared.")
            return []
        trouble = reconcile.open_trouble(report)
        settled = len(report.findings) - len(trouble)
        summary = (
            f"{label}: compared {when} in {len(report.calls)} calls: "
            f"{len(report.of_kind('missing'))} missing there, {len(report.of_kind('extra'))} "
            f"extra there, {len(report.of_kind('different'))} different, "
            f"{len(report.same)} the same"
        )
        if settled:
            summary += f" ({settled} settled by a person)"
        (self.stdout if not trouble else self.stderr).write(summary)
        for finding in trouble[:SHOWN]:
            self.stderr.write(f"  {finding.describe()}")
        if len(trouble) > SHOWN:
            self.stderr.write(f"  … and {len(trouble) - SHOWN} more (see the drift page)")
        for line in report.not_listed:
            self.stdout.write(f"  not compared: {line}")
        return trouble
