"""What the pages leave for beat: import previews nobody confirmed are deleted once
expired (they hold tenants' names and e-mails), even if no one opens the import page."""

from celery import shared_task
from django.utils import timezone


@shared_task(ignore_result=True)
def forget_expired_import_previews() -> int:
    from .page_models import ImportPreview

    deleted, _ = ImportPreview.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted
