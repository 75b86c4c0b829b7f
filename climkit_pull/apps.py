from django.apps import AppConfig


class ClimkitPullConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "climkit_pull"
    verbose_name = "Climkit meter data pull"
