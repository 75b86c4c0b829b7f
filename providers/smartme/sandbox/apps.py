from django.apps import AppConfig


class SmartMeSandboxConfig(AppConfig):
    """The smart-me REST API as its guide describes it, served by the portal."""

    name = "providers.smartme.sandbox"
    label = "smartme_sandbox"
    verbose_name = "smart-me sandbox"
    default_auto_field = "django.db.models.BigAutoField"
