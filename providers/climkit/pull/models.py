"""How far each linked Climkit meter's data has been pulled.

One cursor per (meter, series): the timestamp of the last interval stored. The next pull
asks from there on; the cursor moves in the same transaction that stores the readings,
so a failed call leaves it where the last stored interval is (no gap, no duplicate).
"""

from django.db import models


class Series(models.TextChoices):
    RAW = "raw", "Raw meter indices (meter_data_raw)"
    VALIDATED = "validated", "Validated data (meter_data)"


class PullCursor(models.Model):
    site_id = models.CharField(max_length=200)
    meter_id = models.CharField("Climkit meter id", max_length=200)
    series = models.CharField(max_length=20, choices=Series.choices)
    last_timestamp = models.DateTimeField(null=True, blank=True)
    last_pulled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    intervals_stored = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "Climkit pull cursor"
        constraints = [
            models.UniqueConstraint(fields=["meter_id", "series"], name="one_cursor_per_series")
        ]

    def __str__(self):
        return f"{self.meter_id} {self.series} up to {self.last_timestamp or '—'}"
