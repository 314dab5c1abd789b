"""The visual schema builder's model: a list of :class:`SchemaField` <-> a JSON schema.

The builder speaks one dialect: properties in order, every object closed with
``additionalProperties: false``, nullable primitives as a type union (``["string", "null"]``,
enums also list ``null``), nullable objects/arrays as ``anyOf [..., {"type": "null"}]``.
Anything it cannot express exactly (a ``$ref``, ``anyOf`` unions, unknown keywords, nested arrays)
is kept verbatim in a read-only ``raw`` field, and root keywords other than the object's own
(``$defs``, ``description``, ``title``...) are kept as read-only ``root_keyword`` fields, so
``fields_to_schema(schema_to_fields(s))`` gives back ``s``.

The editing helpers (:func:`add_field`, :func:`rename_field`, :func:`move_field`,
:func:`delete_field`, :func:`update_field`) are pure: they return a new list. The schema document
(:class:`playground.schema.document.ResponseSchema`) applies them to the shared schema.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from playground.errors import ErrorKind, PlaygroundError
from playground.schema._common import is_null_schema, is_nullable, is_object_schema, type_list

FieldType = Literal["string", "number", "integer", "boolean", "object", "array", "enum"]
EnumValue = str | int | float | bool
FieldPath = Sequence[str] | str

_PRIMITIVES = ("string", "number", "integer", "boolean")
_BUILDER_ROOT_KEYS = ("type", "properties", "required", "additionalProperties")


class SchemaField(BaseModel):
    """One property in the builder (or, with ``root_keyword``, one verbatim root keyword).

    - ``type``: string, number, integer, boolean, object, array, or enum (``enum_values``).
    - ``nullable``: the value may be null (strict mode's way of saying "optional").
    - ``required``: used only by ``fields_to_schema(strict=False)``; strict mode requires every
      property, and a field with ``required=False`` is then emitted as nullable.
    - strings: ``format``, ``pattern``; numbers/integers: ``minimum``, ``maximum``.
    - objects: ``children``. Arrays: ``item_type``, ``item_fields`` (arrays of objects),
      ``item_enum_values`` (arrays of enums), ``min_items``, ``max_items``.
    - ``raw``: the verbatim schema (or root keyword value) of something the builder cannot edit,
      such as a ``$ref``; such fields have ``read_only=True``.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    type: FieldType = "string"
    description: str = ""
    nullable: bool = False
    required: bool = True
    enum_values: list[EnumValue] = Field(default_factory=list)
    format: str | None = None
    pattern: str | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    children: list[SchemaField] = Field(default_factory=list)
    item_type: FieldType | None = None
    item_fields: list[SchemaField] = Field(default_factory=list)
    item_enum_values: list[EnumValue] = Field(default_factory=list)
    min_items: int | None = None
    max_items: int | None = None
    raw: Any = None
    read_only: bool = False
    root_keyword: bool = False


# --------------------------------------------------------------------------------------------
# fields -> schema


def fields_to_schema(fields: list[SchemaField], strict: bool = True) -> dict:
    """The root object schema for ``fields``.

    ``strict=True`` lists every property in ``required`` (optional fields become nullable);
    ``strict=False`` lists only fields with ``required=True``. Objects are always closed with
    ``additionalProperties: false``. Root keyword fields are placed where they were found.
    """
    out: dict[str, Any] = {"type": "object"}
    props = [f for f in fields if not f.root_keyword]
    emitted = False
    for f in fields:
        if f.root_keyword:
            if f.name not in _BUILDER_ROOT_KEYS:
                out[f.name] = copy.deepcopy(f.raw)
        elif not emitted:
            out.update(_object_body(props, strict))
            emitted = True
    if not emitted:
        out.update(_object_body(props, strict))
    return out


def field_to_schema(field: SchemaField, strict: bool = True) -> dict:
    """The property schema of one field (raw fields verbatim)."""
    if field.read_only or field.raw is not None:
        return copy.deepcopy(field.raw)
    nullable = field.nullable or (strict and not field.required)
    base = _base_schema(field, strict)
    if not nullable:
        return base
    if field.type in ("object", "array"):
        description = base.pop("description", None)
        wrapped: dict[str, Any] = {"anyOf": [base, {"type": "null"}]}
        if description is not None:
            wrapped["description"] = description
        return wrapped
    if "type" in base:
        base["type"] = [base["type"], "null"]
    if field.type == "enum":
        base["enum"] = [*base["enum"], None]
    return base


def _object_body(fields: list[SchemaField], strict: bool) -> dict:
    _check_names(fields)
    return {
        "properties": {f.name: field_to_schema(f, strict) for f in fields},
        "required": [f.name for f in fields if strict or f.required],
        "additionalProperties": False,
    }


def _enum_type(values: list[EnumValue]) -> str | None:
    if values and all(isinstance(v, str) for v in values):
        return "string"
    if values and all(isinstance(v, bool) for v in values):
        return "boolean"
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "number"
    return None if values else "string"


def _enum_schema(values: list[EnumValue], description: str) -> dict:
    out: dict[str, Any] = {}
    t = _enum_type(values)
    if t:
        out["type"] = t
    if description:
        out["description"] = description
    out["enum"] = list(values)
    return out


def _base_schema(f: SchemaField, strict: bool) -> dict:
    if f.type == "enum":
        return _enum_schema(f.enum_values, f.description)
    out: dict[str, Any] = {"type": f.type}
    if f.description:
        out["description"] = f.description
    if f.type == "string":
        if f.format:
            out["format"] = f.format
        if f.pattern:
            out["pattern"] = f.pattern
    elif f.type in ("number", "integer"):
        if f.minimum is not None:
            out["minimum"] = f.minimum
        if f.maximum is not None:
            out["maximum"] = f.maximum
    elif f.type == "object":
        out.update(_object_body(f.children, strict))
    elif f.type == "array":
        out["items"] = _items_schema(f, strict)
        if f.min_items is not None:
            out["minItems"] = f.min_items
        if f.max_items is not None:
            out["maxItems"] = f.max_items
    return out


def _items_schema(f: SchemaField, strict: bool) -> dict:
    item_type = f.item_type or "string"
    if item_type == "object":
        return {"type": "object", **_object_body(f.item_fields, strict)}
    if item_type == "enum":
        return _enum_schema(f.item_enum_values, "")
    if item_type == "array":
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT,
            f"Field {f.name!r} is an array of arrays, which the builder cannot edit; write it in the JSON editor.",
        )
    return {"type": item_type}


def _check_names(fields: list[SchemaField]) -> None:
    seen: set[str] = set()
    for f in fields:
        if not f.name:
            raise PlaygroundError(ErrorKind.INVALID_INPUT, "A field has no name; give every field a name.")
        if f.name in seen:
            raise PlaygroundError(
                ErrorKind.INVALID_INPUT, f"Two fields at the same level are named {f.name!r}; rename one of them."
            )
        seen.add(f.name)


# --------------------------------------------------------------------------------------------
# schema -> fields


def property_count(schema: Any) -> int:
    """How many properties ``schema`` has at every level (what the builder would draw), counted
    without recursion and without building any field."""
    count = 0
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                count += len(props)
            stack.extend(value for value in node.values() if isinstance(value, dict | list))
        elif isinstance(node, list):
            stack.extend(value for value in node if isinstance(value, dict | list))
    return count


class _NotExpressible(Exception):
    pass


def schema_to_fields(schema: dict) -> list[SchemaField]:
    """The builder fields for a root object schema.

    Raises PlaygroundError (INVALID_INPUT) when the root is not an object with properties the
    builder can list (e.g. a root ``anyOf``). Unexpressible properties become read-only raw fields.
    """
    if not isinstance(schema, dict) or not is_object_schema(schema) or "anyOf" in schema:
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT,
            "The builder edits schemas whose root is an object with properties; edit this schema as JSON instead.",
        )
    props = schema.get("properties", {})
    if not isinstance(props, dict):
        raise PlaygroundError(ErrorKind.INVALID_INPUT, "The schema's 'properties' must be an object.")
    required = _required_set(schema)
    fields: list[SchemaField] = []
    for key, value in schema.items():
        if key == "properties":
            fields.extend(parse_field(name, sub, name in required) for name, sub in props.items())
        elif key not in _BUILDER_ROOT_KEYS:
            fields.append(
                SchemaField(
                    name=key,
                    raw=copy.deepcopy(value),
                    read_only=True,
                    root_keyword=True,
                    type=_guess_type(value) if isinstance(value, dict) else "object",
                )
            )
    return fields


def parse_field(name: str, schema: Any, required: bool = True) -> SchemaField:
    """The field for one property schema; a read-only raw field when the builder cannot express it."""
    try:
        field = _parse(name, schema, required)
    except (_NotExpressible, ValidationError):
        field = None
    if field is not None and _canon(field_to_schema(field, strict=False)) == _canon(schema):
        return field
    description = schema.get("description", "") if isinstance(schema, dict) else ""
    return SchemaField(
        name=name,
        type=_guess_type(schema) if isinstance(schema, dict) else "object",
        description=description if isinstance(description, str) else "",
        nullable=is_nullable(schema) if isinstance(schema, dict) else False,
        required=required,
        raw=copy.deepcopy(schema),
        read_only=True,
    )


def _required_set(schema: dict) -> set[str]:
    req = schema.get("required", [])
    return {r for r in req if isinstance(r, str)} if isinstance(req, list) else set()


def _guess_type(schema: dict) -> FieldType:
    if "enum" in schema:
        return "enum"
    types = [t for t in (type_list(schema) or []) if t != "null"]
    if len(types) == 1 and types[0] in ("string", "number", "integer", "boolean", "object", "array"):
        return types[0]  # type: ignore[return-value]
    return "object"


def _enum_values(values: Any) -> tuple[list[EnumValue], bool]:
    if not isinstance(values, list) or not values:
        raise _NotExpressible
    out = [v for v in values if v is not None]
    if any(isinstance(v, dict | list) for v in out):
        raise _NotExpressible
    return out, len(out) != len(values)


def _description(schema: dict) -> str:
    d = schema.get("description", "")
    if not isinstance(d, str):
        raise _NotExpressible
    return d


def _parse(name: str, schema: Any, required: bool) -> SchemaField:
    if not isinstance(schema, dict):
        raise _NotExpressible
    any_of = schema.get("anyOf")
    if any_of is not None:
        if set(schema) - {"anyOf", "description"} or not isinstance(any_of, list) or len(any_of) != 2:
            raise _NotExpressible
        inner = [b for b in any_of if not is_null_schema(b)]
        if len(inner) != 1 or not isinstance(inner[0], dict) or "description" in inner[0]:
            raise _NotExpressible
        field = _parse(name, inner[0], required)
        if field.type not in ("object", "array"):
            raise _NotExpressible
        return field.model_copy(update={"nullable": True, "description": _description(schema)})
    description = _description(schema)
    types = type_list(schema)
    if "enum" in schema:
        values, has_null = _enum_values(schema["enum"])
        return SchemaField(
            name=name, type="enum", description=description, enum_values=values, nullable=has_null, required=required
        )
    if not types:
        raise _NotExpressible
    non_null = [t for t in types if t != "null"]
    if len(non_null) != 1:
        raise _NotExpressible
    t = non_null[0]
    common: dict[str, Any] = {
        "name": name,
        "description": description,
        "nullable": "null" in types,
        "required": required,
    }
    if t == "string":
        return SchemaField(type="string", format=schema.get("format"), pattern=schema.get("pattern"), **common)
    if t in ("number", "integer"):
        kind: FieldType = "integer" if t == "integer" else "number"
        return SchemaField(type=kind, minimum=schema.get("minimum"), maximum=schema.get("maximum"), **common)
    if t == "boolean":
        return SchemaField(type="boolean", **common)
    if t == "object":
        props = schema.get("properties", {})
        if not isinstance(props, dict):
            raise _NotExpressible
        req = _required_set(schema)
        children = [parse_field(n, s, n in req) for n, s in props.items()]
        return SchemaField(type="object", children=children, **common)
    if t == "array":
        return _parse_array(schema, common)
    raise _NotExpressible


def _parse_array(schema: dict, common: dict[str, Any]) -> SchemaField:
    items = schema.get("items")
    if not isinstance(items, dict):
        raise _NotExpressible
    extra: dict[str, Any] = {"min_items": schema.get("minItems"), "max_items": schema.get("maxItems")}
    if "enum" in items:
        values, has_null = _enum_values(items["enum"])
        if has_null:
            raise _NotExpressible
        extra.update(item_type="enum", item_enum_values=values)
    else:
        item_types = type_list(items) or []
        if len(item_types) != 1 or item_types[0] not in (*_PRIMITIVES, "object"):
            raise _NotExpressible
        extra["item_type"] = item_types[0]
        if item_types[0] == "object":
            props = items.get("properties", {})
            if not isinstance(props, dict):
                raise _NotExpressible
            req = _required_set(items)
            extra["item_fields"] = [parse_field(n, s, n in req) for n, s in props.items()]
    return SchemaField(type="array", **extra, **common)


def _canon(schema: Any) -> Any:
    """Normalise what the builder is allowed to change: closed objects and required as a set."""
    if isinstance(schema, list):
        return [_canon(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _canon(v) for k, v in schema.items()}
    if is_object_schema(schema):
        if out.get("additionalProperties", True) is True:
            out["additionalProperties"] = False
        req = schema.get("required", [])
        out["required"] = sorted(req, key=json.dumps) if isinstance(req, list) else req
    return out


# --------------------------------------------------------------------------------------------
# Pure editing helpers


def _as_path(path: FieldPath) -> tuple[str, ...]:
    return (path,) if isinstance(path, str) else tuple(path)


def _container(fields: list[SchemaField], parent: tuple[str, ...]) -> list[SchemaField]:
    """The mutable list holding the children of ``parent`` (root: ``fields`` itself)."""
    current = fields
    for i, name in enumerate(parent):
        field = _find(current, name, parent[: i + 1])
        if field.read_only:
            raise PlaygroundError(
                ErrorKind.INVALID_INPUT,
                f"Field {'/'.join(parent[: i + 1])!r} is read-only (kept as raw JSON); edit it in the JSON editor.",
            )
        if field.type == "object":
            current = field.children
        elif field.type == "array" and field.item_type == "object":
            current = field.item_fields
        else:
            raise PlaygroundError(
                ErrorKind.INVALID_INPUT,
                f"Field {'/'.join(parent[: i + 1])!r} has no sub-fields; only objects and arrays of objects do.",
            )
    return current


def _find(container: list[SchemaField], name: str, path: tuple[str, ...]) -> SchemaField:
    for f in container:
        if f.name == name and not f.root_keyword:
            return f
    raise PlaygroundError(ErrorKind.INVALID_INPUT, f"There is no field {'/'.join(path)!r}.")


def _edit(
    fields: list[SchemaField], parent: tuple[str, ...], change: Callable[[list[SchemaField]], None]
) -> list[SchemaField]:
    new = [f.model_copy(deep=True) for f in fields]
    change(_container(new, parent))
    return new


def get_field(fields: list[SchemaField], path: FieldPath) -> SchemaField:
    """The field at ``path`` (a sequence of names from the root, e.g. ``["line_items", "sku"]``)."""
    p = _as_path(path)
    if not p:
        raise PlaygroundError(ErrorKind.INVALID_INPUT, "An empty path names no field.")
    return _find(_container(fields, p[:-1]), p[-1], p)


def add_field(
    fields: list[SchemaField], field: SchemaField, parent: FieldPath = (), index: int | None = None
) -> list[SchemaField]:
    """A new list with ``field`` added under ``parent`` (root by default), at ``index`` or the end."""
    parent_path = _as_path(parent)

    def change(container: list[SchemaField]) -> None:
        if not field.name:
            raise PlaygroundError(ErrorKind.INVALID_INPUT, "Give the new field a name.")
        if any(f.name == field.name and not f.root_keyword for f in container):
            raise PlaygroundError(ErrorKind.INVALID_INPUT, f"A field named {field.name!r} already exists there.")
        copy_ = field.model_copy(deep=True)
        container.insert(len(container) if index is None else index, copy_)

    return _edit(fields, parent_path, change)


def delete_field(fields: list[SchemaField], path: FieldPath) -> list[SchemaField]:
    """A new list without the field at ``path``."""
    p = _as_path(path)

    def change(container: list[SchemaField]) -> None:
        container.remove(_find(container, p[-1], p))

    return _edit(fields, p[:-1], change)


def rename_field(fields: list[SchemaField], path: FieldPath, new_name: str) -> list[SchemaField]:
    """A new list with the field at ``path`` renamed (names must stay unique among siblings)."""
    p = _as_path(path)

    def change(container: list[SchemaField]) -> None:
        field = _find(container, p[-1], p)
        if not new_name:
            raise PlaygroundError(ErrorKind.INVALID_INPUT, "A field name cannot be empty.")
        if new_name != field.name and any(f.name == new_name and not f.root_keyword for f in container):
            raise PlaygroundError(ErrorKind.INVALID_INPUT, f"A field named {new_name!r} already exists there.")
        field.name = new_name

    return _edit(fields, p[:-1], change)


def update_field(fields: list[SchemaField], path: FieldPath, **changes: Any) -> list[SchemaField]:
    """A new list with attributes of the field at ``path`` changed (validated like the model)."""
    p = _as_path(path)
    if "name" in changes:
        new_name = changes.pop("name")
        fields = rename_field(fields, p, new_name)
        p = (*p[:-1], new_name)

    def change(container: list[SchemaField]) -> None:
        field = _find(container, p[-1], p)
        data = field.model_dump()
        data.update(changes)
        container[container.index(field)] = SchemaField.model_validate(data)

    return _edit(fields, p[:-1], change)


def move_field(fields: list[SchemaField], path: FieldPath, new_index: int) -> list[SchemaField]:
    """A new list with the field at ``path`` moved to position ``new_index`` among its siblings.

    Indexes count property fields only (root keyword fields keep their places); out-of-range
    indexes are clamped, negative ones count from the end.
    """
    p = _as_path(path)

    def change(container: list[SchemaField]) -> None:
        slots = [i for i, f in enumerate(container) if not f.root_keyword]
        props = [container[i] for i in slots]
        field = _find(container, p[-1], p)
        props.remove(field)
        target = new_index if new_index >= 0 else len(props) + 1 + new_index
        props.insert(max(0, min(target, len(props))), field)
        for slot, f in zip(slots, props, strict=True):
            container[slot] = f

    return _edit(fields, p[:-1], change)
