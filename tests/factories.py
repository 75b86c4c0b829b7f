"""Small builders for tenants' homes, through the service layer like staff would."""

from onboarding import services
from onboarding.models import Device, Invite, Space, TenantUser


def building(name: str = "Lindenhof", **fields) -> Space:
    defaults = {
        "category": "APARTMENT_BUILDING",
        "address_line_one": "Lindenstrasse 5",
        "postcode": "8004",
        "city": "Zürich",
    }
    return services.save(Space(name=name, **{**defaults, **fields}))


def unit(parent: Space, name: str, **fields) -> Space:
    return services.save(Space(name=name, parent=parent, category="FLAT", **fields))


def device(space: Space, name: str = "Main meter", external_id: str = "", **fields) -> Device:
    fields = {"is_main_device": True, **fields}
    return services.save(Device(space=space, name=name, external_device_id=external_id, **fields))


def tenant_with_invite(space: Space, email: str, send_email: bool = True) -> Invite:
    tenant = services.save(TenantUser(unit=space, name=email.split("@")[0], email=email))
    return services.save(
        Invite(space=space, tenant=tenant, email=email, send_invite_email=send_email)
    )


def building_with_units(n: int = 3) -> Space:
    home = building()
    for i in range(1, n + 1):
        flat = unit(home, f"Flat {i}")
        device(flat, f"Meter {i}", external_id=f"CH100{i:05d}")
        tenant_with_invite(flat, f"tenant{i}@example.org")
    return home
