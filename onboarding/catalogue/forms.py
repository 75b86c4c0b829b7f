"""Admin forms that tie a Device or a building to the catalogue, with clear refusals,
and let a device take its name and medium from the meter it is linked to."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..forms import SyncedForm
from ..models import Device, Medium, Space
from .links import DEVICE_LINKS, fill_from_links, link_problem

FROM_CATALOGUE = gettext_lazy("— take it from the linked smart-me device / Climkit meter —")
FILLED_IF_EMPTY = gettext_lazy("Left empty, it is taken from the linked meter.")


class DeviceLinksForm(SyncedForm):
    class Meta:
        model = Device
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "name" in self.fields:
            self.fields["name"].required = False
            self.fields["name"].help_text = FILLED_IF_EMPTY
        if "serial_number" in self.fields:
            self.fields["serial_number"].help_text = FILLED_IF_EMPTY
        if "medium" in self.fields:
            self.fields["medium"].required = False
            self.fields["medium"].choices = [("", FROM_CATALOGUE), *Medium.choices]
            if self.instance.pk is None and not self.is_bound:
                self.initial["medium"] = ""

    def clean(self):
        data = super().clean()
        for name in DEVICE_LINKS.values():
            entry = data.get(name)
            problem = entry is not None and link_problem(self.instance, name, entry)
            if problem:
                self.add_error(name, problem)
        # What staff left empty comes from the links; what they typed stays.
        probe = Device(
            name=data.get("name") or "",
            medium=data.get("medium") or "",
            serial_number=data.get("serial_number") or "",
        )
        for name in DEVICE_LINKS.values():
            setattr(probe, name, data.get(name) if name not in self.errors else None)
        fill_from_links(probe)
        data["name"], data["medium"] = probe.name, probe.medium
        if "serial_number" in self.fields:
            data["serial_number"] = probe.serial_number
        if not probe.name:
            self.add_error("name", _("Enter a name, or link a meter to take its name from."))
        if not probe.medium:
            self.add_error(
                "medium", _("Choose a medium, or link a meter that says what it measures.")
            )
        return data


class SpaceLinksForm(SyncedForm):
    class Meta:
        model = Space
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose

    def clean(self):
        data = super().clean()
        entry = data.get("climkit_site")
        if entry is not None:
            probe = Space(pk=self.instance.pk, parent=data.get("parent"))
            problem = link_problem(probe, "climkit_site", entry)
            if problem:
                self.add_error("climkit_site", problem)
        return data
