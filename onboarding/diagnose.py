"""One sentence for an operator: which platform failed, and what to fix.

Used by `check_providers`, `refresh_catalogue` and the catalogue's refresh log, so a
refused password, a wrong base URL and a platform answering garbage each read the same
wherever they show up.
"""

from providers import registry
from providers.errors import AuthError, ProviderError, TransientError


def credential_settings(name: str) -> str:
    """The settings holding the platform's credentials, as in use now."""
    describe = getattr(registry.sync_module(name), "credential_settings", None)
    if describe is not None:
        return describe(registry.connection(name))
    prefix = name.upper()
    return f"{prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET"


def what_to_fix(name: str, exc: ProviderError, *, doing: str = "") -> str:
    label = registry.label(name)
    connection = registry.connection(name)
    where = ("the sandbox at " if connection.is_sandbox else "") + connection.base_url
    reason = exc.message.rstrip(".")
    lead = f"{label} ({where})" + (f": {doing}, because it" if doing else "")
    prefix = name.upper()
    if isinstance(exc, AuthError):
        return f"{lead} refused our credentials ({reason}); check {credential_settings(name)}."
    if isinstance(exc, TransientError) and exc.status is None:
        return (
            f"{lead} could not be reached ({reason}); check {prefix}_BASE_URL and that the "
            "host is up and reachable from here."
        )
    if isinstance(exc, TransientError) and exc.status == 429:
        wait = f" in {exc.retry_after:.0f} s" if exc.retry_after is not None else " later"
        return f"{lead} is rate limiting us ({reason}); try again{wait}."
    if isinstance(exc, TransientError) and exc.status and exc.status < 400:
        return (
            f"{lead} did not answer as its API does ({reason}); check that {prefix}_BASE_URL "
            "points at the API itself, not a web page or proxy."
        )
    if isinstance(exc, TransientError):
        return f"{lead} is failing ({reason}); try again later or ask the platform's support."
    return f"{lead} refused the request ({reason}); check {prefix}_BASE_URL and the account."
