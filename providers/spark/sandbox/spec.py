"""Volue's public spec of the API Spark serves today (spec/spark-openapi.json, MIT), as
the sandbox's rule book in the current form: request bodies are checked against the
spec's own schemas with openapi-schema-validator (OpenAPI 3.0: `nullable`,
`additionalProperties: false`, enums, formats), and the tests check the sandbox's
answers against the spec's response schemas the same way.

Two readings where the file cannot be taken literally, both kept here and in
docs/spark.md:
- Inheritance. The payload schemas (`PriceCurvePayload`, `EnergyUsageReportPayload`, …)
  say `allOf: [SparkEventPayload]` (or `SparkReportPayload`), whose only property is the
  discriminator `payloadType`, while each side has `additionalProperties: false`: taken
  literally no payload can be valid (the base refuses the payload's own fields, the
  payload refuses `payloadType`). That is how a code generator writes "inherits
  payloadType"; it is read so: the base's properties join the payload's (its
  `payloadType` fixed to the mapping's value), the `allOf` goes, and the base referred to
  directly (a notification's `payload`) is one of the schemas its mapping names.
- Reports. Spark's Reports page documents the `VehicleChargeAction` payload (resourceId,
  location, actionType Start/Stop, power, stateOfCharge, batteryCapacity; NOTES.md) that
  the spec's `PostReportRequest` does not list. It is the one schema written here by
  hand (VEHICLE_CHARGE_ACTION), added to the payloads the spec lists.
"""

import copy
import json
from functools import cache
from pathlib import Path

from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_FILE = Path(__file__).resolve().parent / "spec" / "spark-openapi.json"
SPEC_URI = "urn:spark-openapi"
SCHEMAS = "#/components/schemas/"
SERVER = "/energy-coordination/v1"

# Spark's Reports page (NOTES.md): a report of a vehicle's charging, the place required.
VEHICLE_CHARGE_ACTION = {
    "type": "object",
    "required": ["payloadType", "resourceId", "location", "actionType"],
    "properties": {
        "payloadType": {"type": "string", "enum": ["VehicleChargeAction"]},
        "resourceId": {"type": "string"},
        "location": {"$ref": f"{SPEC_URI}{SCHEMAS}Coordinate"},
        "actionType": {"type": "string", "enum": ["Start", "Stop"]},
        "power": {"type": "number", "minimum": 0},
        "stateOfCharge": {"type": "number", "minimum": 0},
        "batteryCapacity": {"type": "number", "minimum": 0},
    },
    "additionalProperties": False,
}


def _inherit_discriminators(spec: dict) -> dict:
    """Merge a discriminated base's properties into each schema that `allOf`s it, its
    discriminator fixed to the value the base's mapping gives that schema (so a `oneOf`
    of them is told apart by `payloadType`, as the discriminator means)."""
    schemas = spec["components"]["schemas"]
    for name, schema in schemas.items():
        bases = [
            ref["$ref"].removeprefix(SCHEMAS)
            for ref in schema.get("allOf", [])
            if "$ref" in ref and "discriminator" in schemas[ref["$ref"].removeprefix(SCHEMAS)]
        ]
        if not bases or len(bases) != len(schema["allOf"]):
            continue
        del schema["allOf"]
        for base in bases:
            schema.setdefault("properties", {}).update(schemas[base].get("properties", {}))
            discriminator = schemas[base]["discriminator"]
            values = [
                value
                for value, target in discriminator.get("mapping", {}).items()
                if target == f"{SCHEMAS}{name}"
            ]
            if values:
                schema["properties"][discriminator["propertyName"]] = {
                    "type": "string",
                    "enum": values,
                }
            required = set(schema.get("required", [])) | {discriminator["propertyName"]}
            schema["required"] = sorted(required)
    # A discriminated base referred to directly (EventNotification's payload) stands for
    # whichever of its mapping's schemas the discriminator names.
    for name, schema in list(schemas.items()):
        mapping = schema.get("discriminator", {}).get("mapping")
        if mapping:
            schemas[name] = {"oneOf": [{"$ref": target} for target in mapping.values()]}
    return spec


@cache
def document() -> dict:
    """The spec, as the sandbox reads it (see the module's docstring)."""
    spec = _inherit_discriminators(json.loads(SPEC_FILE.read_text(encoding="utf-8")))
    report = spec["components"]["schemas"]["PostReportRequest"]["properties"]["payloads"]
    report["items"] = {"oneOf": [*report["items"]["oneOf"], VEHICLE_CHARGE_ACTION]}
    return spec


@cache
def _registry() -> Registry:
    return Registry().with_resource(
        SPEC_URI, Resource.from_contents(document(), default_specification=DRAFT4)
    )


def _absolute(schema: dict) -> dict:
    """A schema taken out of the spec, its "#/…" references made to point into the spec
    (references inside the spec's own schemas resolve there already)."""
    text = json.dumps(schema).replace('"$ref": "#/', f'"$ref": "{SPEC_URI}#/')
    return json.loads(text)


def errors_of(schema: dict, instance) -> dict[str, list[str]]:
    """{JSON path: [messages]} of what in `instance` the schema refuses ("$" is the root)."""
    found: dict[str, list[str]] = {}
    validator = OAS30Validator(
        _absolute(schema), registry=_registry(), format_checker=oas30_format_checker
    )
    for error in validator.iter_errors(instance):
        where = "$" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path
        )
        found.setdefault(where, []).append(error.message)
    return found


def schema(name: str) -> dict:
    return copy.deepcopy(document()["components"]["schemas"][name])


def operation(method: str, template: str) -> dict:
    """The spec's operation for e.g. ("POST", "/users/{userId}/locations")."""
    return document()["paths"][template][method.lower()]


def request_schema(method: str, template: str) -> dict | None:
    content = (operation(method, template).get("requestBody") or {}).get("content", {})
    return (content.get("application/json") or {}).get("schema")


def responses(method: str, template: str) -> dict[str, dict]:
    return operation(method, template)["responses"]


def response_schema(method: str, template: str, status: int) -> tuple[str, dict | None]:
    """(content type, schema) the spec promises for that status ("" for no content)."""
    answer = responses(method, template).get(str(status))
    if answer is None:
        raise KeyError(f"{method} {template} lists no {status}")
    for content_type, media in (answer.get("content") or {}).items():
        return content_type, media.get("schema")
    return "", None


def answer_errors(method: str, template: str, status: int, body) -> dict[str, list[str]]:
    """What in an answer's body the spec's response schema refuses (tests use it)."""
    _, promised = response_schema(method, template, status)
    return errors_of(promised, body) if promised else {}
