"""Getting a schema in: paste JSON (bare schema or a ``response_format`` wrapper), or infer one
from an example document."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from playground.errors import ErrorKind, PlaygroundError
from playground.schema._common import load_json_text
from playground.schema._rules import provider_rules


@dataclass(frozen=True)
class ParsedSchema:
    """A pasted schema and what its wrapper said about it.

    ``source`` is "request" (a whole request body with ``response_format``), "response_format"
    (``{"type": "json_schema", "json_schema": {...}}`` or the Responses API's flat form),
    "json_schema" (a bare ``{"name": ..., "schema": ...}``) or "schema" (a bare JSON schema).
    """

    schema: dict[str, Any]
    name: str | None = None
    description: str | None = None
    strict: bool | None = None
    source: Literal["request", "response_format", "json_schema", "schema"] = "schema"


def parse_schema_text(text: str) -> dict:
    """The JSON schema in ``text`` (bare, or inside a ``response_format``/``json_schema`` wrapper).

    Raises PlaygroundError (INVALID_INPUT) with the line and column when the JSON is malformed.
    Use :func:`parse_schema_document` to also get the wrapper's name and strict flag.
    """
    return parse_schema_document(text).schema


def parse_schema_document(text: str) -> ParsedSchema:
    """Like :func:`parse_schema_text` but also returns the name, description and strict flag."""
    obj = load_json_text(text, "schema")
    if not isinstance(obj, dict):
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT, f"A JSON schema must be a JSON object ({{...}}), not {_json_kind(obj)}."
        )
    source = "schema"
    if isinstance(obj.get("response_format"), dict):
        obj, source = obj["response_format"], "request"
    if obj.get("type") in ("json_object", "text"):
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT,
            f"This response_format has type {obj['type']!r}, which "
            "carries no schema; paste a json_schema response_format or a schema.",
        )
    wrapper: dict | None = None
    if obj.get("type") == "json_schema":
        wrapper = obj["json_schema"] if isinstance(obj.get("json_schema"), dict) else obj
        source = "response_format" if source == "schema" else source
    elif isinstance(obj.get("json_schema"), dict):
        wrapper, source = obj["json_schema"], "json_schema"
    elif isinstance(obj.get("schema"), dict) and "properties" not in obj and "type" not in obj:
        wrapper, source = obj, "json_schema"
    if wrapper is None:
        return ParsedSchema(schema=obj, source="schema")
    schema = wrapper.get("schema")
    if not isinstance(schema, dict):
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT,
            "The json_schema wrapper has no 'schema' object; put the JSON schema under \"schema\".",
        )
    name = wrapper.get("name")
    description = wrapper.get("description")
    strict = wrapper.get("strict")
    return ParsedSchema(
        schema=schema,
        name=name if isinstance(name, str) else None,
        description=description if isinstance(description, str) else None,
        strict=strict if isinstance(strict, bool) else None,
        source=source,  # type: ignore[arg-type]
    )


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


# --------------------------------------------------------------------------------------------
# Inference from an example

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@dataclass
class _Shape:
    """What was seen at one position of the example(s)."""

    prims: list[str] = field(default_factory=list)  # string/integer/number/boolean/null, first-seen order
    props: dict[str, _Shape] | None = None
    key_counts: dict[str, int] = field(default_factory=dict)
    objects: int = 0
    array: bool = False
    items: _Shape | None = None
    formats: set[str | None] = field(default_factory=set)

    def add_prim(self, t: str) -> None:
        if t not in self.prims:
            self.prims.append(t)


def _shape(value: Any, detect: tuple[str, ...]) -> _Shape:
    s = _Shape()
    if value is None:
        s.add_prim("null")
    elif isinstance(value, bool):
        s.add_prim("boolean")
    elif isinstance(value, int):
        s.add_prim("integer")
    elif isinstance(value, float):
        s.add_prim("number")
    elif isinstance(value, str):
        s.add_prim("string")
        fmt = None
        if "date-time" in detect and _DATE_TIME.match(value):
            fmt = "date-time"
        elif "date" in detect and _DATE.match(value):
            fmt = "date"
        s.formats.add(fmt)
    elif isinstance(value, dict):
        s.objects = 1
        s.props = {str(k): _shape(v, detect) for k, v in value.items()}
        s.key_counts = dict.fromkeys(s.props, 1)
    elif isinstance(value, list):
        s.array = True
        for item in value:
            item_shape = _shape(item, detect)
            s.items = item_shape if s.items is None else _merge(s.items, item_shape)
    return s


def _merge(a: _Shape, b: _Shape) -> _Shape:
    out = _Shape(
        prims=list(a.prims), formats=a.formats | b.formats, objects=a.objects + b.objects, array=a.array or b.array
    )
    for t in b.prims:
        out.add_prim(t)
    if a.props is None or b.props is None:
        out.props = a.props if b.props is None else b.props
        out.key_counts = dict(a.key_counts if b.props is None else b.key_counts)
    else:
        out.props = dict(a.props)
        out.key_counts = dict(a.key_counts)
        for k, v in b.props.items():
            out.props[k] = _merge(out.props[k], v) if k in out.props else v
            out.key_counts[k] = out.key_counts.get(k, 0) + b.key_counts[k]
    if a.items is None or b.items is None:
        out.items = a.items or b.items
    else:
        out.items = _merge(a.items, b.items)
    return out


def _render(s: _Shape, strict: bool, nullable: bool = False) -> dict:
    nullable = nullable or "null" in s.prims
    kinds = [t for t in s.prims if t != "null"]
    if "integer" in kinds and "number" in kinds:
        kinds.remove("integer")
    if s.props is not None:
        kinds.append("object")
    if s.array:
        kinds.append("array")
    if not kinds:
        return {"type": ["string", "null"] if nullable else "string"}
    if len(kinds) == 1 and kinds[0] not in ("object", "array"):
        out: dict[str, Any] = {"type": [kinds[0], "null"] if nullable else kinds[0]}
        if kinds == ["string"] and len(s.formats) == 1 and None not in s.formats:
            out["format"] = next(iter(s.formats))
        return out
    if all(k not in ("object", "array") for k in kinds):
        return {"type": [*kinds, "null"] if nullable else kinds}
    branches = [_render_kind(s, k, strict) for k in kinds]
    if nullable:
        branches.append({"type": "null"})
    return branches[0] if len(branches) == 1 else {"anyOf": branches}


def _render_kind(s: _Shape, kind: str, strict: bool) -> dict:
    if kind == "object":
        props = s.props or {}
        always = {k for k in props if s.key_counts.get(k, 0) >= s.objects}
        return {
            "type": "object",
            "properties": {k: _render(v, strict, nullable=strict and k not in always) for k, v in props.items()},
            "required": list(props) if strict else [k for k in props if k in always],
            "additionalProperties": False,
        }
    if kind == "array":
        items = _render(s.items, strict) if s.items is not None else {"type": "string"}
        return {"type": "array", "items": items}
    return {"type": kind}


def infer_schema(
    example: dict | list | str, *, strict: bool = True, detect_formats: bool = False, provider: str = "openai"
) -> dict:
    """A strict-valid schema that validates ``example`` (a dict, a list, or JSON text).

    Integers and floats are told apart, nested objects become nested schemas, arrays of objects
    merge the keys of all items, and null values become nullable (``["string", "null"]`` when
    nothing else is known). A key missing from some items of an array becomes nullable and, as
    strict mode has no optional keys, stays required: such an example validates once the missing
    keys are given as null. ``strict=False`` instead leaves those keys out of ``required`` (not
    strict-valid, but the example validates as it is). The root must be an object in strict mode,
    so a list example is described as ``{"items": [...]}``. With ``detect_formats=True``, ISO
    dates and date-times get ``format`` when ``provider`` supports it.
    """
    if isinstance(example, str):
        example = load_json_text(example, "example")
    if isinstance(example, list):
        example = {"items": example}
    if not isinstance(example, dict):
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT, f"The example must be a JSON object or array, not {_json_kind(example)}."
        )
    rules = provider_rules(provider)
    detect: tuple[str, ...] = ()
    if detect_formats:
        detect = tuple(f for f in ("date-time", "date") if f in rules.formats)
    shape = _shape(example, detect)
    if (count := _property_count(shape)) > rules.limits.max_properties:
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT,
            f"The example has {count:,} distinct keys; a schema may have at most "
            f"{rules.limits.max_properties:,} properties ({rules.label}). Trim the example to the fields you need.",
        )
    return _render_kind(shape, "object", strict)


def _property_count(shape: _Shape) -> int:
    """How many properties the schema rendered from ``shape`` will have, in total."""
    count = 0
    stack = [shape]
    while stack:
        s = stack.pop()
        if s.props is not None:
            count += len(s.props)
            stack.extend(s.props.values())
        if s.items is not None:
            stack.append(s.items)
    return count
