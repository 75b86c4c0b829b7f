from django.apps import AppConfig


class ClimkitPullConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    # Moved from the top-level `climkit_pull` app; the label keeps its tables and migrations.
    name = "providers.climkit.pull"
    label = "climkit_pull"
    verbose_name = "Climkit meter data pull"
