from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "onboarding"
    verbose_name = "Onboarding"

    def ready(self):
        # The tasks live in onboarding.sync, which Celery's autodiscovery does not scan.
        from providers import checks  # noqa: F401 (registers the deploy checks)

        from . import page_tasks  # noqa: F401
        from .catalogue import tasks as catalogue_tasks  # noqa: F401
        from .sync import checks as sync_checks  # noqa: F401 (the claim check)
        from .sync import tasks  # noqa: F401
        from .sync.reconcile import tasks as reconcile_tasks  # noqa: F401
