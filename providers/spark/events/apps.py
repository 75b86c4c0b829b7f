from django.apps import AppConfig


class SparkEventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    # Moved from the top-level `spark_events` app; the label keeps its tables and migrations.
    name = "providers.spark.events"
    label = "spark_events"
    verbose_name = "Volue Spark events and reports"
