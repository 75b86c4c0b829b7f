"""smart-me's inbound URL, mounted by the registry at /webhooks/smartme/ (portal/urls.py)."""

from django.urls import path

from . import webhook

app_name = "smartme_webhook"
urlpatterns = [
    path("<str:secret>/", webhook.smartme, name="receive"),
]
