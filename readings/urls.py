"""Mounted at /webhooks/ (portal/urls.py): what partners' platforms POST to us."""

from django.urls import path

from . import webhooks

app_name = "webhooks"
urlpatterns = [
    path("smartme/<str:secret>/", webhooks.smartme, name="smartme"),
]
