"""The access roles a fresh sandbox offers (`GET /access-roles`).

The spec lists the permission ids (AccessPermissionId) but no roles; a partner gets
some from the platform and may create more. The sandbox seeds three with fixed ids, so
a setting (e.g. the invite's `accessRoleId`) can name one and survive a reset. The
tenant role is the default an invite gets when it names none.
"""

from django.db import IntegrityError, transaction

TENANT_ROLE_ID = "3f1c2a9e-5b1d-4a57-9a0e-2d6f8c4b7a10"
VIEWER_ROLE_ID = "8a6d4c21-0f3b-4e8a-b1c7-5e9d2a3f6b42"
MANAGER_ROLE_ID = "c5e2b7f4-9d1a-4c36-8e0b-7a4f1d2c9e83"

ROLES = [
    {
        "uuid": TENANT_ROLE_ID,
        "name": "Mieter:in",
        "description": "Sieht die Daten aller Zähler des Space.",
        "permission_ids": ["VIEW", "VIEW_DATA_FULL"],
        "is_default": True,
    },
    {
        "uuid": VIEWER_ROLE_ID,
        "name": "Nur Ansicht",
        "description": "Sieht den Space, aber keine vollständigen Verbrauchsdaten.",
        "permission_ids": ["VIEW"],
        "is_default": False,
    },
    {
        "uuid": MANAGER_ROLE_ID,
        "name": "Verwaltung",
        "description": "Verwaltet den Space, seine Zähler, Nutzer und Unter-Spaces.",
        "permission_ids": [
            "VIEW",
            "VIEW_DATA_FULL",
            "ADD_USERS",
            "REMOVE_USERS",
            "INVITE_USERS_TO_CHILD_SPACE",
            "VIEW_CHILD_SPACE_DATA",
            "EDIT_DEVICES",
            "EDIT_SPACE_DETAILS",
        ],
        "is_default": False,
    },
]


def seed(access_role_model) -> None:
    """Create the seeded roles that are missing (also from a migration's historical
    model, hence the model as an argument)."""
    for role in ROLES:
        values = {k: v for k, v in role.items() if k != "uuid"}
        try:
            with transaction.atomic():
                access_role_model.objects.get_or_create(uuid=role["uuid"], defaults=values)
        except IntegrityError:  # a concurrent request seeded it just now
            pass


def ensure_seeded():
    """The roles, seeded on first use: a reset, or a test's flushed database, leaves
    none, and the platform always has them."""
    from .models import AccessRole

    if not AccessRole.objects.filter(is_default=True).exists():
        seed(AccessRole)
    return AccessRole.objects.all()


def default_role():
    from .models import AccessRole

    ensure_seeded()
    return AccessRole.objects.filter(is_default=True).order_by("pk").first()
