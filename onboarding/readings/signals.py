"""A device just linked to a remote device takes the readings that waited for it; a
device deleted takes its readings with it; a destination added takes the stored ones."""

from django.db import transaction
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from onboarding.models import Device

from .matching import remote_ids_of
from .models import Forwarding, Reading
from .queue import wake_and_enqueue


@receiver(post_save, sender=Device, dispatch_uid="readings_attach_on_link")
def attach_waiting_readings(sender, instance: Device, raw=False, **kwargs):
    if raw or not remote_ids_of(instance):
        return
    from .tasks import attach_device

    # In a worker (thousands may wait), once the link commits: a rolled-back link
    # attaches nothing. `robust`: a broker that is down only logs; the forwarding sweep
    # attaches them then.
    device_pk = instance.pk
    transaction.on_commit(lambda: attach_device.delay(device_pk), robust=True)


@receiver(post_save, sender=Forwarding, dispatch_uid="readings_forward_when_configured")
def forward_when_configured(sender, instance: Forwarding, raw=False, **kwargs):
    """A destination just added (or enabled) takes the device's stored readings too."""
    if raw or not instance.enabled:
        return
    device_id = instance.device_id
    transaction.on_commit(lambda: wake_and_enqueue([device_id]), robust=True)


@receiver(pre_delete, sender=Device, dispatch_uid="readings_go_with_their_device")
def delete_readings(sender, instance: Device, **kwargs):
    """One DELETE, in the device's own deletion transaction (Reading.device is
    DO_NOTHING for Django: its collector would load every reading first)."""
    Reading.objects.filter(device_id=instance.pk).delete()
