from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReadingsConfig(AppConfig):
    # Moved from the top-level `readings` app; the label keeps its tables and migrations.
    name = "onboarding.readings"
    label = "readings"
    verbose_name = _("Meter readings")

    def ready(self):
        from . import signals  # noqa: F401 (attaches waiting readings when a device is linked)
