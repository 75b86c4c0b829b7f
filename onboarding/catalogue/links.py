"""Tying our objects to what the platforms hold.

A Device may be tied to one smart-me device and/or one Climkit meter; a building to
one Climkit site; one catalogue row to at most one of ours (OneToOne fields on Device
and Space). Linking goes through onboarding.services.save, so the change reaches the
outbox like any other edit. It fills what the Device lacks (its name, its medium) from
the catalogue and never overwrites what staff typed.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .. import services
from ..models import Device, Medium, Space
from .models import CatalogueEntry

# (platform, kind) → the field that holds such a link, on Device or on Space.
DEVICE_LINKS = {("smartme", "device"): "smartme_device", ("climkit", "meter"): "climkit_meter"}
SPACE_LINKS = {("climkit", "site"): "climkit_site"}
LINK_FIELDS = {Device: DEVICE_LINKS, Space: SPACE_LINKS}

# The platforms' words for what a meter measures → our medium. smart-me's
# DeviceEnergyType 1–4 (providers/smartme/values.py: electricity, water, gas, heat) and
# Climkit's meter types; "cooling" has no medium of ours and fills nothing.
MEDIA = {
    "electricity": Medium.ELECTRICITY,
    "charge_point": Medium.ELECTRICITY,
    "water": Medium.WATER,
    "cold_water": Medium.WATER,
    "hot_water": Medium.WATER,
    "gas": Medium.GAS,
    "heat": Medium.HEATING,
    "heating": Medium.HEATING,
}


@dataclass
class LinkResult:
    filled: list[str] = field(default_factory=list)  # fields taken from the catalogue
    notes: list[str] = field(default_factory=list)  # disagreements kept as staff had them


def medium_of(entry: CatalogueEntry) -> str | None:
    return MEDIA.get(entry.medium.strip().lower())


def link_field(obj, entry: CatalogueEntry) -> str:
    """The field of `obj` that takes `entry`, or a ValidationError saying why none does."""
    links = LINK_FIELDS[type(obj)]
    name = links.get((entry.platform, entry.kind))
    if name is None:
        takes = ", ".join(f"a {p} {k}" for p, k in links)
        said = (
            _("%(entry)s is a %(platform)s %(kind)s; a device can only be linked to %(takes)s.")
            if isinstance(obj, Device)
            else _(
                "%(entry)s is a %(platform)s %(kind)s; a building can only be linked to %(takes)s."
            )
        )
        raise ValidationError(
            said
            % {
                "entry": entry.name or entry.remote_id,
                "platform": entry.platform,
                "kind": entry.kind,
                "takes": takes,
            }
        )
    if isinstance(obj, Space) and not obj.is_building:
        raise ValidationError(_("Only a building can be linked to a Climkit site, not a unit."))
    return name


def link_problem(obj, name: str, entry: CatalogueEntry) -> str | None:
    """Why `entry` cannot go into `obj`'s link field `name`, or None."""
    try:
        if link_field(obj, entry) != name:
            field = type(obj)._meta.get_field(name)
            return _("%(entry)s is not a %(field)s.") % {
                "entry": entry.name or entry.remote_id,
                "field": field.verbose_name,
            }
    except ValidationError as exc:
        return " ".join(exc.messages)
    holder = type(obj)._default_manager.filter(**{name: entry}).exclude(pk=obj.pk).first()
    if holder is not None:
        what = entry.name or entry.remote_id
        return _("%(entry)s is already linked to %(holder)s; unlink it there first.") % {
            "entry": what,
            "holder": holder,
        }
    return None


def check_links(obj) -> None:
    """Every link `obj` holds is of the right platform and kind and tied to nothing else.
    Raises ValidationError keyed by field, for forms and services alike."""
    errors = {}
    for name in LINK_FIELDS[type(obj)].values():
        entry = getattr(obj, name)
        problem = link_problem(obj, name, entry) if entry is not None else None
        if problem:
            errors[name] = [problem]
    if errors:
        raise ValidationError(errors)


def fill_from_links(device: Device) -> LinkResult:
    """Fill the name, medium and serial number a Device lacks from its links, smart-me
    first: staff tie a meter without typing its serial."""
    result = LinkResult()
    for name in DEVICE_LINKS.values():
        entry = getattr(device, name)
        if entry is None:
            continue
        if not device.name.strip() and entry.name:
            device.name = entry.name[: Device._meta.get_field("name").max_length]
            result.filled.append("name")
        if not device.serial_number.strip() and entry.serial:
            limit = Device._meta.get_field("serial_number").max_length
            device.serial_number = entry.serial[:limit]
            result.filled.append("serial_number")
        medium = medium_of(entry)
        if medium and not device.medium:
            device.medium = medium
            result.filled.append("medium")
        elif medium and device.medium != medium:
            result.notes.append(
                _(
                    "%(platform)s says %(entry)s measures %(theirs)s; the device keeps "
                    "%(ours)s as entered."
                )
                % {
                    "platform": entry.platform,
                    "entry": entry.name or entry.remote_id,
                    "theirs": str(Medium(medium).label).lower(),
                    "ours": str(Medium(device.medium).label).lower(),
                }
            )
    return result


def link_device(device: Device, entry: CatalogueEntry) -> LinkResult:
    """Tie `device` to `entry` (its smart-me device or Climkit meter), fill what it
    lacks, save it through the outbox. ValidationError if the entry does not fit."""
    name = link_field(device, entry)
    with transaction.atomic():
        # Lock the entry, so two staff linking it to two devices at once cannot both win.
        CatalogueEntry.objects.select_for_update().filter(pk=entry.pk).first()
        setattr(device, name, entry)
        check_links(device)
        result = fill_from_links(device)
        services.save(device)
    return result


def unlink_device(device: Device, platform: str) -> None:
    for (link_platform, _kind), name in DEVICE_LINKS.items():
        if link_platform == platform:
            setattr(device, name, None)
    services.save(device)


def link_space(space: Space, entry: CatalogueEntry) -> None:
    """Tie a building to its Climkit site."""
    name = link_field(space, entry)
    with transaction.atomic():
        CatalogueEntry.objects.select_for_update().filter(pk=entry.pk).first()
        setattr(space, name, entry)
        check_links(space)
        services.save(space)


def unlink_space(space: Space) -> None:
    for name in SPACE_LINKS.values():
        setattr(space, name, None)
    services.save(space)
