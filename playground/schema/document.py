"""The shared structured-output schema document and every edit the schema panel makes to it.

:class:`ResponseSchema` holds the one copy of the schema (with its name, strict flag and whether the
chat uses it); the builder's fields are always derived from it (:meth:`ResponseSchema.fields`), so
the builder, the JSON editor and the chat never drift. Each method is one action of the panel.
The module-level functions turn the builder's raw widget values into field attributes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from playground.errors import ErrorKind, PlaygroundError
from playground.schema._rules import input_limits
from playground.schema.builder import (
    EnumValue,
    FieldPath,
    SchemaField,
    add_field,
    delete_field,
    fields_to_schema,
    get_field,
    move_field,
    property_count,
    schema_to_fields,
    update_field,
)
from playground.schema.importing import ParsedSchema, infer_schema, parse_schema_document
from playground.schema.lint import fix_strict
from playground.schema.templates import load_templates

# Placeholder values for a field turned into an enum (an empty enum cannot be expressed).
DEFAULT_ENUM_VALUES: tuple[str, ...] = ("option_a", "option_b")


@dataclass
class ResponseSchema:
    """The structured-output schema shared by the schema panel, the chat and "view code"."""

    name: str = "response"
    schema: dict[str, Any] | None = None
    strict: bool = True
    enabled: bool = False

    def response_format(self) -> dict[str, Any] | None:
        """The chat's ``response_format`` when "Use in chat" is on and a schema exists."""
        if not self.enabled or self.schema is None:
            return None
        return {"type": "json_schema", "json_schema": {"name": self.name, "schema": self.schema, "strict": self.strict}}

    def current(self) -> dict[str, Any]:
        """The schema, or an empty object schema when none was set yet."""
        return self.schema if self.schema is not None else fields_to_schema([])

    # --- the builder -------------------------------------------------------------------------
    def fits_builder(self) -> bool:
        """Whether the visual builder draws this schema: at most ``builder_max_fields`` properties
        (``[input_limits]``); past that one expander per field takes too long, and the JSON editor
        takes over."""
        return property_count(self.current()) <= input_limits().builder_max_fields

    def fields(self) -> list[SchemaField]:
        """The builder's fields, derived from the schema (raises when the root is not an object)."""
        return schema_to_fields(self.current())

    def edit(self, change: Callable[[list[SchemaField]], list[SchemaField]]) -> None:
        """Apply one pure builder edit (a function of the fields, such as a partial ``add_field``).

        Properties keep their ``required`` state as parsed (no silent strict conversion: that is
        what the linter's Fix is for); new fields are required.
        """
        self._store(change(self.fields()))

    def _store(self, fields: list[SchemaField]) -> None:
        self.schema = fields_to_schema(fields, strict=False)

    def add_field(self, values: dict[str, Any], parent: FieldPath = ()) -> tuple[str, ...]:
        """Add a field built from the "Add field" inputs under ``parent``; returns the new field's path."""
        new = new_field(values)
        self.edit(lambda fields: add_field(fields, new, parent))
        return (*_as_list(parent), new.name)

    def delete_field(self, path: FieldPath) -> None:
        self.edit(lambda fields: delete_field(fields, path))

    def set_field_attribute(self, path: FieldPath, attr: str, raw: Any) -> None:
        """Change one attribute of the field at ``path`` (one builder input)."""
        fields = self.fields()
        field = get_field(fields, path)
        value = _attribute(attr, raw, getattr(field, attr, None))
        if attr == "type" and value != field.type and (nested := [*field.children, *field.item_fields]):
            names = ", ".join(child.name for child in nested)
            raise PlaygroundError(
                ErrorKind.INVALID_INPUT,
                f"Changing '{field.name}' to {value} would delete its sub-fields ({names}). "
                "Delete them first if that is what you want.",
            )
        changes = _seeded({attr: value}, field)
        try:
            edited = update_field(fields, path, **changes)
        except ValidationError as error:
            raise PlaygroundError(ErrorKind.INVALID_INPUT, f"That value does not fit the field: {error}") from None
        new_path = [*_as_list(path)[:-1], changes.get("name") or _as_list(path)[-1]]
        _checked(get_field(edited, new_path))
        self._store(edited)

    def shift_field(self, path: FieldPath, step: int) -> None:
        """Move the field at ``path`` ``step`` places among its siblings (-1 = up, 1 = down)."""
        path = _as_list(path)
        fields = self.fields()
        get_field(fields, path)  # a clear error for a path that does not exist
        if len(path) > 1:
            parent = get_field(fields, path[:-1])
            siblings = parent.item_fields if parent.type == "array" else parent.children
        else:
            siblings = fields
        names = [f.name for f in siblings if not f.root_keyword]
        self._store(move_field(fields, path, max(0, names.index(path[-1]) + step)))

    # --- whole-schema actions ----------------------------------------------------------------
    def load_template(self, name: str) -> None:
        """Replace the schema (and its name) with one of :func:`load_templates`."""
        templates = load_templates()
        if name not in templates:
            raise PlaygroundError(ErrorKind.INVALID_INPUT, f"There is no template named {name!r}.")
        self.schema = templates[name]["schema"]
        self.name = templates[name]["name"]

    def apply_text(self, text: str) -> ParsedSchema:
        """Replace the schema with pasted JSON: a schema, a ``response_format`` or a request body.

        A wrapper's name and strict flag are taken too. Malformed (or too large) JSON raises a
        PlaygroundError naming the problem, and leaves the schema as it was.
        """
        parsed = parse_schema_document(text)
        self.schema = parsed.schema
        if parsed.name:
            self.name = parsed.name
        if parsed.strict is not None:
            self.strict = parsed.strict
        return parsed

    def infer_from_example(self, text: str) -> None:
        """Replace the schema with one inferred from an example JSON document."""
        self.schema = infer_schema(text)

    def fix(self, provider: str) -> list[str]:
        """Apply the linter's safe fixes; one note per change."""
        self.schema, notes = fix_strict(self.current(), provider)
        return notes


# --------------------------------------------------------------------------------------------
# Builder inputs -> field attributes


def parse_enum_lines(text: str, current: list[EnumValue] | None = None) -> list[EnumValue]:
    """Enum values typed one per line: numbers when every line is a JSON number, else strings.

    An enum that already has string values stays a string enum ("1", "2" do not turn into numbers).
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if current and all(isinstance(value, str) for value in current):
        return list(dict.fromkeys(lines))
    try:
        numbers = [json.loads(line) for line in lines]
    except (json.JSONDecodeError, RecursionError):  # a line of 2,000 "[" is text, not a crash
        return list(dict.fromkeys(lines))
    if all(isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n) for n in numbers):
        return list(dict.fromkeys(numbers))
    return list(dict.fromkeys(lines))


def enum_lines(values: list[EnumValue]) -> str:
    """Enum values as the builder's text box shows them, one per line."""
    return "\n".join(json.dumps(v) if isinstance(v, bool) else str(v) for v in values)


def _attribute(attr: str, raw: Any, current: Any = None) -> Any:
    """A builder input's raw value in the field model's terms ("" -> None, enum lines -> values);
    ``current`` is the attribute's present value."""
    if attr == "name":
        return str(raw or "").strip()
    if attr in ("enum_values", "item_enum_values"):
        values = parse_enum_lines(raw, current) if isinstance(raw, str) else list(raw or [])
        if not values:
            raise PlaygroundError(ErrorKind.INVALID_INPUT, "An enum needs at least one value (one per line).")
        return values
    if attr in ("format", "pattern", "item_type"):
        return raw or None
    if attr in ("min_items", "max_items"):
        return None if raw is None else int(raw)
    if attr in ("minimum", "maximum"):
        return int(raw) if isinstance(raw, float) and raw.is_integer() else raw
    return raw


def _seeded(changes: dict[str, Any], current: SchemaField | None) -> dict[str, Any]:
    """Fill what a new type needs to stay editable: enum values, an array's item type."""

    def has(attr: str) -> Any:
        return changes.get(attr) or (getattr(current, attr) if current else None)

    kind = changes.get("type") or (current.type if current else "string")
    if kind == "enum" and not has("enum_values"):
        changes["enum_values"] = list(DEFAULT_ENUM_VALUES)
    if kind == "array":
        changes["item_type"] = has("item_type") or "string"
        if changes["item_type"] == "enum" and not has("item_enum_values"):
            changes["item_enum_values"] = list(DEFAULT_ENUM_VALUES)
    return changes


def _checked(field_: SchemaField) -> SchemaField:
    """``field_`` when its bounds are consistent; a PlaygroundError naming the problem otherwise."""
    for low, high, what in (("minimum", "maximum", "minimum"), ("min_items", "max_items", "minimum item count")):
        low_value, high_value = getattr(field_, low), getattr(field_, high)
        if low_value is not None and high_value is not None and low_value > high_value:
            raise PlaygroundError(
                ErrorKind.INVALID_INPUT,
                f"Field {field_.name!r}: the {what} ({low_value}) is above the maximum ({high_value}).",
            )
    return field_


# The attributes each type uses (besides name, type, description, nullable).
_TYPE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "string": ("format", "pattern"),
    "number": ("minimum", "maximum"),
    "integer": ("minimum", "maximum"),
    "enum": ("enum_values",),
    "array": ("item_type", "min_items", "max_items"),
}
# Every input of the "Add a field" form, by SchemaField attribute.
ADD_FORM_ATTRIBUTES: tuple[str, ...] = (
    "name",
    "type",
    "description",
    "nullable",
    *dict.fromkeys(attr for attrs in _TYPE_ATTRIBUTES.values() for attr in attrs),
    "item_enum_values",
)


def new_field(values: dict[str, Any]) -> SchemaField:
    """A field from the "Add field" inputs (raw widget values by attribute name; inputs that do not
    apply to the chosen type, such as a hidden enum box, are ignored)."""
    kind = values.get("type") or "string"
    relevant = {"name", "type", "description", "nullable", *_TYPE_ATTRIBUTES.get(kind, ())}
    if kind == "array" and values.get("item_type") == "enum":
        relevant.add("item_enum_values")
    changes = {attr: _attribute(attr, raw) for attr, raw in values.items() if attr in relevant}
    if not changes.get("name"):
        raise PlaygroundError(ErrorKind.INVALID_INPUT, "Give the new field a name.")
    try:
        return _checked(SchemaField.model_validate(_seeded(changes, None)))
    except ValidationError as error:
        raise PlaygroundError(ErrorKind.INVALID_INPUT, f"The new field is not valid: {error}") from None


def parent_paths(fields: list[SchemaField], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Where a field can be added: the root, then every editable object and array of objects."""
    out = [prefix] if not prefix else []
    for f in fields:
        if f.read_only or f.root_keyword:
            continue
        path = (*prefix, f.name)
        if f.type == "object":
            out += [path, *parent_paths(f.children, path)]
        elif f.type == "array" and f.item_type == "object":
            out += [path, *parent_paths(f.item_fields, path)]
    return out


def _as_list(path: FieldPath) -> list[str]:
    return [path] if isinstance(path, str) else list(path)
