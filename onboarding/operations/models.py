"""When something last happened, for /readyz: beat's last sweep, each platform's last
successful and last failed call. One row per name, overwritten (never a log)."""

from django.db import models


class Heartbeat(models.Model):
    name = models.CharField(max_length=80, unique=True)
    at = models.DateTimeField()
    detail = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"
