from django.apps import AppConfig


class ZaehlerfreundeSandboxConfig(AppConfig):
    """The Zählerfreunde partner API as its guide describes it, served by the portal."""

    name = "providers.zaehlerfreunde.sandbox"
    label = "zaehlerfreunde_sandbox"
    verbose_name = "Zählerfreunde sandbox"
    default_auto_field = "django.db.models.BigAutoField"
