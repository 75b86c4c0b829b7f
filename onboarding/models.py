"""The portal's own picture of tenants and their homes; the platforms mirror it.

Every model here is synced through the outbox (onboarding/sync): its `sync_records`
say, per platform, whether the platform has it and under which remote id.
"""

import uuid

from django.contrib.contenttypes.fields import GenericRelation
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .catalogue.models import CatalogueEntry, CatalogueRefresh
from .page_models import ImportPreview, InviteEmail, Wizard
from .sync.models import ApiCall, ProviderConnection, SyncRecord
from .sync.reconcile.models import Comparison, Drift
from .validators import (
    formula_errors,
    validate_heating_elements,
    validate_postcode,
    validate_vin,
)
from .validators import (
    heating_element_watts as parse_heating_elements,
)

__all__ = [
    "ApiCall",
    "CatalogueEntry",
    "CatalogueRefresh",
    "Comparison",
    "Device",
    "Drift",
    "ImportPreview",
    "Invite",
    "InviteEmail",
    "Meter",
    "ProviderConnection",
    "Resource",
    "Space",
    "SyncRecord",
    "Tenancy",
    "TenantUser",
    "Vehicle",
    "Wizard",
]


class SpaceCategory(models.TextChoices):
    # Zählerfreunde's list (its public spec), the richest of the five platforms.
    APARTMENT_BUILDING = "APARTMENT_BUILDING", _("Apartment building")
    FLAT = "FLAT", _("Flat")
    SINGLE_FAMILY_HOME = "SINGLE_FAMILY_HOME", _("Single-family home")
    LANDLORD_TO_TENANT_ELECTRICITY_PROJECT = (
        "LANDLORD_TO_TENANT_ELECTRICITY_PROJECT",
        _("Self-consumption community (Mieterstrom)"),
    )
    HOUSEHOLD = "HOUSEHOLD", _("Household")
    ROOM = "ROOM", _("Room")
    GROUPING = "GROUPING", _("Grouping")
    REGION = "REGION", _("Region")
    OFFICE = "OFFICE", _("Office")
    COMMERCIAL = "COMMERCIAL", _("Commercial")
    RETAIL = "RETAIL", _("Retail")
    HOTEL = "HOTEL", _("Hotel")
    RESTAURANT = "RESTAURANT", _("Restaurant")
    DOCTORS_OFFICE = "DOCTORS_OFFICE", _("Doctor's office")
    PRODUCTION = "PRODUCTION", _("Production")
    PV_SYSTEM = "PV_SYSTEM", _("PV system")
    WIND_ENERGY = "WIND_ENERGY", _("Wind energy")
    BIOGAS = "BIOGAS", _("Biogas")


# Categories that are only ever a unit inside a building, never a building of their own.
UNIT_CATEGORIES = (SpaceCategory.FLAT, SpaceCategory.ROOM)
# One whole sentence per category: German declines the noun ("Eine Wohnung", "Ein Zimmer").
UNIT_NEEDS_BUILDING = {
    SpaceCategory.FLAT: _("A flat is a unit and needs its building: choose it here."),
    SpaceCategory.ROOM: _("A room is a unit and needs its building: choose it here."),
}


class Medium(models.TextChoices):
    ELECTRICITY = "ELECTRICITY", _("Electricity")
    GAS = "GAS", _("Gas")
    WATER = "WATER", _("Water")
    HEATING = "HEATING", _("Heating")


class DeviceType(models.TextChoices):
    SMART_METER = "SMART_METER", _("Smart meter")
    NON_SMART_METER = "NON_SMART_METER", _("Conventional meter")
    RLM_METER = "RLM_METER", _("RLM meter (load profile)")
    ENERGY_METER = "ENERGY_METER", _("Energy meter")
    VIRTUAL_METER = "VIRTUAL_METER", _("Virtual meter")
    OPTICAL_METER_SENSOR = "OPTICAL_METER_SENSOR", _("Optical meter sensor")
    GAS_METER = "GAS_METER", _("Gas meter")
    WATER_METER = "WATER_METER", _("Water meter")
    HEATING_METER = "HEATING_METER", _("Heating meter")
    WALLBOX = "WALLBOX", _("Wallbox")
    HEAT_PUMP = "HEAT_PUMP", _("Heat pump")
    BATTERY = "BATTERY", _("Battery")
    MICRO_INVERTER = "MICRO_INVERTER", _("Micro inverter")
    SMART_PLUG = "SMART_PLUG", _("Smart plug")
    SMART_RELAY = "SMART_RELAY", _("Smart relay")
    SMART_CAR = "SMART_CAR", _("Smart car")


class Synced(models.Model):
    """What every synced model shares: timestamps and its outbox rows."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Set when staff delete it: the platforms are told first, the row goes after.
    deletion_requested_at = models.DateTimeField(
        _("deletion requested at"), null=True, blank=True, editable=False
    )
    sync_records = GenericRelation(SyncRecord)

    class Meta:
        abstract = True

    def clean_fields(self, exclude=None):
        """Django's checks, and no free text beginning like a formula: what the wizard,
        the admin and the pages save reaches platforms, e-mails and spreadsheets (the
        importer checks its cells the same way, validators.looks_like_formula)."""
        errors = formula_errors(self, exclude)
        try:
            super().clean_fields(exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)


class Space(Synced):
    """A building, or a unit (flat, house in a community) inside one via `parent`."""

    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("building"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="units",
        help_text=_("The building this unit is in; empty for a building."),
    )
    category = models.CharField(_("category"), max_length=40, choices=SpaceCategory.choices)
    address_line_one = models.CharField(_("address line one"), max_length=200, blank=True)
    address_line_two = models.CharField(_("address line two"), max_length=200, blank=True)
    postcode = models.CharField(
        _("postcode"), max_length=5, blank=True, validators=[validate_postcode]
    )
    city = models.CharField(_("city"), max_length=100, blank=True)
    # Zählerfreunde's flag for a unit taking part in a landlord-to-tenant electricity
    # (Mieterstrom) project; sent only where we hold an answer.
    is_participating_in_ltt_project = models.BooleanField(
        _("takes part in the Mieterstrom project"), null=True, blank=True
    )
    # The building's site on Climkit (catalogue/links.py); buildings only.
    climkit_site = models.OneToOneField(
        CatalogueEntry,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="linked_space",
        limit_choices_to={"platform": "climkit", "kind": "site"},
        verbose_name=_("Climkit site"),
    )

    class Meta:
        verbose_name = _("space")
        verbose_name_plural = _("spaces")
        ordering = ["parent_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=Q(parent=None), name="unique_building_name"
            ),
            models.UniqueConstraint(fields=["parent", "name"], name="unique_unit_name_in_building"),
        ]

    def __str__(self):
        return f"{self.parent.name} / {self.name}" if self.parent_id else self.name

    @property
    def is_building(self) -> bool:
        return self.parent_id is None

    def clean(self):
        errors = {}
        if self.parent_id:
            if self.parent.parent_id:
                errors["parent"] = _("A unit cannot contain another unit; choose a building.")
            if self.pk and self.parent_id == self.pk:
                errors["parent"] = _("A space cannot be its own building.")
        elif self.category in UNIT_CATEGORIES:
            # Saved without its building: say that, not "a building needs its address".
            errors["parent"] = UNIT_NEEDS_BUILDING[self.category]
        else:
            for field in ("address_line_one", "postcode", "city"):
                if not getattr(self, field):
                    errors[field] = _("A building needs its address.")
        if errors:
            raise ValidationError(errors)

    def address(self) -> dict:
        """The postal address, a unit's own or else its building's."""
        source = self if (self.address_line_one or not self.parent_id) else self.parent
        return {
            "address_line_one": source.address_line_one,
            "address_line_two": self.address_line_two or source.address_line_two,
            "postcode": source.postcode,
            "city": source.city,
        }


class Device(Synced):
    """A meter or other device of a space."""

    space = models.ForeignKey(
        Space, on_delete=models.CASCADE, related_name="devices", verbose_name=_("space")
    )
    name = models.CharField(_("name"), max_length=200)
    medium = models.CharField(
        _("medium"), max_length=20, choices=Medium.choices, default=Medium.ELECTRICITY
    )
    device_type = models.CharField(
        _("device type"), max_length=30, choices=DeviceType.choices, default=DeviceType.SMART_METER
    )
    is_main_device = models.BooleanField(_("main meter"), default=False)
    external_device_id = models.CharField(
        _("external device id"),
        max_length=100,
        blank=True,
        help_text=_("Our key for it on every platform, e.g. the MeLo or the meter number."),
    )
    metering_location_id = models.CharField(
        _("metering location id (MeLo)"), max_length=50, blank=True
    )
    serial_number = models.CharField(_("serial number"), max_length=100, blank=True)
    # The meter as the read-only platforms know it (catalogue/links.py): one catalogue row
    # is tied to at most one device.
    smartme_device = models.OneToOneField(
        CatalogueEntry,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="linked_smartme_device",
        limit_choices_to={"platform": "smartme", "kind": "device"},
        verbose_name=_("smart-me device"),
    )
    climkit_meter = models.OneToOneField(
        CatalogueEntry,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="linked_climkit_device",
        limit_choices_to={"platform": "climkit", "kind": "meter"},
        verbose_name=_("Climkit meter"),
    )

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["space_id", "name"]
        constraints = [
            # Every platform receives every device, so one external id means one device.
            models.UniqueConstraint(
                fields=["external_device_id"],
                condition=~Q(external_device_id=""),
                name="unique_external_device_id",
                violation_error_message=_("Another device already has this external device id."),
            ),
            models.UniqueConstraint(fields=["space", "name"], name="unique_device_name_in_space"),
        ]

    def __str__(self):
        return f"{self.name} ({self.space})"


class TenantUser(Synced):
    """The person living in a unit."""

    unit = models.ForeignKey(
        Space, on_delete=models.CASCADE, related_name="tenants", verbose_name=_("unit")
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    # Spark's current API has the partner choose a user's id (NOTES.md): ours, made
    # before the first create, so a create whose answer was lost is found again by it.
    spark_user_id = models.UUIDField(
        _("Spark user id"),
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text=_("Our key for the tenant on Volue Spark."),
    )

    class Meta:
        verbose_name = _("tenant user")
        verbose_name_plural = _("tenant users")
        ordering = ["unit_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "email"], name="unique_tenant_email_in_unit")
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>"


class Tenancy(models.Model):
    """Who lived in a unit, from when to when: the unit's tenancy history.

    Kept after the tenant is gone (their name and e-mail are copied here), because a
    tenant's record and their access on the platforms end with the tenancy. Not synced
    to any platform."""

    unit = models.ForeignKey(
        Space, on_delete=models.CASCADE, related_name="tenancies", verbose_name=_("unit")
    )
    tenant = models.OneToOneField(
        TenantUser,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tenancy",
        verbose_name=_("tenant"),
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"))
    moved_in = models.DateField(_("moved in"), null=True, blank=True)
    moved_out = models.DateField(_("moved out"), null=True, blank=True)
    ended_by = models.CharField(_("ended by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tenancy")
        verbose_name_plural = _("tenancies")
        ordering = ["unit_id", "-moved_in", "-pk"]

    def __str__(self):
        return f"{self.name} <{self.email}>"


class Invite(Synced):
    """A tenant's access to a space on the platforms."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Not yet created")
        EMAILED = "emailed", _("Created; the platform e-mailed the tenant")
        LINK_READY = "link_ready", _("Created; hand the link to the tenant")
        ACCEPTED = "accepted", _("Accepted: the tenant has joined the unit")

    space = models.ForeignKey(
        Space, on_delete=models.CASCADE, related_name="invites", verbose_name=_("space")
    )
    tenant = models.ForeignKey(
        TenantUser,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invites",
        verbose_name=_("tenant"),
    )
    email = models.EmailField(_("e-mail"))
    send_invite_email = models.BooleanField(
        _("send invite e-mail"),
        default=True,
        help_text=_("The platform e-mails the invite link to the tenant."),
    )
    invite_link = models.URLField(_("invite link"), max_length=500, blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING, editable=False
    )

    class Meta:
        verbose_name = _("invite")
        verbose_name_plural = _("invites")
        ordering = ["space_id", "email"]
        constraints = [
            models.UniqueConstraint(fields=["space", "email"], name="unique_invite_per_space")
        ]

    def __str__(self):
        return gettext("Invite %(email)s to %(space)s") % {"email": self.email, "space": self.space}


# What a unit's category says about the place its meters measure (Spark's location
# type): a flat is residential, a shop or office commercial; the rest says neither.
RESIDENTIAL_CATEGORIES = (
    SpaceCategory.FLAT,
    SpaceCategory.APARTMENT_BUILDING,
    SpaceCategory.SINGLE_FAMILY_HOME,
    SpaceCategory.HOUSEHOLD,
    SpaceCategory.ROOM,
)
COMMERCIAL_CATEGORIES = (
    SpaceCategory.COMMERCIAL,
    SpaceCategory.OFFICE,
    SpaceCategory.RETAIL,
    SpaceCategory.HOTEL,
    SpaceCategory.RESTAURANT,
    SpaceCategory.DOCTORS_OFFICE,
    SpaceCategory.PRODUCTION,
)


class Meter(Synced):
    """A tenant's power meter, as energy-coordination platforms register it (Spark's
    current API: a location with the meter's metering point)."""

    class LocationType(models.TextChoices):
        FROM_UNIT = "", _("From the unit (a flat: residential; a shop, office: commercial)")
        RESIDENTIAL = "Residential", _("Residential")
        COMMERCIAL = "Commercial", _("Commercial")
        OTHER = "Other", _("Other")

    tenant = models.ForeignKey(
        TenantUser, on_delete=models.CASCADE, related_name="meters", verbose_name=_("tenant")
    )
    meter_point_id = models.CharField(
        _("metering point id"),
        max_length=50,
        help_text=_("The metering point id (MeLo / metering point number)."),
    )
    meter_number = models.CharField(_("meter number"), max_length=50, blank=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    location_type = models.CharField(
        _("location type"),
        max_length=20,
        choices=LocationType.choices,
        default=LocationType.FROM_UNIT,
        blank=True,
    )
    # Spark's current API has the partner choose a location's id: ours, like the user's.
    spark_location_id = models.UUIDField(
        _("Spark location id"),
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text=_("Our key for the meter's location on Volue Spark."),
    )

    class Meta:
        verbose_name = _("meter")
        verbose_name_plural = _("meters")
        constraints = [
            models.UniqueConstraint(fields=["meter_point_id"], name="unique_meter_point_id")
        ]

    def __str__(self):
        return gettext("Meter %(id)s") % {"id": self.meter_point_id}

    @property
    def effective_location_type(self) -> str:
        """The location type chosen, or what the tenant's unit says (reads the unit)."""
        if self.location_type:
            return self.location_type
        category = self.tenant.unit.category
        if category in RESIDENTIAL_CATEGORIES:
            return self.LocationType.RESIDENTIAL
        if category in COMMERCIAL_CATEGORIES:
            return self.LocationType.COMMERCIAL
        return self.LocationType.OTHER


class Vehicle(Synced):
    """A tenant's electric vehicle."""

    tenant = models.ForeignKey(
        TenantUser, on_delete=models.CASCADE, related_name="vehicles", verbose_name=_("tenant")
    )
    vehicle_id = models.UUIDField(
        _("vehicle id"),
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text=_("Our key for it on platforms."),
    )
    brand = models.CharField(_("brand"), max_length=100)
    model = models.CharField(_("model"), max_length=100)
    year = models.PositiveSmallIntegerField(
        _("year"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1990), MaxValueValidator(2100)],
    )
    vin = models.CharField(
        _("VIN"), max_length=17, blank=True, validators=[validate_vin], unique=True, null=True
    )

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")

    def __str__(self):
        return f"{self.brand} {self.model}"

    def save(self, *args, **kwargs):
        self.vin = self.vin or None  # several vehicles may have no VIN; unique ignores NULL
        super().save(*args, **kwargs)

    def place(self):
        """(latitude, longitude) of its tenant's first meter that has them, or Nones."""
        meter = (
            self.tenant.meters.exclude(latitude=None).exclude(longitude=None).order_by("pk")
        ).first()
        return (meter.latitude, meter.longitude) if meter else (None, None)


class Resource(Synced):
    """A tenant's flexible load other than a vehicle: a hot-water tank, heat pump,
    battery…, with the metadata Volue Spark's guide registers (brand, model, capacity,
    heating elements)."""

    class Kind(models.TextChoices):
        # Spark's resourceType values (providers/spark/client.py RESOURCE_TYPES).
        HOT_WATER_TANK = "HotWaterTank", _("Hot-water tank")
        HEAT_PUMP = "HeatPump", _("Heat pump")
        BATTERY = "Battery", _("Home battery")
        ELECTRIC_BOILER = "ElectricBoiler", _("Electric boiler")
        CHARGER = "Charger", _("EV charger")
        HVAC = "HVAC", _("Heating, ventilation, air conditioning")
        SOLAR_INVERTER = "SolarInverter", _("Solar inverter")
        GENERIC = "Generic", _("Other")

    # Kinds heated by resistive elements, the only ones the guide gives elements for.
    HEATED_BY_ELEMENTS = (Kind.HOT_WATER_TANK, Kind.ELECTRIC_BOILER)

    tenant = models.ForeignKey(
        TenantUser, on_delete=models.CASCADE, related_name="resources", verbose_name=_("tenant")
    )
    # Spark's current API binds every resource but a vehicle to a location (a meter).
    meter = models.ForeignKey(
        Meter,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resources",
        verbose_name=_("meter"),
        help_text=_("The tenant's meter it sits behind; empty: the tenant's first meter."),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    resource_id = models.UUIDField(
        _("resource id"),
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text=_("Our key for it on platforms."),
    )
    brand = models.CharField(_("brand"), max_length=100, blank=True)
    model = models.CharField(_("model"), max_length=100, blank=True)
    capacity = models.PositiveIntegerField(
        _("capacity"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(10_000_000)],
        # The guide gives no unit; its example tank holds 500, which is litres.
        help_text=_("Litres for a hot-water tank or boiler, Wh for a battery."),
    )
    heating_elements = models.CharField(
        _("heating elements"),
        max_length=100,
        blank=True,
        validators=[validate_heating_elements],
        help_text=_("Each element's power in watts, separated by commas, e.g. 1750, 1250."),
    )

    class Meta:
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        ordering = ["tenant_id", "kind", "pk"]

    def __str__(self):
        described = " ".join(filter(None, [self.brand, self.model]))
        return f"{self.get_kind_display()}{f' {described}' if described else ''}"

    @property
    def location_meter(self) -> "Meter | None":
        """The meter whose location the resource is bound to on Spark (current API)."""
        if self.meter_id is not None:
            return self.meter
        return self.tenant.meters.order_by("pk").first()

    def clean(self):
        meter_elsewhere = self.meter_id is not None and self.meter.tenant_id != self.tenant_id
        if meter_elsewhere and self.tenant_id is not None:
            raise ValidationError({"meter": _("Choose one of this tenant's meters.")})
        if self.heating_elements and self.kind not in self.HEATED_BY_ELEMENTS:
            raise ValidationError(
                {
                    "heating_elements": _(
                        "Only hot-water tanks and electric boilers have heating "
                        "elements; leave this empty."
                    )
                }
            )

    @property
    def heating_element_watts(self) -> list[int]:
        return parse_heating_elements(self.heating_elements)
