from django.apps import AppConfig


class SparkSandboxConfig(AppConfig):
    """Volue Spark's identity server and Energy Coordination API, as its guide describes
    them, served by the portal."""

    name = "providers.spark.sandbox"
    label = "spark_sandbox"
    verbose_name = "Volue Spark sandbox"
    default_auto_field = "django.db.models.BigAutoField"
