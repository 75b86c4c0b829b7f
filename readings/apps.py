from django.apps import AppConfig


class ReadingsConfig(AppConfig):
    name = "readings"
    verbose_name = "Meter readings"

    def ready(self):
        from . import signals  # noqa: F401 (attaches waiting readings when a device is linked)
