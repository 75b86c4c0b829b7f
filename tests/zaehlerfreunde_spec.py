"""Zählerfreunde's public OpenAPI spec as the test oracle for our client and its sandbox.

A `Recorder` session lets a test keep every exchange the client makes; `problems()` says
where one does not fit the operation the spec declares for its method and path: a path
or method the spec lacks, a query parameter it does not name or a value outside its
schema, a request body outside the request schema (or with a property the schema does
not name: a strict platform would refuse it), a 2xx status it does not declare, a 2xx
body outside the response schema. Error answers are not checked: the spec declares none.
"""

import functools
import json
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests
import yaml
from openapi_schema_validator import OAS30Validator

from providers.http import make_session

SPEC_FILE = (
    Path(__file__).resolve().parent.parent
    / "providers/zaehlerfreunde/sandbox/spec/zaehlerfreunde-openapi.yaml"
)


@functools.cache
def spec() -> dict:
    return yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def schema_problems(schema: dict, instance) -> list[str]:
    """Where `instance` breaks `schema` (OpenAPI 3.0: `nullable`, formats, `$ref`s)."""
    validator = OAS30Validator({**schema, "components": spec()["components"]})
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def unknown_properties(schema: dict, instance, where: str = "") -> list[str]:
    """Properties of `instance` that `schema` does not name (through `allOf`, arrays and
    nested objects): allowed by JSON Schema, but a property the platform does not know
    is one it may refuse or silently drop."""
    schema = _resolve(schema)
    if isinstance(instance, list) and "items" in schema:
        return [
            found
            for i, item in enumerate(instance)
            for found in unknown_properties(schema["items"], item, f"{where}[{i}]")
        ]
    if not isinstance(instance, dict):
        return []
    known: dict = {}
    for part in [schema, *schema.get("allOf", [])]:
        known.update(_resolve(part).get("properties", {}))
    if not known:
        return []
    found = []
    for key, value in instance.items():
        if key not in known:
            found.append(f"{where}.{key}: not in the spec's schema")
        else:
            found.extend(unknown_properties(known[key], value, f"{where}.{key}"))
    return found


def operation(method: str, path: str) -> tuple[str, dict] | None:
    """(path template, operation) the spec declares for `method` on `path`; a literal
    segment wins over a parameter (`/devices/readings` over `/devices/{deviceId}`)."""
    matches = []
    for template, operations in spec()["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if method.lower() in operations and re.fullmatch(pattern, path):
            matches.append((template.count("{"), template, operations[method.lower()]))
    if not matches:
        return None
    _, template, found = min(matches, key=lambda m: m[0])
    return template, found


def _query_problems(op: dict, query: str) -> list[str]:
    declared = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
    found = []
    for name, raw in parse_qsl(query, keep_blank_values=True):
        if name not in declared:
            found.append(f"query {name}: not a parameter of this operation")
            continue
        schema = declared[name]["schema"]
        value: object = raw
        if schema.get("type") == "integer":
            try:
                value = int(raw)
            except ValueError:
                found.append(f"query {name}={raw}: not an integer")
                continue
        found.extend(f"query {name}={raw}: {p}" for p in schema_problems(schema, value))
    return found


def _json(body: bytes | str | None):
    if not body:
        return None
    return json.loads(body)


class Recorder:
    """A requests session that keeps every response (with its request) it receives."""

    def __init__(self):
        self.responses: list[requests.Response] = []
        self.session = make_session()
        self.session.hooks["response"].append(self._keep)

    def _keep(self, response: requests.Response, *args, **kwargs) -> None:
        self.responses.append(response)

    def operations(self, base_path: str) -> set[str]:
        """'METHOD /template' of every exchange the spec knows."""
        seen = set()
        for response in self.responses:
            url = urlsplit(response.request.url)
            found = operation(response.request.method, url.path.removeprefix(base_path))
            if found:
                seen.add(f"{response.request.method} {found[0]}")
        return seen

    def problems(self, base_path: str) -> list[str]:
        """Every misfit of every exchange, each prefixed with its call."""
        return [found for response in self.responses for found in problems(response, base_path)]


def problems(response: requests.Response, base_path: str) -> list[str]:
    """Where one exchange does not fit the spec. `base_path` is the client's base URL's
    path (`/partner` on the real platform), which the spec's paths are relative to."""
    request = response.request
    url = urlsplit(request.url)
    path = url.path.removeprefix(base_path)
    call = f"{request.method} {path}"
    found_op = operation(request.method, path)
    if found_op is None:
        return [f"{call}: the spec has no such operation"]
    _, op = found_op
    found = _query_problems(op, url.query)

    body = _json(request.body)
    if body is not None:
        content = op.get("requestBody", {}).get("content", {}).get("application/json")
        if content is None:
            found.append("a body, where the operation takes none")
        else:
            found += schema_problems(content["schema"], body)
            found += unknown_properties(content["schema"], body, "body")
    elif op.get("requestBody", {}).get("required"):
        found.append("no body, where the operation requires one")

    if 200 <= response.status_code < 300:
        declared = op.get("responses", {})
        answer = declared.get(str(response.status_code))
        if declared and answer is None:
            found.append(f"answered {response.status_code}, the spec declares {sorted(declared)}")
        content = (answer or {}).get("content", {}).get("application/json")
        if content is not None:
            try:
                answer_body = response.json()
            except ValueError:
                found.append(f"answer is not JSON: {response.text[:100]!r}")
            else:
                found += [f"answer {p}" for p in schema_problems(content["schema"], answer_body)]
    return [f"{call}: {p}" for p in found]
