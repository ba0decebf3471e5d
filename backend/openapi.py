"""Completes the generated OpenAPI document with what every operation can answer: RFC 9457 problem details for any
error status (signed out, not found, refused, too many requests...), so that clients and fuzzers know the shape."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Schema
from litestar.openapi.spec.enums import OpenAPIType

PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "code": Schema(type=OpenAPIType.STRING),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                properties={"field": Schema(type=OpenAPIType.STRING), "reason": Schema(type=OpenAPIType.STRING)},
            ),
        ),
    },
    description="RFC 9457 problem details; more members may be present (current_version, reference...)",
)


def _input_structs() -> dict[str, type]:
    from backend.shared.schemas import Input

    found: dict[str, type] = {}
    todo: list[type] = list(Input.__subclasses__())
    while todo:
        cls = todo.pop()
        found[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return found


_FIELDS = {
    "anyOf": "any_of",
    "oneOf": "one_of",
    "allOf": "all_of",
    "additionalProperties": "additional_properties",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minItems": "min_items",
    "maxItems": "max_items",
    "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum",
    "minProperties": "min_properties",
    "maxProperties": "max_properties",
    "$ref": "ref",
}


def _to_schema(definition: Any) -> Any:
    """A JSON Schema dict as Litestar's spec objects (so that the document serialises as one piece)."""
    from litestar.openapi.spec import Reference

    if isinstance(definition, list):
        return [_to_schema(d) for d in definition]
    if not isinstance(definition, dict):
        return definition
    if "$ref" in definition:
        return Reference(ref=definition["$ref"])
    values: dict[Any, Any] = {}
    for key, value in definition.items():
        name = _FIELDS.get(key, key)
        if key == "properties":
            value = {k: _to_schema(v) for k, v in value.items()}
        elif key in {"items", "anyOf", "oneOf", "allOf", "additionalProperties"}:
            value = _to_schema(value)
        elif key == "type":
            value = OpenAPIType(value) if isinstance(value, str) else [OpenAPIType(v) for v in value]
        elif key == "enum":
            value = list(value)
        values[name] = value
    return Schema(**values)


def add_problem_responses(app: Litestar) -> None:
    if app.openapi_config is None:
        return
    document = app.openapi_schema
    # Request bodies are described by msgspec itself, which keeps every constraint (ranges inside optional fields,
    # patterns of list items, closed objects) that the generic generator drops; the server decodes with the same types.
    components = document.components.schemas if document.components and document.components.schemas else {}
    structs = _input_structs()
    _, definitions = msgspec.json.schema_components(list(structs.values()), ref_template="#/components/schemas/{name}")
    for name, definition in definitions.items():
        if name in components:
            components[name] = _to_schema(definition)
    for item in (document.paths or {}).values():
        for operation in (item.get, item.put, item.post, item.delete, item.patch):
            if operation is None:
                continue
            responses = dict(operation.responses or {})
            if "204" in responses:  # no content means no content type either
                responses["204"] = OpenAPIResponse(description="Done; nothing to return")
            if item.put is operation and "200" in responses and "201" not in responses:
                responses["201"] = responses["200"]  # a PUT that creates answers 201 with the same body
            for parameter in operation.parameters or []:
                if getattr(parameter, "name", "").lower() == "if-match":
                    pattern = r'^(W/)?"?[0-9]{1,9}"?$'
                    parameter.schema = Schema(type=OpenAPIType.STRING, pattern=pattern)  # type: ignore[union-attr]
            problem = OpenAPIResponse(
                description="Problem details", content={"application/problem+json": OpenAPIMediaType(schema=PROBLEM)}
            )
            for status in list(responses):
                if str(status).startswith(("4", "5")):
                    responses[status] = problem
            responses["default"] = problem
            operation.responses = responses
