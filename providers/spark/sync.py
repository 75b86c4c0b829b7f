"""Volue Spark for the outbox: the client factory and a handler per model.

`SPARK_API` picks the form: `current` (sync_current.py, the API Spark serves today, ids
ours) or `guide` (sync_guide.py, the quickstart guide's). Each model's handler is the
form's, chosen at each use, so the engine, the pages and the admin see one handler.
Charge reports are the same in both forms but for a field or two (ChargeReportHandler).
"""

import json
from datetime import UTC
from decimal import Decimal

from django.conf import settings

from onboarding.models import Meter, Resource, TenantUser, Vehicle
from providers.spark.events.models import ChargeReport

from ..errors import NotSupported
from ..handlers import Handler
from . import sync_current, sync_guide
from .client import SparkClient
from .client_current import CurrentClient
from .client_guide import GuideClient

NAME = "spark"
CLIENTS = {"current": CurrentClient, "guide": GuideClient}
REPORT_UNITS = ("reports", "guide")


def active_api() -> str:
    """The form SPARK_API names (an unknown one stops Spark in make_client, with why)."""
    return settings.SPARK_API if settings.SPARK_API in CLIENTS else "current"


def make_client(connection, *, token_store, on_call) -> SparkClient:
    options = connection.options
    common = {
        "token_store": token_store,
        "on_call": on_call,
        "timeout": (settings.PROVIDER_CONNECT_TIMEOUT_SECONDS, settings.PROVIDER_TIMEOUT_SECONDS),
        "scope": options.get("scope") or None,
    }
    args = (
        connection.base_url,
        options.get("token_url", ""),
        connection.client_id,
        connection.client_secret,
    )
    client_class = CLIENTS[active_api()]
    try:
        if settings.SPARK_API not in CLIENTS:
            raise ValueError(f"SPARK_API must be one of {', '.join(CLIENTS)}")
        if settings.SPARK_REPORT_UNITS not in REPORT_UNITS:
            raise ValueError(f"SPARK_REPORT_UNITS must be one of {', '.join(REPORT_UNITS)}")
        return client_class(
            *args,
            paths=_paths(options.get("paths", "")),
            webhook_fields=options.get("webhook_fields") or "current",
            **common,
        )
    except ValueError as exc:
        # Bad settings stop Spark with one sentence (sync rows, check_providers), not a
        # stack trace in every worker.
        client = client_class(*args, **common)
        client.settings_error = f"the Spark settings are invalid: {exc}"
        return client


def _paths(text: str) -> dict[str, str]:
    if not text:
        return {}
    try:
        paths = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"SPARK_PATHS is not JSON ({exc})") from exc
    if not isinstance(paths, dict) or not all(isinstance(v, str) for v in paths.values()):
        raise ValueError('SPARK_PATHS must be a JSON object {"name": "/path", ...}')
    return paths


class ByForm:
    """The handler of the form SPARK_API names, looked up at each use: every attribute
    (payload, fixed_fields, supports_lookup, …) is that form's handler's."""

    def __init__(self, model):
        self.handlers = {
            "current": sync_current.HANDLERS[model],
            "guide": sync_guide.HANDLERS[model],
        }

    @property
    def active(self) -> Handler:
        return self.handlers[active_api()]

    def __getattr__(self, name):
        return getattr(self.active, name)


class ChargeReportHandler(Handler):
    """A VehicleChargeAction report (Spark's Reports page; guide §7: POST /reports), sent
    once its vehicle is on Spark.

    What is sent: the eventId of the event it answers (none when it answers none), and one
    VehicleChargeAction payload: the vehicle's resourceId, the place (`location`, which the
    Reports page requires), Start/Stop, power in W, and the state of charge and battery
    capacity in the units SPARK_REPORT_UNITS names (the Reports page's percent and kWh by
    default, or the guide's fraction and Wh). The guide's form adds the report's `name`;
    the current API's report schema has no such field.

    Repeats. Spark answers every POST /reports with a new report `id` and offers no way to
    list or fetch reports (neither form has a GET), so a repeated POST would be a second
    report (the sandbox does the same): a create whose answer was lost is never repeated
    by the engine. It looks first (find_existing), cannot, and the row waits for a
    person (NotSupported → needs attention) who can ask Spark whether it arrived, then
    Retry or accept it as is. An answer that proves nothing arrived (a 502, a maintenance
    page, a 429) is simply retried. Reports are facts about the past: there is no update,
    and Spark has no delete (a report stays there when its vehicle, tenant or building goes
    here, which is right: the charging happened).
    """

    parent_field = "vehicle"
    supports_lookup = False
    goes_with_parent = False  # a report stays on Spark whatever happens to the vehicle
    fixed_fields = {
        field: "A report Spark has received cannot be changed; send a new one."
        for field in (
            "vehicle", "event", "action", "power", "state_of_charge", "battery_capacity",
            "latitude", "longitude",
        )
    }  # fmt: skip

    def rank(self, obj) -> int:
        return 2  # after its vehicle (1), which waits for its tenant (0)

    def payload(self, report: ChargeReport, parent_id: str | None) -> dict:
        if report.latitude is None or report.longitude is None:
            raise NotSupported(
                "Spark needs the place of charging (the report's location): give the "
                "report a latitude and longitude, then Retry."
            )
        soc, capacity = Decimal(report.state_of_charge), Decimal(report.battery_capacity)
        if settings.SPARK_REPORT_UNITS == "guide":
            soc, capacity = soc / 100, capacity * 1000  # a fraction and Wh
        item = {
            "payloadType": "VehicleChargeAction",
            "resourceId": str(report.vehicle.vehicle_id),
            "location": {
                "latitude": float(report.latitude),
                "longitude": float(report.longitude),
            },
            "actionType": report.action,
            "power": report.power,
            "stateOfCharge": float(soc),
            "batteryCapacity": float(capacity),
        }
        body = {"payloads": [item]}
        if report.event_id is not None:
            body["eventId"] = report.event.event_id or report.event.key
        if active_api() == "guide":
            body["name"] = report.name
        return body

    def create(self, client, report, payload, parent_id) -> str:
        return str(client.create_report(payload)["id"])

    def after_create(self, report: ChargeReport, remote_id: str) -> None:
        type(report).objects.filter(pk=report.pk).update(spark_report_id=remote_id)

    def find_existing(self, client, report, payload, parent_id) -> str | None:
        answering = f" answering event {payload['eventId']}" if "eventId" in payload else ""
        made = report.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise NotSupported(
            "The report may or may not have reached Spark (no answer came back), and Spark "
            f"offers no way to look reports up. Ask Spark about the report{answering} for "
            f"resourceId {report.vehicle.vehicle_id} made at {made}: if it arrived, accept "
            "this row as is; if not, Retry sends it."
        )

    def update(self, client, remote_id, payload, parent_id) -> None:
        raise NotSupported("A report Spark has received cannot be changed; send a new one.")

    def delete(self, client, remote_id) -> None:
        return  # nothing to call: Spark keeps reports (see above)


HANDLERS = {
    TenantUser: ByForm(TenantUser),
    Meter: ByForm(Meter),
    Vehicle: ByForm(Vehicle),
    Resource: ByForm(Resource),
    ChargeReport: ChargeReportHandler(),
}
