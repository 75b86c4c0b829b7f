from django.apps import AppConfig


class SparkEventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "spark_events"
    verbose_name = "Volue Spark events and reports"
