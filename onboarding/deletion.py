"""What goes with an object when it is deleted, and who waits for it to go.

Deleting a building deletes its units, their devices, tenants and invites with it (the
models cascade). The platforms hear of each of those bottom-up, through its own outbox
row; these helpers find the family, using Django's own deletion collector so the answer
is exactly what `obj.delete()` would remove.
"""

from django.db import router
from django.db.models.deletion import Collector

from .models import Synced


def cascade(obj) -> list:
    """The synced objects deleted along with `obj` (not `obj` itself)."""
    collector = Collector(using=router.db_for_write(type(obj)))
    collector.collect([obj])
    return [
        other
        for model, instances in collector.data.items()
        if issubclass(model, Synced)
        for other in instances
        if not (model is type(obj) and other.pk == obj.pk)
    ]


def pending_parents(obj) -> list:
    """The objects `obj` belongs to (its building, its unit, its tenant) that staff asked
    to delete: they go once `obj` has gone."""
    parents = []
    for field in type(obj)._meta.concrete_fields:
        if field.is_relation and field.many_to_one and issubclass(field.related_model, Synced):
            parent = field.related_model._default_manager.filter(
                pk=getattr(obj, field.attname), deletion_requested_at__isnull=False
            ).first()
            if parent is not None:
                parents.append(parent)
    return parents
