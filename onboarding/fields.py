"""A text field stored encrypted (Fernet), for tokens and secrets at rest.

FIELD_ENCRYPTION_KEYS lists Fernet keys newest first: the first encrypts, every one
decrypts, so a key can be rotated by putting the new one in front; `rotate_field_keys`
then re-encrypts every stored value with it, after which the old key can go.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.db.models.functions import Cast
from django.dispatch import receiver

UNREADABLE = (
    "cannot be decrypted with FIELD_ENCRYPTION_KEY: it was stored with a key that is not "
    "among them (lost, or rotated away too early). Put that key back behind the newest, "
    "or store the secret again."
)


@cache
def _fernet() -> MultiFernet:
    keys = settings.FIELD_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is empty")
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY (key lost or rotated "
            "away?)."
        ) from exc


def try_decrypt(value: str) -> str | None:
    """The plain text, or None when no key decrypts it."""
    try:
        return decrypt(value)
    except ImproperlyConfigured:
        return None


def stored(queryset, field_name: str) -> Iterator[tuple[int, str]]:
    """(pk, the value as stored, still encrypted) for each row with a value: reading the
    raw column, so one row no key decrypts does not stop the others from being read."""
    raw = queryset.annotate(_raw=Cast(field_name, models.TextField())).exclude(_raw="")
    yield from raw.exclude(_raw__isnull=True).values_list("pk", "_raw").iterator()


def encrypted_fields() -> list[tuple[type[models.Model], str]]:
    return [
        (model, f.name)
        for model in apps.get_models()
        for f in model._meta.concrete_fields
        if isinstance(f, EncryptedTextField)
    ]


@dataclass
class Rotation:
    rotated: dict[str, int] = field(default_factory=dict)  # "app.Model.field": rows
    unreadable: list[str] = field(default_factory=list)  # "app.Model.field #pk"


def rotate_all() -> Rotation:
    """Re-encrypt every stored value with the newest key (MultiFernet.rotate)."""
    result = Rotation()
    for model, name in encrypted_fields():
        label = f"{model._meta.label}.{name}"
        result.rotated[label] = 0
        for pk, value in stored(model._base_manager.all(), name):
            try:
                rotated = _fernet().rotate(value.encode()).decode()
            except InvalidToken:
                result.unreadable.append(f"{label} #{pk}")
                continue
            # A Value of a plain TextField: written as it is, not encrypted again.
            model._base_manager.filter(pk=pk).update(
                **{name: models.Value(rotated, output_field=models.TextField())}
            )
            result.rotated[label] += 1
    return result


class EncryptedTextField(models.TextField):
    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value


@receiver(setting_changed)
def _forget_keys(setting, **kwargs):
    if setting == "FIELD_ENCRYPTION_KEYS":
        _fernet.cache_clear()
