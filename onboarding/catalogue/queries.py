"""Looking things up in the catalogue: what the admin's lists and pickers use, and what
a later page can call. Every function returns a queryset, so callers can page it."""

from django.db.models import Q, QuerySet

from .links import DEVICE_LINKS, SPACE_LINKS
from .models import CatalogueEntry

# The reverse accessors of the OneToOne links (related_name on Device and Space).
LINKED_BY = ("linked_smartme_device", "linked_climkit_device", "linked_space")


def linked_q() -> Q:
    """Rows tied to a Device or a building."""
    return (
        Q(linked_smartme_device__isnull=False)
        | Q(linked_climkit_device__isnull=False)
        | Q(linked_space__isnull=False)
    )


def entries(
    text: str = "",
    *,
    platform: str | None = None,
    kind: str | None = None,
    linked: bool | None = None,
    gone: bool | None = None,
) -> QuerySet[CatalogueEntry]:
    """Catalogue rows matching every filter given: `text` in the name or serial
    (each word must match one of them), a platform, a kind, linked or not, gone or not."""
    rows = CatalogueEntry.objects.all()
    for word in text.split():
        rows = rows.filter(Q(name__icontains=word) | Q(serial__icontains=word))
    if platform:
        rows = rows.filter(platform=platform)
    if kind:
        rows = rows.filter(kind=kind)
    if linked is not None:
        rows = rows.filter(linked_q()) if linked else rows.exclude(linked_q())
    if gone is not None:
        rows = rows.filter(gone_since__isnull=not gone)
    return rows.select_related("parent", *LINKED_BY)


def linkable_to_device(text: str = "", *, platform: str | None = None):
    """What a Device can be linked to (smart-me devices, Climkit meters), present on
    the platform."""
    kinds = Q()
    for link_platform, kind in DEVICE_LINKS:
        if platform in (None, link_platform):
            kinds |= Q(platform=link_platform, kind=kind)
    return entries(text, gone=False).filter(kinds).order_by("platform", "name")


def linkable_to_building(text: str = ""):
    kinds = Q()
    for platform, kind in SPACE_LINKS:
        kinds |= Q(platform=platform, kind=kind)
    return entries(text, gone=False).filter(kinds).order_by("name")
