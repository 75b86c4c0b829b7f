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

from .catalogue.models import CatalogueEntry, CatalogueRefresh
from .page_models import InviteEmail, Wizard
from .sync.models import ApiCall, ProviderConnection, SyncRecord
from .validators import (
    heating_element_watts as parse_heating_elements,
)
from .validators import (
    validate_heating_elements,
    validate_postcode,
    validate_vin,
)

__all__ = [
    "ApiCall",
    "CatalogueEntry",
    "CatalogueRefresh",
    "Device",
    "Invite",
    "InviteEmail",
    "Meter",
    "ProviderConnection",
    "Resource",
    "Space",
    "SyncRecord",
    "TenantUser",
    "Vehicle",
    "Wizard",
]


class SpaceCategory(models.TextChoices):
    # Zählerfreunde's list (its public spec), the richest of the five platforms.
    APARTMENT_BUILDING = "APARTMENT_BUILDING", "Apartment building"
    FLAT = "FLAT", "Flat"
    SINGLE_FAMILY_HOME = "SINGLE_FAMILY_HOME", "Single-family home"
    LANDLORD_TO_TENANT_ELECTRICITY_PROJECT = (
        "LANDLORD_TO_TENANT_ELECTRICITY_PROJECT",
        "Self-consumption community (Mieterstrom)",
    )
    HOUSEHOLD = "HOUSEHOLD", "Household"
    ROOM = "ROOM", "Room"
    GROUPING = "GROUPING", "Grouping"
    REGION = "REGION", "Region"
    OFFICE = "OFFICE", "Office"
    COMMERCIAL = "COMMERCIAL", "Commercial"
    RETAIL = "RETAIL", "Retail"
    HOTEL = "HOTEL", "Hotel"
    RESTAURANT = "RESTAURANT", "Restaurant"
    DOCTORS_OFFICE = "DOCTORS_OFFICE", "Doctor's office"
    PRODUCTION = "PRODUCTION", "Production"
    PV_SYSTEM = "PV_SYSTEM", "PV system"
    WIND_ENERGY = "WIND_ENERGY", "Wind energy"
    BIOGAS = "BIOGAS", "Biogas"


# Categories that are only ever a unit inside a building, never a building of their own.
UNIT_CATEGORIES = (SpaceCategory.FLAT, SpaceCategory.ROOM)


class Medium(models.TextChoices):
    ELECTRICITY = "ELECTRICITY", "Electricity"
    GAS = "GAS", "Gas"
    WATER = "WATER", "Water"
    HEATING = "HEATING", "Heating"


class DeviceType(models.TextChoices):
    SMART_METER = "SMART_METER", "Smart meter"
    NON_SMART_METER = "NON_SMART_METER", "Conventional meter"
    RLM_METER = "RLM_METER", "RLM meter (load profile)"
    ENERGY_METER = "ENERGY_METER", "Energy meter"
    VIRTUAL_METER = "VIRTUAL_METER", "Virtual meter"
    OPTICAL_METER_SENSOR = "OPTICAL_METER_SENSOR", "Optical meter sensor"
    GAS_METER = "GAS_METER", "Gas meter"
    WATER_METER = "WATER_METER", "Water meter"
    HEATING_METER = "HEATING_METER", "Heating meter"
    WALLBOX = "WALLBOX", "Wallbox"
    HEAT_PUMP = "HEAT_PUMP", "Heat pump"
    BATTERY = "BATTERY", "Battery"
    MICRO_INVERTER = "MICRO_INVERTER", "Micro inverter"
    SMART_PLUG = "SMART_PLUG", "Smart plug"
    SMART_RELAY = "SMART_RELAY", "Smart relay"
    SMART_CAR = "SMART_CAR", "Smart car"


class Synced(models.Model):
    """What every synced model shares: timestamps and its outbox rows."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when staff delete it: the platforms are told first, the row goes after.
    deletion_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    sync_records = GenericRelation(SyncRecord)

    class Meta:
        abstract = True


class Space(Synced):
    """A building, or a unit (flat, house in a community) inside one via `parent`."""

    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="units",
        help_text="The building this unit is in; empty for a building.",
    )
    category = models.CharField(max_length=40, choices=SpaceCategory.choices)
    address_line_one = models.CharField(max_length=200, blank=True)
    address_line_two = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=5, blank=True, validators=[validate_postcode])
    city = models.CharField(max_length=100, blank=True)
    # Zählerfreunde's flag for a unit taking part in a landlord-to-tenant electricity
    # (Mieterstrom) project; sent only where we hold an answer.
    is_participating_in_ltt_project = models.BooleanField(
        "takes part in the Mieterstrom project", null=True, blank=True
    )
    # The building's site on Climkit (catalogue/links.py); buildings only.
    climkit_site = models.OneToOneField(
        CatalogueEntry,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="linked_space",
        limit_choices_to={"platform": "climkit", "kind": "site"},
        verbose_name="Climkit site",
    )

    class Meta:
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
                errors["parent"] = "A unit cannot contain another unit; choose a building."
            if self.pk and self.parent_id == self.pk:
                errors["parent"] = "A space cannot be its own building."
        elif self.category in UNIT_CATEGORIES:
            # Saved without its building: say that, not "a building needs its address".
            label = SpaceCategory(self.category).label.lower()
            errors["parent"] = f"A {label} is a unit and needs its building: choose it here."
        else:
            for field in ("address_line_one", "postcode", "city"):
                if not getattr(self, field):
                    errors[field] = "A building needs its address."
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

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(max_length=200)
    medium = models.CharField(max_length=20, choices=Medium.choices, default=Medium.ELECTRICITY)
    device_type = models.CharField(
        max_length=30, choices=DeviceType.choices, default=DeviceType.SMART_METER
    )
    is_main_device = models.BooleanField(default=False)
    external_device_id = models.CharField(
        max_length=100,
        blank=True,
        help_text="Our key for it on every platform, e.g. the MeLo or the meter number.",
    )
    metering_location_id = models.CharField(
        "metering location id (MeLo)", max_length=50, blank=True
    )
    serial_number = models.CharField(max_length=100, blank=True)
    # The meter as the read-only platforms know it (catalogue/links.py): one catalogue row
    # is tied to at most one device.
    smartme_device = models.OneToOneField(
        CatalogueEntry,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="linked_smartme_device",
        limit_choices_to={"platform": "smartme", "kind": "device"},
        verbose_name="smart-me device",
    )
    climkit_meter = models.OneToOneField(
        CatalogueEntry,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="linked_climkit_device",
        limit_choices_to={"platform": "climkit", "kind": "meter"},
        verbose_name="Climkit meter",
    )

    class Meta:
        ordering = ["space_id", "name"]
        constraints = [
            # Every platform receives every device, so one external id means one device.
            models.UniqueConstraint(
                fields=["external_device_id"],
                condition=~Q(external_device_id=""),
                name="unique_external_device_id",
                violation_error_message="Another device already has this external device id.",
            ),
            models.UniqueConstraint(fields=["space", "name"], name="unique_device_name_in_space"),
        ]

    def __str__(self):
        return f"{self.name} ({self.space})"


class TenantUser(Synced):
    """The person living in a unit."""

    unit = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="tenants")
    name = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["unit_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "email"], name="unique_tenant_email_in_unit")
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>"


class Invite(Synced):
    """A tenant's access to a space on the platforms."""

    class Status(models.TextChoices):
        PENDING = "pending", "Not yet created"
        EMAILED = "emailed", "Created; the platform e-mailed the tenant"
        LINK_READY = "link_ready", "Created; hand the link to the tenant"
        ACCEPTED = "accepted", "Accepted: the tenant has joined the unit"

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="invites")
    tenant = models.ForeignKey(
        TenantUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="invites"
    )
    email = models.EmailField()
    send_invite_email = models.BooleanField(
        default=True, help_text="The platform e-mails the invite link to the tenant."
    )
    invite_link = models.URLField(max_length=500, blank=True, editable=False)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, editable=False
    )

    class Meta:
        ordering = ["space_id", "email"]
        constraints = [
            models.UniqueConstraint(fields=["space", "email"], name="unique_invite_per_space")
        ]

    def __str__(self):
        return f"Invite {self.email} to {self.space}"


class Meter(Synced):
    """A tenant's power meter, as energy-coordination platforms register it."""

    class LocationType(models.TextChoices):
        RESIDENTIAL = "Residential", "Residential"
        COMMERCIAL = "Commercial", "Commercial"

    tenant = models.ForeignKey(TenantUser, on_delete=models.CASCADE, related_name="meters")
    meter_point_id = models.CharField(
        max_length=50, help_text="The metering point id (MeLo / metering point number)."
    )
    meter_number = models.CharField(max_length=50, blank=True)
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    location_type = models.CharField(
        max_length=20, choices=LocationType.choices, default=LocationType.RESIDENTIAL
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meter_point_id"], name="unique_meter_point_id")
        ]

    def __str__(self):
        return f"Meter {self.meter_point_id}"


class Vehicle(Synced):
    """A tenant's electric vehicle."""

    tenant = models.ForeignKey(TenantUser, on_delete=models.CASCADE, related_name="vehicles")
    vehicle_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, help_text="Our key for it on platforms."
    )
    brand = models.CharField(max_length=100)
    model = models.CharField(max_length=100)
    year = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1990), MaxValueValidator(2100)]
    )
    vin = models.CharField(
        "VIN", max_length=17, blank=True, validators=[validate_vin], unique=True, null=True
    )

    def __str__(self):
        return f"{self.brand} {self.model}"

    def save(self, *args, **kwargs):
        self.vin = self.vin or None  # several vehicles may have no VIN; unique ignores NULL
        super().save(*args, **kwargs)


class Resource(Synced):
    """A tenant's flexible load other than a vehicle: a hot-water tank, heat pump,
    battery…, with the metadata Volue Spark's guide registers (brand, model, capacity,
    heating elements)."""

    class Kind(models.TextChoices):
        # Spark's resourceType values (providers/spark/client.py RESOURCE_TYPES).
        HOT_WATER_TANK = "HotWaterTank", "Hot-water tank"
        HEAT_PUMP = "HeatPump", "Heat pump"
        BATTERY = "Battery", "Home battery"
        ELECTRIC_BOILER = "ElectricBoiler", "Electric boiler"
        CHARGER = "Charger", "EV charger"
        HVAC = "HVAC", "Heating, ventilation, air conditioning"
        SOLAR_INVERTER = "SolarInverter", "Solar inverter"
        GENERIC = "Generic", "Other"

    # Kinds heated by resistive elements, the only ones the guide gives elements for.
    HEATED_BY_ELEMENTS = (Kind.HOT_WATER_TANK, Kind.ELECTRIC_BOILER)

    tenant = models.ForeignKey(TenantUser, on_delete=models.CASCADE, related_name="resources")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    resource_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, help_text="Our key for it on platforms."
    )
    brand = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=100, blank=True)
    capacity = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(10_000_000)],
        # The guide gives no unit; its example tank holds 500, which is litres.
        help_text="Litres for a hot-water tank or boiler, Wh for a battery.",
    )
    heating_elements = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_heating_elements],
        help_text="Each element's power in watts, separated by commas, e.g. 1750, 1250.",
    )

    class Meta:
        ordering = ["tenant_id", "kind", "pk"]

    def __str__(self):
        described = " ".join(filter(None, [self.brand, self.model]))
        return f"{self.get_kind_display()}{f' {described}' if described else ''}"

    def clean(self):
        if self.heating_elements and self.kind not in self.HEATED_BY_ELEMENTS:
            raise ValidationError(
                {
                    "heating_elements": "Only hot-water tanks and electric boilers have heating "
                    "elements; leave this empty."
                }
            )

    @property
    def heating_element_watts(self) -> list[int]:
        return parse_heating_elements(self.heating_elements)
