"""The portal's two roles, as groups carrying model permissions: onboarding staff add
and change, viewers only look. Made by a migration; `ensure_roles` is also what tests
and `ensure_demo_staff` call to have them (a flushed test database loses them)."""

ONBOARDING_STAFF = "Onboarding staff"
VIEWERS = "Viewers"
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
    staff.permissions.add(*changes, *views)
    viewers, _ = group_model.objects.get_or_create(name=VIEWERS)
    viewers.permissions.add(*views)
