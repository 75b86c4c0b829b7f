"""Report a vehicle's charging action to Spark (sent by the outbox, like the admin's).

    python manage.py spark_report <vehicle pk or vehicleId> start|stop \
        --power 11000 --soc 50 --capacity 75 [--event EVENT_ID] [--lat 63.1 --lon 10.7]

State of charge in percent, battery capacity in kWh (Spark's Reports page). The place
defaults to the tenant's meter's coordinates.
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from onboarding.models import Vehicle
from providers.spark.events.models import ChargeReport
from providers.spark.events.reports import find_event, report_charge


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise CommandError(f"not a number: {text}") from exc


class Command(BaseCommand):
    help = "Queue a VehicleChargeAction report (Start/Stop) for Volue Spark."

    def add_arguments(self, parser):
        parser.add_argument("vehicle", help="The vehicle's pk or its vehicleId (UUID).")
        parser.add_argument("action", choices=["start", "stop"])
        parser.add_argument("--power", type=int, required=True, help="Watts.")
        parser.add_argument("--soc", required=True, help="State of charge, percent (0–100).")
        parser.add_argument("--capacity", required=True, help="Battery capacity, kWh.")
        parser.add_argument("--event", help="The eventId of the Spark event it answers.")
        parser.add_argument("--lat")
        parser.add_argument("--lon")

    def handle(self, *args, vehicle, action, power, soc, capacity, event, lat, lon, **options):
        found = Vehicle.objects.filter(pk=int(vehicle)).first() if vehicle.isdigit() else None
        if found is None:
            try:
                found = Vehicle.objects.filter(vehicle_id=vehicle).first()
            except ValidationError:
                found = None
        if found is None:
            raise CommandError(f"no vehicle {vehicle}")
        try:
            report = report_charge(
                found,
                ChargeReport.Action.START if action == "start" else ChargeReport.Action.STOP,
                power=power,
                state_of_charge=_decimal(soc),
                battery_capacity=_decimal(capacity),
                latitude=_decimal(lat) if lat else None,
                longitude=_decimal(lon) if lon else None,
                event=find_event(event) if event else None,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Queued report {report.reference} for {found}.")
