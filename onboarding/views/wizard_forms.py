"""The wizard's forms: model forms, so the models' own rules (unique names, a
building's address, valid VINs) are checked on the server and shown beside the field."""

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance
from django.utils.translation import gettext_lazy as _

from ..models import Device, DeviceType, Medium, Meter, Space, SpaceCategory, TenantUser, Vehicle

# The wizard's labels for the models' choices (the models' own labels are translated too,
# for the admin and the object pages; these keys are also what the wizard offers).
CATEGORY_LABELS = {
    SpaceCategory.APARTMENT_BUILDING: _("Apartment building"),
    SpaceCategory.FLAT: _("Flat"),
    SpaceCategory.SINGLE_FAMILY_HOME: _("Single-family home"),
    SpaceCategory.LANDLORD_TO_TENANT_ELECTRICITY_PROJECT: _(
        "Self-consumption community (Mieterstrom)"
    ),
    SpaceCategory.HOUSEHOLD: _("Household"),
    SpaceCategory.OFFICE: _("Office"),
    SpaceCategory.COMMERCIAL: _("Commercial"),
    SpaceCategory.RETAIL: _("Retail"),
}
MEDIUM_LABELS = {
    Medium.ELECTRICITY: _("Electricity"),
    Medium.GAS: _("Gas"),
    Medium.WATER: _("Water"),
    Medium.HEATING: _("Heating"),
}
DEVICE_TYPE_LABELS = {
    DeviceType.SMART_METER: _("Smart meter"),
    DeviceType.NON_SMART_METER: _("Conventional meter"),
    DeviceType.RLM_METER: _("RLM meter (load profile)"),
    DeviceType.ENERGY_METER: _("Energy meter"),
    DeviceType.GAS_METER: _("Gas meter"),
    DeviceType.WATER_METER: _("Water meter"),
    DeviceType.HEATING_METER: _("Heating meter"),
    DeviceType.WALLBOX: _("Wallbox"),
    DeviceType.HEAT_PUMP: _("Heat pump"),
    DeviceType.BATTERY: _("Battery"),
}


class OneMessagePerField:
    """A field already said to be wrong ("This field is required.") is not told again by
    the model's own rule ("A building needs its address."): one message a field."""

    def add_error(self, field, error):
        if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            error = ValidationError(
                {f: e for f, e in error.error_dict.items() if f not in self._errors}
            )
            if not error.error_dict:
                return
        elif field is not None and field in self._errors:
            return
        super().add_error(field, error)


def translated(choices, labels) -> list:
    return [(value, labels.get(value, label)) for value, label in choices]


class BuildingChoiceForm(forms.Form):
    building = forms.ModelChoiceField(
        label=_("Existing building"),
        queryset=Space.objects.filter(parent__isnull=True).order_by("name"),
        required=False,
        empty_label=_("— a new building (fill in below) —"),
        help_text=_("Pick the building, or leave this and describe a new one below."),
    )


class BuildingForm(OneMessagePerField, forms.ModelForm):
    class Meta:
        model = Space
        fields = ["name", "category", "address_line_one", "address_line_two", "postcode", "city"]
        labels = {
            "name": _("Building name"),
            "category": _("Kind of building"),
            "address_line_one": _("Street and number"),
            "address_line_two": _("Address line two"),
            "postcode": _("Postcode"),
            "city": _("City"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = translated(
            [(SpaceCategory.APARTMENT_BUILDING, ""), (SpaceCategory.SINGLE_FAMILY_HOME, ""),
             (SpaceCategory.LANDLORD_TO_TENANT_ELECTRICITY_PROJECT, ""),
             (SpaceCategory.COMMERCIAL, "")],
            CATEGORY_LABELS,
        )  # fmt: skip
        self.fields["category"].initial = SpaceCategory.APARTMENT_BUILDING
        for name in ("address_line_one", "postcode", "city"):
            self.fields[name].required = True


class UnitForm(OneMessagePerField, forms.ModelForm):
    class Meta:
        model = Space
        fields = ["name", "category", "address_line_two", "is_participating_in_ltt_project"]
        labels = {
            "name": _("Unit name"),
            "category": _("Kind of unit"),
            "address_line_two": _("Address line two (e.g. floor)"),
            "is_participating_in_ltt_project": _("Takes part in the Mieterstrom project"),
        }
        help_texts = {"name": _("For example “Flat 3 left”; unique in its building.")}

    def __init__(self, *args, building=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.building = building
        self.fields["category"].choices = translated(
            [(SpaceCategory.FLAT, ""), (SpaceCategory.HOUSEHOLD, ""), (SpaceCategory.OFFICE, ""),
             (SpaceCategory.RETAIL, "")],
            CATEGORY_LABELS,
        )  # fmt: skip
        self.fields["category"].initial = SpaceCategory.FLAT
        self._ask_what_is_fixed_at_create()

    LTT = "is_participating_in_ltt_project"

    def _ask_what_is_fixed_at_create(self):
        """A platform that keeps the Mieterstrom flag from the create must not get our
        "Unknown" (it would become its "no" for good): the answer is asked for now."""
        from ..sync.attention import fixed_at_create

        self.asks_for_flag = [] if self.instance.pk else fixed_at_create(Space, self.LTT)
        if self.asks_for_flag:
            field = self.fields[self.LTT]
            field.widget.choices = [
                ("", _("— please answer —")),
                ("true", _("Yes")),
                ("false", _("No")),
            ]
            field.help_text = _(
                "%(platforms)s takes this only when it creates the unit and cannot change it "
                "later: answer it now."
            ) % {"platforms": ", ".join(self.asks_for_flag)}

    def clean_is_participating_in_ltt_project(self):
        value = self.cleaned_data.get(self.LTT)
        if value is None and self.asks_for_flag:
            raise ValidationError(
                _("Answer yes or no: %(platforms)s cannot change it once the unit is made.")
                % {"platforms": ", ".join(self.asks_for_flag)}
            )
        return value

    def _post_clean(self):
        if self.building is not None and self.building.pk:
            self.instance.parent = self.building
            return super()._post_clean()
        # The building is not saved yet (it is new, or its own form has errors): check
        # the unit's fields now; the model's rules run once the step saves the building.
        try:
            self.instance = construct_instance(self, self.instance, self._meta.fields)
            self.instance.clean_fields(exclude=self._get_validation_exclusions())
        except ValidationError as exc:
            self._update_errors(exc)

    def clean(self):
        data = super().clean()
        name = data.get("name")
        if self.building is not None and self.building.pk and name:
            taken = Space.objects.filter(parent=self.building, name=name)
            if self.instance.pk:
                taken = taken.exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error("name", _("This building already has a unit of that name."))
        return data


class DeviceForm(OneMessagePerField, forms.ModelForm):
    class Meta:
        model = Device
        fields = [
            "name",
            "medium",
            "device_type",
            "is_main_device",
            "external_device_id",
            "metering_location_id",
            "serial_number",
        ]
        labels = {
            "name": _("Device name"),
            "medium": _("Medium"),
            "device_type": _("Device type"),
            "is_main_device": _("Main meter of the unit"),
            "external_device_id": _("External device id"),
            "metering_location_id": _("Metering location id (MeLo)"),
            "serial_number": _("Serial number"),
        }
        help_texts = {
            "external_device_id": _("Our key for it on every platform, e.g. the meter number."),
        }

    def __init__(self, *args, space=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.space = space
        self.fields["medium"].choices = translated(Medium.choices, MEDIUM_LABELS)
        self.fields["device_type"].choices = translated(
            [(v, label) for v, label in DeviceType.choices if v in DEVICE_TYPE_LABELS],
            DEVICE_TYPE_LABELS,
        )

    def clean(self):
        data = super().clean()
        if self.space is not None and data.get("name"):
            taken = Device.objects.filter(space=self.space, name=data["name"])
            if self.instance.pk:
                taken = taken.exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error("name", _("This unit already has a device of that name."))
        return data


class TenantForm(OneMessagePerField, forms.ModelForm):
    class Meta:
        model = TenantUser
        fields = ["name", "email", "phone"]
        labels = {"name": _("Full name"), "email": _("E-mail"), "phone": _("Phone")}
        widgets = {"phone": forms.TextInput(attrs={"type": "tel"})}

    def __init__(self, *args, unit=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit = unit

    def clean(self):
        data = super().clean()
        if self.unit is not None and data.get("email"):
            taken = TenantUser.objects.filter(unit=self.unit, email__iexact=data["email"])
            if self.instance.pk:
                taken = taken.exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error("email", _("This unit already has a tenant with that e-mail."))
        return data


class MeterForm(OneMessagePerField, forms.ModelForm):
    class Meta:
        model = Meter
        fields = ["meter_point_id", "meter_number", "location_type"]
        labels = {
            "meter_point_id": _("Metering point id"),
            "meter_number": _("Meter number"),
            "location_type": _("Location"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location_type"].choices = [
            (Meter.LocationType.RESIDENTIAL, _("Residential")),
            (Meter.LocationType.COMMERCIAL, _("Commercial")),
        ]


class VehicleForm(OneMessagePerField, forms.ModelForm):
    class Meta:
        model = Vehicle
        fields = ["brand", "model", "year", "vin"]
        labels = {"brand": _("Brand"), "model": _("Model"), "year": _("Year"), "vin": _("VIN")}


def resource_form_class():
    """Spark's resources, where the Resource model exists."""
    from .status import optional_model

    resource = optional_model("Resource")
    if resource is None:
        return None

    class ResourceForm(OneMessagePerField, forms.ModelForm):
        class Meta:
            model = resource
            fields = ["kind", "brand", "model", "capacity", "heating_elements"]
            labels = {
                "kind": _("Kind"),
                "brand": _("Brand"),
                "model": _("Model"),
                "capacity": _("Capacity"),
                "heating_elements": _("Heating elements (W)"),
            }

    return ResourceForm


class InviteForm(forms.Form):
    HOW = [
        ("platform", _("Zählerfreunde e-mails the invite")),
        ("portal", _("The portal e-mails the link Zählerfreunde returns")),
    ]
    email = forms.EmailField(label=_("Invite this e-mail address"))
    how = forms.ChoiceField(
        label=_("Who sends the invite e-mail"), choices=HOW, widget=forms.RadioSelect
    )
    language = forms.ChoiceField(
        label=_("Language of the portal's e-mail"),
        choices=[("de", _("German")), ("en", _("English"))],
        required=False,
    )


class SendInviteForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"), choices=[("de", _("German")), ("en", _("English"))]
    )
