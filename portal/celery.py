"""The Celery application: configured from Django settings (CELERY_* names)."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def refuse_claims_shorter_than_a_call(**kwargs) -> None:
    """A worker does not start when a claim could expire while it waits (E020). Django
    is set up by then: Celery's Django fixup connected to this signal first."""
    from onboarding.sync.checks import refuse_to_start_with_short_claims

    refuse_to_start_with_short_claims()
