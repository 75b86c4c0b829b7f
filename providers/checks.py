"""System checks on the platforms' configuration (run by `manage.py check --deploy`)."""

from django.conf import settings
from django.core import checks

from .registry import not_configured as sandbox_refusal


@checks.register(checks.Tags.security, deploy=True)
def served_sandboxes_have_their_own_credentials(app_configs, **kwargs):
    """A training deployment (SERVE_SANDBOXES=true, DEBUG off) refuses the public
    default sandbox credentials (settings.py): it needs configured ones."""
    if not settings.SERVE_SANDBOXES or not settings.SANDBOX_CREDENTIALS_REFUSED:
        return []
    names = ", ".join(settings.SANDBOX_CREDENTIALS_REFUSED)
    return [
        checks.Error(
            f"The sandboxes are served but {names} are unset or the public defaults, which "
            "production refuses: nobody (the portal included) can use the sandboxes.",
            id="providers.E002",
            hint="Set them to values of your own (README, Configuration).",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def platforms_point_at_real_partners(app_configs, **kwargs):
    return [
        checks.Error(reason, id="providers.E001", hint="See README, Configuration.")
        for name in settings.PROVIDERS
        if name in settings.PROVIDER_CONFIG and (reason := sandbox_refusal(name))
    ]
