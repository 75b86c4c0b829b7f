from django.urls import path

from . import receiver

app_name = "spark_events"

urlpatterns = [path("", receiver.receive, name="receive")]
