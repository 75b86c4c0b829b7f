from django.apps import AppConfig


class ClimkitSandboxConfig(AppConfig):
    """The Climkit developer API as its guide describes it, served by the portal."""

    name = "providers.climkit.sandbox"
    label = "climkit_sandbox"
    verbose_name = "Climkit sandbox"
    default_auto_field = "django.db.models.BigAutoField"
