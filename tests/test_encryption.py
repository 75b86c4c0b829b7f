"""Access tokens are stored encrypted, and keys can be rotated."""

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from onboarding.models import ProviderConnection

pytestmark = pytest.mark.django_db


def raw_token(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM onboarding_providerconnection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_token_is_encrypted_at_rest_and_readable_after_rotation(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    row = ProviderConnection.objects.create(provider="zaehlerfreunde", access_token="tok-123456")
    stored = raw_token(row.pk)
    assert "tok-123456" not in stored
    assert Fernet(old.encode()).decrypt(stored.encode()) == b"tok-123456"

    # Rotation: the new key goes in front; old values still read, new writes use it.
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert ProviderConnection.objects.get(pk=row.pk).access_token == "tok-123456"
    row.access_token = "tok-789"
    row.save()
    assert Fernet(new.encode()).decrypt(raw_token(row.pk).encode()) == b"tok-789"


def test_a_lost_key_is_a_clear_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    row = ProviderConnection.objects.create(provider="zaehlerfreunde", access_token="tok")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(Exception, match="cannot be decrypted with FIELD_ENCRYPTION_KEY"):
        ProviderConnection.objects.get(pk=row.pk)
