"""A logging filter that keeps secrets out of every log line.

smart-me's webhook carries its secret in the URL path (`/webhooks/smartme/<secret>/`):
Django's request logger writes that path on every 4xx, runserver's access log on every
request. The filter masks the path segment (whatever was sent: a wrong guess is no
business of the log either) and the configured secret wherever it appears. A proxy's
or gunicorn's own access log is not ours: it needs the same masking (README).
"""

import logging
import re

from django.conf import settings
from django.views.debug import SafeExceptionReporterFilter

_WEBHOOK_PATH = re.compile(r"(/webhooks/smartme/)[^/\s\"'?]+")
MASK = "***"


def mask(text: str) -> str:
    text = _WEBHOOK_PATH.sub(rf"\g<1>{MASK}", text)
    secret = getattr(settings, "SMARTME_WEBHOOK_SECRET", "")
    return text.replace(secret, MASK) if secret else text


class MaskSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


class DebugPageFilter(SafeExceptionReporterFilter):
    """The debug page (DEBUG) and error mails hide Django's usual suspects and the URLs
    that carry credentials: REDIS_URL, CELERY_BROKER_URL, a cache's LOCATION (the Redis
    URL again), DATABASE_URL and EMAIL_URL, in the settings and in the environment shown
    with the request."""

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|REDIS|BROKER|LOCATION|"
        "DATABASE_URL|EMAIL_URL",
        flags=re.I,
    )
