from django.apps import AppConfig


class SandboxKitConfig(AppConfig):
    """What every sandbox shares: fault switches, latency, request counts, control access."""

    name = "providers.sandbox_kit"
    label = "sandbox_kit"
    verbose_name = "Sandbox fault switches"
    default_auto_field = "django.db.models.BigAutoField"
