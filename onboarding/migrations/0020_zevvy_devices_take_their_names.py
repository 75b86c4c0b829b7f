"""zevvy devices were named by their reference (portal-device-<id>); they now carry our
device's name (providers/zevvy/sync.py). Their rows go out once more, so the outbox
renames each one there: until it has, readings by name wait for it."""

from django.db import migrations
from django.db.models.functions import Now


def send_the_names(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    SyncRecord = apps.get_model("onboarding", "SyncRecord")
    device = ContentType.objects.filter(app_label="onboarding", model="device").first()
    if device is None:
        return
    SyncRecord.objects.filter(
        provider="zevvy", content_type=device, operation="upsert", state="synced"
    ).exclude(remote_id="").update(state="pending", not_before=Now(), queued_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("onboarding", "0019_sync_attempt_parent"),
    ]

    operations = [migrations.RunPython(send_the_names, migrations.RunPython.noop)]
