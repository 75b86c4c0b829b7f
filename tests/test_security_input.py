"""Input that used to answer 500 answers 4xx; the debug page hides the URLs that carry
credentials (issue 18, item 9)."""

import sys
import uuid

import pytest
from django.test import Client, RequestFactory
from django.views.debug import technical_500_response

from onboarding.models import SyncRecord
from providers.spark.events.models import SparkEvent, WebhookSubscription
from providers.spark.events.signature import sign

from . import pages_helpers
from .factories import building

staff_user, staff = pages_helpers.staff_user, pages_helpers.staff
pytestmark = pytest.mark.django_db

SECRET = "whsec-test"


@pytest.mark.parametrize("row", ["²", "٣", "9" * 30, "-1", "1e3"])
def test_retry_with_a_row_that_is_no_id_is_no_500(staff, row):
    home = building()
    response = staff.post("/sync/retry/", {"row": [row, str(home.pk)]})
    assert response.status_code == 302
    assert SyncRecord.objects.count() >= 1  # nothing lost


@pytest.fixture
def spark_subscription():
    return WebhookSubscription.objects.create(
        url="https://portal.example.org/webhooks/spark/", secret=SECRET, webhook_id="w"
    )


def deliver(body: bytes, **extra):
    return Client().post(
        "/webhooks/spark/", body, content_type="application/json",
        HTTP_SPARK_SIGNATURE=sign(SECRET, body), **extra,
    )  # fmt: skip


@pytest.mark.parametrize("length", ["abc", "1e6", "-5", "١٢"])
def test_a_non_numeric_content_length_is_a_400(spark_subscription, length):
    body = b'{"notificationId": "n1", "payload": {}}'
    response = deliver(body, CONTENT_LENGTH=length)
    assert response.status_code == 400 and "Content-Length" in response.json()["detail"]
    assert not SparkEvent.objects.exists()


@pytest.mark.parametrize("depth", [sys.getrecursionlimit() * 2, 100])
def test_a_signed_but_deeply_nested_body_is_a_400(spark_subscription, depth):
    nested = "[" * depth + "]" * depth
    body = f'{{"notificationId": "{uuid.uuid4()}", "payload": {nested}}}'.encode()
    response = deliver(body)
    assert response.status_code == 400 and "nested" in response.json()["detail"]
    assert not SparkEvent.objects.exists()
    fine = b'{"notificationId": "n-ok", "payload": {"a": [{"b": 1}]}}'
    assert deliver(fine).status_code == 200


def debug_page(request) -> str:
    """The debug page of an error raised here (no secret among this frame's variables)."""
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        return technical_500_response(request, *sys.exc_info()).content.decode()


def test_the_debug_page_hides_urls_that_carry_credentials(settings):
    settings.DEBUG = True
    pw = {name: uuid.uuid4().hex for name in ("redis", "broker", "cache", "env", "db")}
    settings.REDIS_URL = f"redis://:{pw['redis']}@redis.internal:6379/0"
    settings.CELERY_BROKER_URL = f"redis://:{pw['broker']}@redis.internal:6379/1"
    settings.CACHES = {
        "default": {"BACKEND": "x", "LOCATION": f"redis://:{pw['cache']}@redis.internal:6379/0"}
    }
    meta = {
        "REDIS_URL": f"redis://:{pw['env']}@r/0",
        "DATABASE_URL": f"postgres://u:{pw['db']}@d/p",
    }
    page = debug_page(RequestFactory().get("/boom", **meta))
    assert "REDIS_URL" in page and "CELERY_BROKER_URL" in page  # listed ...
    for password in pw.values():
        assert password not in page  # ... but masked
