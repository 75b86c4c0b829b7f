"""Spark's current API: our own ids for users and locations, a resource's location, and
a meter's location type read from its unit unless chosen.

The ids are added the way Django's docs add a unique field to a table with rows: nullable
first, one fresh UUID per existing row, then unique and required.
"""

import uuid

import django.db.models.deletion
from django.db import migrations, models


def give_each_row_its_own_id(apps, schema_editor):
    for model_name, field in (("TenantUser", "spark_user_id"), ("Meter", "spark_location_id")):
        model = apps.get_model("onboarding", model_name)
        rows = list(model.objects.filter(**{f"{field}__isnull": True}).only("pk"))
        for row in rows:
            setattr(row, field, uuid.uuid4())
        model.objects.bulk_update(rows, [field], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("onboarding", "0010_labels_translated"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenantuser",
            name="spark_user_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="meter",
            name="spark_location_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(give_each_row_its_own_id, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="tenantuser",
            name="spark_user_id",
            field=models.UUIDField(
                default=uuid.uuid4,
                editable=False,
                help_text="Our key for the tenant on Volue Spark.",
                unique=True,
                verbose_name="Spark user id",
            ),
        ),
        migrations.AlterField(
            model_name="meter",
            name="spark_location_id",
            field=models.UUIDField(
                default=uuid.uuid4,
                editable=False,
                help_text="Our key for the meter's location on Volue Spark.",
                unique=True,
                verbose_name="Spark location id",
            ),
        ),
        migrations.AlterField(
            model_name="meter",
            name="location_type",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "From the unit (a flat: residential; a shop, office: commercial)"),
                    ("Residential", "Residential"),
                    ("Commercial", "Commercial"),
                    ("Other", "Other"),
                ],
                default="",
                max_length=20,
                verbose_name="location type",
            ),
        ),
        migrations.AddField(
            model_name="resource",
            name="meter",
            field=models.ForeignKey(
                blank=True,
                help_text="The tenant's meter it sits behind; empty: the tenant's first meter.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="resources",
                to="onboarding.meter",
                verbose_name="meter",
            ),
        ),
    ]
