"""Spark's current API: events stored once per eventId (deliveries and GET /events
alike), a catch-up cursor, webhook status, and charge reports that answer an event, in
the Reports page's units (percent, kWh), with their place required.
"""

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


def _rescale(apps, soc_factor: Decimal, capacity_factor: Decimal) -> None:
    # In Python, row by row: SQLite would divide integers as integers.
    reports = apps.get_model("spark_events", "ChargeReport")
    rows = list(reports.objects.only("state_of_charge", "battery_capacity"))
    for row in rows:
        row.state_of_charge = Decimal(row.state_of_charge) * soc_factor
        row.battery_capacity = Decimal(row.battery_capacity) * capacity_factor
    reports.objects.bulk_update(rows, ["state_of_charge", "battery_capacity"], batch_size=500)


def reports_in_percent_and_kwh(apps, schema_editor):
    # Stored until now as a fraction (0–1) and Wh.
    _rescale(apps, Decimal(100), Decimal("0.001"))


def reports_as_fraction_and_wh(apps, schema_editor):
    _rescale(apps, Decimal("0.01"), Decimal(1000))


def one_event_per_event_id(apps, schema_editor):
    """Events were keyed by their delivery's notificationId: key them by eventId, the one
    the same event has in every delivery and in GET /events (the first copy stays)."""
    events = apps.get_model("spark_events", "SparkEvent")
    for event in events.objects.exclude(event_id="").order_by("received_at", "pk"):
        if event.key == event.event_id:
            continue
        if events.objects.filter(key=event.event_id).exists():
            event.delete()
        else:
            events.objects.filter(pk=event.pk).update(key=event.event_id)


class Migration(migrations.Migration):

    dependencies = [
        ('spark_events', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='EventCatchUp',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('caught_up_to', models.DateTimeField(blank=True, help_text='Every event created up to this time is stored.', null=True)),
                ('last_run_at', models.DateTimeField(blank=True, null=True)),
                ('last_stored', models.PositiveIntegerField(default=0)),
                ('last_error', models.TextField(blank=True)),
            ],
            options={
                'verbose_name': 'Spark events catch-up',
            },
        ),
        migrations.RenameField(
            model_name='chargereport',
            old_name='event_id',
            new_name='reference',
        ),
        migrations.AddField(
            model_name='chargereport',
            name='event',
            field=models.ForeignKey(blank=True, help_text='The Spark event this report answers; its eventId is sent with it.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='charge_reports', to='spark_events.sparkevent'),
        ),
        migrations.AddField(
            model_name='sparkevent',
            name='source',
            field=models.CharField(choices=[('delivery', 'webhook delivery'), ('catch-up', 'GET /events (catch-up)')], default='delivery', max_length=10),
        ),
        migrations.AddField(
            model_name='webhooksubscription',
            name='status',
            field=models.CharField(blank=True, choices=[('New', 'New'), ('Healthy', 'Healthy'), ('Unhealthy', 'Unhealthy'), ('TimeOut', 'TimeOut')], max_length=20),
        ),
        migrations.AddField(
            model_name='webhooksubscription',
            name='status_read_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='status read at'),
        ),
        migrations.AlterField(
            model_name='chargereport',
            name='battery_capacity',
            field=models.DecimalField(decimal_places=3, max_digits=12, validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(10000)], verbose_name='battery capacity (kWh)'),
        ),
        migrations.AlterField(
            model_name='chargereport',
            name='latitude',
            field=models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True, validators=[django.core.validators.MinValueValidator(-90), django.core.validators.MaxValueValidator(90)]),
        ),
        migrations.AlterField(
            model_name='chargereport',
            name='longitude',
            field=models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True, validators=[django.core.validators.MinValueValidator(-180), django.core.validators.MaxValueValidator(180)]),
        ),
        migrations.AlterField(
            model_name='chargereport',
            name='state_of_charge',
            field=models.DecimalField(decimal_places=3, max_digits=6, validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)], verbose_name='state of charge (%)'),
        ),
        migrations.AlterField(
            model_name='sparkevent',
            name='body',
            field=models.TextField(help_text="The delivery's body (or the listed event) as received."),
        ),
        migrations.RunPython(reports_in_percent_and_kwh, reports_as_fraction_and_wh),
        migrations.RunPython(one_event_per_event_id, migrations.RunPython.noop),
    ]
