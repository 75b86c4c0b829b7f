"""Day-to-day changes in the pages: edit a space, device, tenant or a tenant's meter,
vehicle, resource; move a device to another unit of its building; delete with a
confirmation that says what happens on each platform; the change of tenant of a unit.

Every change goes through onboarding.services, as the wizard's do: what a platform
holding the object cannot take is refused before saving, with its reason beside the
field; after saving, the object's page shows each platform's live state.
"""

import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import services, sync_words
from ..models import Device, Meter, Space, TenantUser, Vehicle
from . import status
from .access import page
from .rendering import page_or_fragment
from .sync import object_url
from .wizard_forms import (
    BuildingForm,
    DeviceForm,
    MeterForm,
    TenantForm,
    UnitForm,
    VehicleForm,
    resource_form_class,
)


def models_by_kind() -> dict:
    kinds = {"space": Space, "device": Device, "tenant": TenantUser, "meter": Meter,
             "vehicle": Vehicle}  # fmt: skip
    resource = status.optional_model("Resource")
    if resource is not None:
        kinds["resource"] = resource
    return kinds


def kind_of(obj) -> str:
    return next(k for k, model in models_by_kind().items() if isinstance(obj, model))


class MovableDeviceForm(DeviceForm):
    """A device's form with its unit: it may move to another unit of its building."""

    class Meta(DeviceForm.Meta):
        fields = ["space", *DeviceForm.Meta.fields]
        labels = {**DeviceForm.Meta.labels, "space": gettext_lazy("Unit")}
        help_texts = {
            **DeviceForm.Meta.help_texts,
            "space": gettext_lazy("Move it to another unit of the building."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        here = self.instance.space
        building = here.parent or here
        self.fields["space"].queryset = Space.objects.filter(
            pk__in=[building.pk, *building.units.values_list("pk", flat=True)]
        ).select_related("parent")
        self.fields["space"].empty_label = None

    def clean(self):
        self.space = self.cleaned_data.get("space") or self.space  # names are unique per unit
        return super().clean()


def form_for(obj, data=None):
    if isinstance(obj, Space):
        if obj.is_building:
            return BuildingForm(data, instance=obj)
        return UnitForm(data, instance=obj, building=obj.parent)
    if isinstance(obj, Device):
        return MovableDeviceForm(data, instance=obj, space=obj.space)
    if isinstance(obj, TenantUser):
        return TenantForm(data, instance=obj, unit=obj.unit)
    if isinstance(obj, Meter):
        return MeterForm(data, instance=obj)
    if isinstance(obj, Vehicle):
        return VehicleForm(data, instance=obj)
    return resource_form_class()(data, instance=obj)


def get_obj(kind: str, pk: int):
    model = models_by_kind().get(kind)
    if model is None:
        raise Http404
    return get_object_or_404(model, pk=pk)


def after_delete_url(obj) -> str:
    """Where staff land once something is deleted: the page of what held it."""
    holder = getattr(obj, "parent", None) if isinstance(obj, Space) else None
    for name in ("space", "unit", "tenant"):
        holder = holder or getattr(obj, name, None)
    return object_url(holder) if holder is not None else reverse("pages:dashboard")


def refused_fields(form, exc: ValidationError) -> None:
    """A platform's refusal beside its field, or above the form when it has none."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                text = sync_words.translate(" ".join(error.messages))
                form.add_error(field if field in form.fields else None, text)
    else:
        form.add_error(None, [sync_words.translate(m) for m in exc.messages])


@page
def edit(request, kind: str, pk: int):
    obj = get_obj(kind, pk)
    if obj.deletion_requested_at:
        messages.error(request, _("It is being deleted and cannot be changed."))
        return redirect(object_url(obj))
    form = form_for(obj, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.save(form.save(commit=False))
        except ValidationError as exc:
            refused_fields(form, exc)
        except ValueError as exc:  # deleted in another tab meanwhile
            form.add_error(None, sync_words.translate(str(exc)))
        else:
            messages.success(
                request, _("Saved. Each platform's state below updates by itself until it settles.")
            )
            return redirect(object_url(obj))
    context = {"obj": obj, "form": form, "kind": kind, "title": str(obj), "back": object_url(obj)}
    return page_or_fragment(request, "onboarding/edit.html", "onboarding/_edit_form.html", context)


@page
def delete(request, kind: str, pk: int):
    obj = get_obj(kind, pk)
    back = object_url(obj)
    if request.method == "POST":
        notes: list[str] = []
        target = after_delete_url(obj)
        try:
            gone = services.delete(obj, notes)
        except services.DeletionRefused as refusal:
            messages.error(request, sync_words.translate(str(refusal)))
            return redirect(back)
        except ValueError as exc:
            messages.error(request, sync_words.translate(str(exc)))
            return redirect(back)
        for note in notes:
            messages.warning(request, sync_words.translate(note))
        if gone:
            messages.success(request, _("Deleted: %(obj)s.") % {"obj": obj})
        else:
            messages.success(
                request,
                _("Deletion of %(obj)s requested: the platforms are told first.") % {"obj": obj},
            )
        return redirect(target)
    effects = services.deletion_effects(obj)
    context = {"obj": obj, "title": str(obj), "effects": translated(effects), "back": back}
    return page_or_fragment(request, "onboarding/delete.html", "onboarding/delete.html", context)


def translated(effects: dict) -> dict:
    for platform in effects["platforms"]:
        for effect in platform["effects"]:
            effect["effect"] = sync_words.translate(effect["effect"])
    effects["notes"] = [sync_words.translate(n) for n in effects["notes"]]
    effects["refusal"] = sync_words.translate(effects["refusal"])
    return effects


# --- Change of tenant -----------------------------------------------------------------


class ChangeOfTenantForm(forms.Form):
    leaving = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Who moves out"),
        queryset=TenantUser.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    moved_out = forms.DateField(
        label=gettext_lazy("Move-out date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    moves_in = forms.DateField(
        label=gettext_lazy("The new tenant moves in on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Empty: the day after the move-out."),
    )

    def __init__(self, *args, unit, **kwargs):
        super().__init__(*args, **kwargs)
        current = TenantUser.objects.filter(unit=unit, deletion_requested_at__isnull=True)
        self.fields["leaving"].queryset = current
        self.fields["leaving"].initial = list(current.values_list("pk", flat=True))
        self.fields["moved_out"].initial = timezone.localdate()

    def clean(self):
        data = super().clean()
        out, moves_in = data.get("moved_out"), data.get("moves_in")
        if out and moves_in and moves_in < out:
            self.add_error("moves_in", _("The new tenant cannot move in before the move-out."))
        return data


@page
def change_tenant(request, pk: int):
    unit = get_object_or_404(Space.objects.select_related("parent"), pk=pk, parent__isnull=False)
    form = ChangeOfTenantForm(request.POST or None, unit=unit)
    if request.method == "POST" and form.is_valid():
        leaving = list(form.cleaned_data["leaving"])
        moved_out = form.cleaned_data["moved_out"]
        moves_in = form.cleaned_data["moves_in"] or moved_out + datetime.timedelta(days=1)
        try:
            services.end_tenancy(leaving, moved_out=moved_out, ended_by=request.user.get_username())
        except services.DeletionRefused as refusal:
            form.add_error(None, sync_words.translate(str(refusal)))
        else:
            wizard = services.start_change_of_tenant(
                unit, moves_in_on=moves_in, started_by=request.user.get_username()
            )
            if leaving:
                messages.success(
                    request,
                    _("The tenancy of %(names)s ends; their access is being removed.")
                    % {"names": ", ".join(t.name for t in leaving)},
                )
            return redirect(reverse("pages:wizard_step", args=[wizard.pk, wizard.step]))
    effects = [
        {"tenant": tenant, **translated(services.deletion_effects(tenant))}
        for tenant in form.fields["leaving"].queryset
    ]
    context = {"unit": unit, "form": form, "effects": effects, "title": str(unit)}
    return page_or_fragment(
        request, "onboarding/change_tenant.html", "onboarding/change_tenant.html", context
    )
