"""The target's OpenAPI document as probes need it: operations, parameters, schemas, example bodies.

Hand-written on purpose: the probes need a small, stable view (where are the string parameters,
which operations are cookie- or bearer-authenticated, which line of the saved spec an operation is
on for SARIF). Schemathesis generates full test cases but does not expose this view.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | header | cookie | body
    schema: dict[str, Any]
    required: bool = False

    @property
    def type(self) -> str:
        return str(self.schema.get("type", "string"))

    @property
    def is_url(self) -> bool:
        return self.schema.get("format") in {"uri", "url", "iri"} or bool(
            re.search(r"(^|_)(url|uri|callback|webhook)s?$", self.name.lower()))


@dataclass
class Operation:
    method: str  # upper case
    path: str
    operation_id: str
    raw: dict[str, Any]
    parameters: list[Parameter] = field(default_factory=list)
    body_schema: dict[str, Any] | None = None
    security_schemes: list[str] = field(default_factory=list)  # names of schemes, any of which works

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def is_state_changing(self) -> bool:
        return self.method in STATE_CHANGING

    @property
    def path_params(self) -> list[Parameter]:
        return [p for p in self.parameters if p.location == "path"]

    @property
    def tags(self) -> list[str]:
        return list(self.raw.get("tags", []))

    def response_schema(self, status: int) -> dict[str, Any] | None:
        responses = self.raw.get("responses", {})
        entry = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        if not entry:
            return None
        content = entry.get("content", {})
        for media, body in content.items():
            if "json" in media:
                return body.get("schema")
        return None


class ApiSpec:
    """A loaded OpenAPI 3 document with ``$ref`` resolution and an operation list."""

    def __init__(self, document: dict[str, Any]) -> None:
        if "paths" not in document:
            raise ValueError("not an OpenAPI document: no 'paths' key")
        self.document = document
        self.schemes: dict[str, dict[str, Any]] = document.get("components", {}).get("securitySchemes", {})
        self.operations = [self._operation(path, method, op) for path, item in document["paths"].items()
                           for method, op in item.items() if method in HTTP_METHODS]

    def resolve(self, node: Any) -> Any:
        """Follow ``$ref`` (local refs only) until a concrete schema."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 20:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                return {}
            node = self.document
            for part in ref[2:].split("/"):
                node = node.get(part.replace("~1", "/").replace("~0", "~"), {})
            seen += 1
        return node

    def _operation(self, path: str, method: str, op: dict[str, Any]) -> Operation:
        params = []
        for raw in [*self.document["paths"][path].get("parameters", []), *op.get("parameters", [])]:
            raw = self.resolve(raw)
            params.append(Parameter(raw["name"], raw.get("in", "query"), self.resolve(raw.get("schema", {})),
                                    bool(raw.get("required"))))
        body_schema = None
        content = self.resolve(op.get("requestBody", {})).get("content", {})
        for media, body in content.items():
            if "json" in media:
                body_schema = self.object_schema(body.get("schema", {}))
                for name, prop in body_schema.get("properties", {}).items():
                    params.append(Parameter(name, "body", self.scalar_schema(prop),
                                            name in body_schema.get("required", [])))
        security = op.get("security", self.document.get("security", []))
        schemes = [name for requirement in security for name in requirement]
        return Operation(method.upper(), path, op.get("operationId", f"{method}_{path}"), op, params,
                         body_schema, schemes)

    def object_schema(self, schema: Any) -> dict[str, Any]:
        return self.resolve(schema) or {}

    def scalar_schema(self, schema: Any) -> dict[str, Any]:
        """The first non-null branch of an ``anyOf``/``oneOf`` (how pydantic writes optional fields)."""
        schema = self.resolve(schema) or {}
        for key in ("anyOf", "oneOf"):
            for branch in schema.get(key, []):
                branch = self.resolve(branch)
                if branch.get("type") != "null":
                    return {**{k: v for k, v in schema.items() if k != key}, **branch}
        return schema

    # -- which scheme is which ---------------------------------------------------------
    def uses_bearer(self, op: Operation) -> bool:
        """Declared bearer/OAuth2 security, or (specs that declare none) an ``Authorization`` header parameter."""
        if any(p.location == "header" and p.name.lower() == "authorization" for p in op.parameters):
            return True
        return any(self.schemes.get(s, {}).get("scheme", "").lower() == "bearer"
                   or self.schemes.get(s, {}).get("type") == "oauth2" for s in op.security_schemes)

    def uses_cookie(self, op: Operation) -> bool:
        return any(self.schemes.get(s, {}).get("in") == "cookie" for s in op.security_schemes)

    def cookie_scheme_names(self) -> list[str]:
        return [s["name"] for s in self.schemes.values() if s.get("in") == "cookie" and "name" in s]

    def find(self, method: str, path: str) -> Operation | None:
        return next((op for op in self.operations if op.method == method.upper() and op.path == path), None)

    # -- example values ------------------------------------------------------------------
    def example(self, schema: Any, depth: int = 0) -> Any:
        """A small valid value for a schema (required fields only), for baseline requests."""
        schema = self.scalar_schema(schema)
        if "example" in schema:
            return schema["example"]
        if "default" in schema and schema["default"] is not None:
            return schema["default"]
        if "enum" in schema:
            return schema["enum"][0]
        if "const" in schema:
            return schema["const"]
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if kind == "object":
            if depth > 4:
                return {}
            required = schema.get("required", [])
            return {name: self.example(prop, depth + 1) for name, prop in schema.get("properties", {}).items()
                    if name in required}
        if kind == "array":
            return [self.example(schema.get("items", {}), depth + 1)] if schema.get("minItems") else []
        if kind == "integer":
            return max(int(schema.get("minimum", 1)), 1)
        if kind == "number":
            return float(schema.get("minimum", 1))
        if kind == "boolean":
            return True
        if schema.get("format") in {"uri", "url"}:
            return "https://example.invalid/"
        if schema.get("format") == "email":
            return "probe@example.invalid"
        return "probe" + "x" * max(0, int(schema.get("minLength", 0)) - 5)

    def example_body(self, op: Operation) -> dict[str, Any] | None:
        return self.example(op.body_schema) if op.body_schema is not None else None

    def schema_properties(self, schema: Any) -> set[str] | None:
        """Declared property names of an object schema, or None when it allows anything."""
        schema = self.scalar_schema(schema)
        if schema.get("type") != "object" and "properties" not in schema:
            return None
        return set(schema.get("properties", {}))
