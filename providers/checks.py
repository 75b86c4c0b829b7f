"""System checks on the platforms' configuration (run by `manage.py check --deploy`)."""

from django.conf import settings
from django.core import checks

from .registry import label


def sandbox_refusal(name: str) -> str:
    """Why a production deployment must not use this platform as configured, or ""."""
    if settings.DEBUG or settings.PROVIDER_CONFIG[name]["base_url"]:
        return ""
    if settings.SERVE_SANDBOXES:
        return ""  # a training deployment, on purpose (SERVE_SANDBOXES=true)
    return (
        f"{label(name)} is enabled but {name.upper()}_BASE_URL is not set: without "
        "it the portal would talk to a sandbox. Set the platform's base URL and credentials, "
        "or remove it from PROVIDERS."
    )


@checks.register(checks.Tags.security, deploy=True)
def platforms_point_at_real_partners(app_configs, **kwargs):
    return [
        checks.Error(reason, id="providers.E001", hint="See README, Configuration.")
        for name in settings.PROVIDERS
        if name in settings.PROVIDER_CONFIG and (reason := sandbox_refusal(name))
    ]
