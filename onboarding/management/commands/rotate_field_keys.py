"""Re-encrypt every encrypted field with the newest FIELD_ENCRYPTION_KEY."""

from django.core.management.base import BaseCommand, CommandError

from onboarding.fields import UNREADABLE, rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (tokens, webhook secrets) with the first key of "
        "FIELD_ENCRYPTION_KEY. Rotation: put the new key in front (new,old), run this, "
        "then remove the old key. Exits 1 if a value cannot be decrypted with any key."
    )

    def handle(self, *args, **options):
        result = rotate_all()
        for label, count in result.rotated.items():
            self.stdout.write(f"{label}: {count} re-encrypted")
        if result.unreadable:
            raise CommandError(
                f"{len(result.unreadable)} value(s) {UNREADABLE} ({', '.join(result.unreadable)}); "
                "the others are re-encrypted. Keep the old key until they are dealt with."
            )
        self.stdout.write(
            self.style.SUCCESS("Every value is encrypted with the newest key: the others can go.")
        )
