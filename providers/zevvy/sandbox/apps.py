from django.apps import AppConfig


class ZevvySandboxConfig(AppConfig):
    """zevvy's authorization server (Keycloak's device flow) and API, served by the portal."""

    name = "providers.zevvy.sandbox"
    label = "zevvy_sandbox"
    verbose_name = "zevvy sandbox"
    default_auto_field = "django.db.models.BigAutoField"
