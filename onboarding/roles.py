"""The portal's roles, as groups carrying model permissions: onboarding staff add and
change (and refresh the catalogue), viewers only look, trainers control the sandboxes.
Made by migrations; `ensure_roles` is also what tests and `ensure_demo_staff` call to
have them (a flushed test database loses them)."""

ONBOARDING_STAFF = "Onboarding staff"
VIEWERS = "Viewers"
TRAINERS = "Trainers"
REFRESH_CATALOGUE = "onboarding.refresh_catalogue"
CONTROL_SANDBOX = "sandbox_kit.control_sandbox"
# What onboarding staff add and change (a sync row: "retry"); both roles view everything.
CHANGED_BY_STAFF = (
    "space", "device", "tenantuser", "invite", "meter", "vehicle", "resource",
    "syncrecord", "wizard", "inviteemail",
)  # fmt: skip


def ensure_roles(group_model, permission_model) -> None:
    ours = permission_model.objects.filter(content_type__app_label="onboarding")
    views = ours.filter(codename__startswith="view_")
    changes = ours.filter(content_type__model__in=CHANGED_BY_STAFF).exclude(
        codename__startswith="delete_"
    )
    staff, _ = group_model.objects.get_or_create(name=ONBOARDING_STAFF)
    staff.permissions.add(*changes, *views, *_permission(permission_model, REFRESH_CATALOGUE))
    viewers, _ = group_model.objects.get_or_create(name=VIEWERS)
    viewers.permissions.add(*views)
    # Trainers is a role of its own, given beside another: a trainer's sandbox switches
    # are no business of onboarding staff or viewers.
    trainers, _ = group_model.objects.get_or_create(name=TRAINERS)
    trainers.permissions.add(*_permission(permission_model, CONTROL_SANDBOX))


def _permission(permission_model, dotted: str):
    """The permission `app.codename`, or none while its migration has not run yet."""
    app_label, codename = dotted.split(".")
    return permission_model.objects.filter(content_type__app_label=app_label, codename=codename)


def make_groups(apps, schema_editor) -> None:
    """For migrations: the roles with their permissions. Permissions are made after
    migrations by default; they are made here first so the groups can carry them."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    ensure_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))
