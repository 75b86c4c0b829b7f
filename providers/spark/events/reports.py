"""Charge reports: saved here, sent to Spark by the outbox (ChargeReportHandler)."""

from decimal import Decimal

from django.core.exceptions import ValidationError

from onboarding import services
from onboarding.models import Vehicle

from .models import ChargeReport, SparkEvent


def _decimal(value) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))  # 0.2, not 0.2000000000000000111


def report_charge(
    vehicle: Vehicle,
    action: str,
    *,
    power: int,
    state_of_charge,
    battery_capacity,
    latitude=None,
    longitude=None,
    event: SparkEvent | None = None,
) -> ChargeReport:
    """Record a VehicleChargeAction (Start/Stop) and queue it for Spark, in one
    transaction: the report is sent once the vehicle is on Spark (it names the vehicle's
    resourceId), by a worker, exactly as the outbox sends everything else.

    `state_of_charge` is in percent and `battery_capacity` in kWh (Spark's Reports page).
    `event` is the stored Spark event the report answers (its eventId goes with it). The
    place defaults to the tenant's meter's coordinates (ChargeReport.clean); Spark
    requires one.
    """
    report = ChargeReport(
        vehicle=vehicle,
        event=event,
        action=action,
        power=power,
        state_of_charge=_decimal(state_of_charge),
        battery_capacity=_decimal(battery_capacity),
        latitude=_decimal(latitude),
        longitude=_decimal(longitude),
    )
    return services.save(report)


def find_event(event_id: str) -> SparkEvent:
    """The stored event a report answers, by Spark's eventId."""
    event = SparkEvent.objects.filter(event_id=event_id).first()
    event = event or SparkEvent.objects.filter(key=event_id).first()
    if event is None:
        raise ValidationError(
            f"No Spark event {event_id} is stored: a report answers an event Spark sent "
            "(run `manage.py spark_webhooks catch-up` if its delivery was missed)."
        )
    return event
