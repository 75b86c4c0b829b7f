"""To the public spec: devices linked to spaces (many to many), platform users and their
memberships, access roles, invites that are accepted once, units that block their
building's delete, and 2xx glitches. Existing devices keep their space as a link;
existing invites get the role they named, else the default one."""

import uuid

import django.db.models.deletion
from django.db import migrations, models


def forwards(apps, schema_editor):
    from providers.zaehlerfreunde.sandbox.roles import seed

    AccessRole = apps.get_model("zaehlerfreunde_sandbox", "AccessRole")
    Device = apps.get_model("zaehlerfreunde_sandbox", "Device")
    Invite = apps.get_model("zaehlerfreunde_sandbox", "Invite")
    SpaceDevice = apps.get_model("zaehlerfreunde_sandbox", "SpaceDevice")
    seed(AccessRole)
    default = AccessRole.objects.filter(is_default=True).first()
    roles = {str(role.uuid): role for role in AccessRole.objects.all()}
    for device in Device.objects.all():
        SpaceDevice.objects.create(
            space_id=device.space_id,
            device_id=device.pk,
            is_main_device=device.is_main_device,
            excluded_from_cost=bool(device.excluded_from_cost),
        )
    for invite in Invite.objects.all():
        invite.access_role = roles.get(invite.old_access_role_id or "", default)
        invite.save(update_fields=["access_role"])


class Migration(migrations.Migration):
    dependencies = [
        ("zaehlerfreunde_sandbox", "0002_faults_moved_to_sandbox_kit"),
    ]

    operations = [
        migrations.CreateModel(
            name="AccessRole",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("uuid", models.UUIDField(default=uuid.uuid4, unique=True)),
                ("name", models.CharField(max_length=200)),
                ("description", models.CharField(blank=True, default="", max_length=1000)),
                ("permission_ids", models.JSONField(default=list)),
                ("is_default", models.BooleanField(default=False)),
            ],
            options={"ordering": ["pk"]},
        ),
        migrations.CreateModel(
            name="User",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_id", models.CharField(max_length=200, unique=True)),
                ("name", models.CharField(max_length=500)),
                ("email", models.EmailField(max_length=320, unique=True)),
                ("phone_number", models.CharField(blank=True, default="", max_length=50)),
                ("picture", models.CharField(blank=True, default="", max_length=500)),
                ("login_count", models.PositiveIntegerField(default=1)),
                ("last_login", models.DateTimeField(auto_now_add=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["pk"]},
        ),
        migrations.CreateModel(
            name="Glitch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("mode", models.CharField(choices=[("empty_object", "processed, answered 200 {}"), ("list_body", "processed, answered 200 []")], max_length=32)),
                ("remaining", models.PositiveIntegerField(default=1)),
                ("path", models.CharField(blank=True, default="", max_length=500)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["pk"]},
        ),
        migrations.CreateModel(
            name="SpaceDevice",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("is_main_device", models.BooleanField(default=False)),
                ("excluded_from_cost", models.BooleanField(default=False)),
                ("linked_at", models.DateTimeField(auto_now_add=True)),
                ("device", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="links", to="zaehlerfreunde_sandbox.device")),
                ("space", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="device_links", to="zaehlerfreunde_sandbox.space")),
            ],
            options={
                "ordering": ["pk"],
                "constraints": [models.UniqueConstraint(fields=("space", "device"), name="zf_sandbox_link_once")],
            },
        ),
        migrations.CreateModel(
            name="SpaceUser",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("access_role", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="zaehlerfreunde_sandbox.accessrole")),
                ("space", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="memberships", to="zaehlerfreunde_sandbox.space")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="memberships", to="zaehlerfreunde_sandbox.user")),
            ],
            options={
                "ordering": ["pk"],
                "constraints": [models.UniqueConstraint(fields=("space", "user"), name="zf_sandbox_member_once")],
            },
        ),
        migrations.AddField(
            model_name="device",
            name="grid",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.RenameField(
            model_name="invite", old_name="access_role_id", new_name="old_access_role_id"
        ),
        migrations.AddField(
            model_name="invite",
            name="access_role",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="zaehlerfreunde_sandbox.accessrole"),
        ),
        migrations.AddField(
            model_name="invite",
            name="accepted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="invite",
            name="accepted_by",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="zaehlerfreunde_sandbox.user"),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.RemoveField(model_name="invite", name="old_access_role_id"),
        migrations.AlterField(
            model_name="invite",
            name="access_role",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="zaehlerfreunde_sandbox.accessrole"),
        ),
        migrations.RemoveField(model_name="device", name="space"),
        migrations.RemoveField(model_name="device", name="is_main_device"),
        migrations.RemoveField(model_name="device", name="excluded_from_cost"),
        migrations.RemoveField(model_name="device", name="status"),
        migrations.AddField(
            model_name="device",
            name="spaces",
            field=models.ManyToManyField(related_name="devices", through="zaehlerfreunde_sandbox.SpaceDevice", to="zaehlerfreunde_sandbox.space"),
        ),
        migrations.AlterField(
            model_name="space",
            name="parent",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="children", to="zaehlerfreunde_sandbox.space"),
        ),
    ]
