"""Reading smart-me's error answers (no Django here)."""

import re

import requests

from ..http import redacted_text

_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def first_words(text: str, limit: int = 80) -> str:
    """The first words of a body, markup stripped: enough to recognise a maintenance
    page or a login form in a message, short enough for one line; secrets redacted."""
    words = _SPACE.sub(" ", _TAGS.sub(" ", redacted_text(text or ""))).strip()
    if not words:
        return "(empty body)"
    return words if len(words) <= limit else words[:limit].rstrip() + "…"


def describe_error(response: requests.Response) -> str:
    """The platform's reason for a failed call.

    smart-me is an ASP.NET Web API: its errors come as {"Message": "..."} (and
    "MessageDetail"); its OAuth endpoints as RFC 6749 {"error", "error_description"}.
    The guide shows neither, so anything else is shown as its first words.
    """
    try:
        body = response.json()
    except ValueError:
        return first_words(response.text) if response.text else f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for keys in (("Message", "MessageDetail"), ("error", "error_description"),
                     ("message",), ("title", "detail")):  # fmt: skip
            parts = [str(body[k]) for k in keys if body.get(k)]
            if parts:
                return ": ".join(parts)
    return first_words(str(body))
