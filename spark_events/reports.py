"""Charge reports: saved here, sent to Spark by the outbox (ChargeReportHandler)."""

from decimal import Decimal

from onboarding import services
from onboarding.models import Vehicle

from .models import ChargeReport


def report_charge(
    vehicle: Vehicle,
    action: str,
    *,
    power: int,
    state_of_charge,
    battery_capacity: int,
    latitude=None,
    longitude=None,
) -> ChargeReport:
    """Record a VehicleChargeAction (Start/Stop) and queue it for Spark, in one
    transaction: the report is sent once the vehicle is on Spark (it names the vehicle's
    resourceId), by a worker, exactly as the outbox sends everything else."""
    if not isinstance(state_of_charge, Decimal):
        state_of_charge = Decimal(str(state_of_charge))  # 0.2, not 0.2000000000000000111
    report = ChargeReport(
        vehicle=vehicle,
        action=action,
        power=power,
        state_of_charge=state_of_charge,
        battery_capacity=battery_capacity,
        latitude=latitude,
        longitude=longitude,
    )
    return services.save(report)
