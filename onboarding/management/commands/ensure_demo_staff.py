"""The demo staff login of embedded mode; refused in production."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError

from onboarding.roles import ONBOARDING_STAFF, TRAINERS, ensure_roles
from portal.secret_files import write_secret

USERNAME = "demo"


class Command(BaseCommand):
    help = "Create (or reset) the demo staff login for embedded mode and print it."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("The demo login exists in embedded mode (DEBUG) only.")
        password_file = settings.VAR_DIR / "demo-password"
        write_secret(password_file, secrets.token_urlsafe(9))  # 0600, like every var/ secret
        password = password_file.read_text().strip()
        user, _ = get_user_model().objects.get_or_create(username=USERNAME)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        # The portal's role for creating and changing (made by migration onboarding …_pages).
        ensure_roles(Group, Permission)
        user.groups.add(Group.objects.get(name=ONBOARDING_STAFF))
        # And the trainer's: the demo walks through the sandboxes' switches too.
        user.groups.add(Group.objects.get(name=TRAINERS))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo staff login: {USERNAME} / {password}  at {settings.SANDBOX_BASE_URL}/"
            )
        )
