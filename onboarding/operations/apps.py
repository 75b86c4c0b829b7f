from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "onboarding.operations"
    label = "operations"
    verbose_name = "Operations"

    def ready(self):
        from . import logs

        logs.connect_celery_signals()
