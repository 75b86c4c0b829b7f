"""Retry (staff send failed or waiting rows again now) and links to the object a row
is about."""

from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from .. import services
from ..models import Device, Invite, Space, SyncRecord, TenantUser
from .access import page


def safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


@require_POST
@page
def retry(request):
    # ASCII digits only, and no longer than a database id: "²".isdigit() is True, and a
    # 30-digit number overflows the column; either is no row, not a 500.
    ids = [int(v) for v in request.POST.getlist("row") if v.isascii() and v.isdigit()]
    ids = [i for i in ids if i < 2**63]
    rows = list(SyncRecord.objects.filter(pk__in=ids))
    count = services.retry(rows, who=request.user.get_username()) if ids else 0
    if count:
        messages.success(
            request,
            ngettext(
                "%(count)s sync row goes again now.", "%(count)s sync rows go again now.", count
            )
            % {"count": count},
        )
    else:
        messages.warning(
            request,
            ngettext(
                "Nothing to retry: it is no longer failed or waiting.",
                "Nothing to retry: they are no longer failed or waiting.",
                len(ids),
            ),
        )
    return redirect(safe_next(request, reverse("pages:dashboard")))


def object_url(obj) -> str:
    """The page of an object: its own, or the page of what holds it."""
    if isinstance(obj, Space):
        return reverse("pages:space", args=[obj.pk])
    if isinstance(obj, Device):
        return reverse("pages:device", args=[obj.pk])
    if isinstance(obj, TenantUser):
        return reverse("pages:tenant", args=[obj.pk])
    if isinstance(obj, Invite):
        return reverse("pages:space", args=[obj.space_id])
    tenant_id = getattr(obj, "tenant_id", None)
    if tenant_id:
        return reverse("pages:tenant", args=[tenant_id])
    raise Http404


@page
def go(request, content_type_id: int, object_id: int):
    try:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
    except ContentType.DoesNotExist:
        raise Http404 from None
    if model is None or model._meta.app_label != "onboarding":
        raise Http404
    obj = model._default_manager.filter(pk=object_id).first()
    if obj is None:
        raise Http404
    return redirect(object_url(obj))
