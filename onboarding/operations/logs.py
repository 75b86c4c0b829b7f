"""What each log line is about: the web request, or the outbox row and its platform.

`RequestIdMiddleware` takes the request's id from `X-Request-ID` (a proxy's, so one id
follows the request through every hop) or makes one, answers it in the same header, and
keeps it in a context variable for the request's duration. The outbox engine binds the
row and platform it is pushing (`bind`). `ContextFilter` copies whatever is bound onto
every log record, where `LOG_FORMAT=json` (python-json-logger) writes them as fields; the
plain format leaves them out, as before.
"""

import logging
import re
import uuid
from contextvars import ContextVar

_context: ContextVar[dict | None] = ContextVar("log_context", default=None)
FIELDS = ("request_id", "outbox_row", "platform")
# A proxy's id is taken only if it looks like one (no newlines, no megabyte).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def bind(**fields) -> None:
    """Add fields to what this task or request's log records carry (None removes one)."""
    current = dict(_context.get() or {})
    for name, value in fields.items():
        if value is None:
            current.pop(name, None)
        else:
            current[name] = value
    _context.set(current)


def clear() -> None:
    _context.set(None)


def bound() -> dict:
    return dict(_context.get() or {})


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_context.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        # Django logs a 4xx/5xx answer ("Not Found: /x") after the middleware returned,
        # with the request on the record: its id is there.
        request_id = getattr(getattr(record, "request", None), "request_id", None)
        if request_id and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = _context.set({"request_id": request_id})
        try:
            response = self.get_response(request)
        finally:
            _context.reset(token)
        response["X-Request-ID"] = request_id
        return response


def connect_celery_signals() -> None:
    """Each task starts with nothing bound: a row bound by the previous task of the same
    worker process must not label this one's lines."""
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_clear_on_task, weak=False, dispatch_uid="operations-log-clear-pre")
    task_postrun.connect(_clear_on_task, weak=False, dispatch_uid="operations-log-clear-post")


def _clear_on_task(**kwargs) -> None:
    clear()


def extend(config: dict, log_format: str) -> dict:
    """settings.LOGGING, with the bound fields on every record and, for LOG_FORMAT=json,
    one JSON object a line (time, level, logger, message and the bound fields) instead
    of today's plain lines, which stay the default."""
    config.setdefault("filters", {})["context"] = {"()": f"{__name__}.ContextFilter"}
    from pythonjsonlogger.core import RESERVED_ATTRS

    config.setdefault("formatters", {})["json"] = {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        # Django puts the request object on its records: its id is taken (ContextFilter),
        # the object itself is no field.
        "reserved_attrs": [*RESERVED_ATTRS, "request"],
    }
    for handler in config.get("handlers", {}).values():
        handler.setdefault("filters", []).append("context")
        if log_format == "json":
            handler["formatter"] = "json"
    if log_format == "json":
        # Django's own handlers on "django" (a bare console in DEBUG, mail to ADMINS)
        # would write plain lines beside ours: its records go to the root's handler only.
        config.setdefault("loggers", {}).setdefault("django", {}).update(
            handlers=[], propagate=True
        )
    return config
