"""The schema panel's core: editing the shared schema, running it, checking the reply, and "view code".

- Editing: every action of the panel (builder edits, raw JSON, import, templates, fixes) changes
  ``Workspace.response_schema.schema``, the one copy of the schema; the builder's fields are always
  derived from it (:func:`builder_fields`), so the builder, the JSON editor and the chat never drift.
- Running: a schema run is its own request (the system prompt plus a test input); it never touches
  the chat conversation. :func:`prepare_run` builds it, :func:`run_structured` streams it into a
  :class:`StructuredResult` and checks the reply against the schema when it ends.
- View code lives in :mod:`playground.snippets` (every panel uses it).

Pure Python: no Streamlit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from playground.chat import DEFAULT_REFRESH_S, stream_reply
from playground.client import PlaygroundClient
from playground.conversation import Message, ReplyStats, Status
from playground.errors import ErrorKind, PlaygroundError
from playground.registry import Price
from playground.request import ChatRequest, ensure_valid
from playground.schema import (
    FieldPath,
    ParsedSchema,
    ReplyValidation,
    SchemaField,
    add_field,
    fields_to_schema,
    fix_strict,
    get_field,
    infer_schema,
    load_templates,
    move_field,
    parse_schema_document,
    response_format_payload,
    schema_to_fields,
    update_field,
    validate_reply,
)
from playground.schema.builder import EnumValue
from playground.workspace import ResponseSchema, Workspace

RunMode = Literal["json_schema", "json_object"]
RUN_MODES: dict[str, str] = {
    "json_schema": "json_schema (structured outputs)",
    "json_object": "json_object (JSON mode)",
}
# json_object mode does not carry the schema, and the API wants the word "JSON" in the messages:
# the schema goes into the system message instead.
JSON_MODE_INSTRUCTION = "Reply with one JSON object that follows this JSON Schema:"
Verdict = Literal["pending", "valid", "invalid", "refused", "failed"]
# Placeholder values for a field turned into an enum (an empty enum cannot be expressed).
DEFAULT_ENUM_VALUES: tuple[str, ...] = ("option_a", "option_b")


def schema_json(schema: dict[str, Any]) -> str:
    """The schema as the JSON editor and the export show it."""
    return json.dumps(schema, indent=2, ensure_ascii=False)


def current_schema(target: ResponseSchema) -> dict[str, Any]:
    """The shared schema, or an empty object schema when none was set yet."""
    return target.schema if target.schema is not None else fields_to_schema([])


# --------------------------------------------------------------------------------------------
# Editing the shared schema (each function is one action of the panel)


def builder_fields(target: ResponseSchema) -> list[SchemaField]:
    """The builder's fields, derived from the shared schema (raises when the root is not an object)."""
    return schema_to_fields(current_schema(target))


def edit_fields(target: ResponseSchema, edit: Callable[..., list[SchemaField]], *args: Any, **kwargs: Any) -> None:
    """Apply one pure builder edit (``add_field``, ``delete_field``...) to the shared schema.

    Properties keep their ``required`` state as parsed (no silent strict conversion: that is
    what the linter's Fix is for); new fields are required.
    """
    target.schema = fields_to_schema(edit(builder_fields(target), *args, **kwargs), strict=False)


def parse_enum_lines(text: str, current: list[EnumValue] | None = None) -> list[EnumValue]:
    """Enum values typed one per line: numbers when every line is a JSON number, else strings.

    An enum that already has string values stays a string enum ("1", "2" do not turn into numbers).
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if current and all(isinstance(value, str) for value in current):
        return list(dict.fromkeys(lines))
    try:
        numbers = [json.loads(line) for line in lines]
    except json.JSONDecodeError:
        return list(dict.fromkeys(lines))
    if all(isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n) for n in numbers):
        return list(dict.fromkeys(numbers))
    return list(dict.fromkeys(lines))


def enum_lines(values: list[EnumValue]) -> str:
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
        return _checked(SchemaField(**_seeded(changes, None)))
    except ValidationError as error:
        raise PlaygroundError(ErrorKind.INVALID_INPUT, f"The new field is not valid: {error}") from None


def add_new_field(target: ResponseSchema, values: dict[str, Any], parent: FieldPath = ()) -> tuple[str, ...]:
    """Add a field built from the "Add field" inputs under ``parent``; returns the new field's path."""
    new = new_field(values)
    edit_fields(target, add_field, new, parent)
    return (*_as_list(parent), new.name)


def set_field_attribute(target: ResponseSchema, path: FieldPath, attr: str, raw: Any) -> None:
    """Change one attribute of the field at ``path`` (one builder input) in the shared schema."""
    fields = builder_fields(target)
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
    target.schema = fields_to_schema(edited, strict=False)


def _as_list(path: FieldPath) -> list[str]:
    return [path] if isinstance(path, str) else list(path)


def shift_field(target: ResponseSchema, path: FieldPath, step: int) -> None:
    """Move the field at ``path`` ``step`` places among its siblings (-1 = up, 1 = down)."""
    path = _as_list(path)
    fields = builder_fields(target)
    get_field(fields, path)  # a clear error for a path that does not exist
    if len(path) > 1:
        parent = get_field(fields, path[:-1])
        siblings = parent.item_fields if parent.type == "array" else parent.children
    else:
        siblings = fields
    names = [f.name for f in siblings if not f.root_keyword]
    moved = move_field(fields, path, max(0, names.index(path[-1]) + step))
    target.schema = fields_to_schema(moved, strict=False)


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


def load_template(target: ResponseSchema, name: str) -> None:
    """Replace the shared schema (and its name) with one of :func:`load_templates`."""
    templates = load_templates()
    if name not in templates:
        raise PlaygroundError(ErrorKind.INVALID_INPUT, f"There is no template named {name!r}.")
    target.schema = templates[name]["schema"]
    target.name = templates[name]["name"]


def apply_schema_text(target: ResponseSchema, text: str) -> ParsedSchema:
    """Replace the shared schema with pasted JSON: a schema, a ``response_format`` or a request body.

    A wrapper's name and strict flag are taken too. Malformed JSON raises a PlaygroundError naming
    the line and column, and leaves the schema as it was.
    """
    parsed = parse_schema_document(text)
    target.schema = parsed.schema
    if parsed.name:
        target.name = parsed.name
    if parsed.strict is not None:
        target.strict = parsed.strict
    return parsed


def infer_from_example(target: ResponseSchema, text: str) -> None:
    """Replace the shared schema with one inferred from an example JSON document."""
    target.schema = infer_schema(text)


def fix_schema(target: ResponseSchema, provider: str) -> list[str]:
    """Apply the linter's safe fixes to the shared schema; one note per change."""
    target.schema, notes = fix_strict(current_schema(target), provider)
    return notes


# --------------------------------------------------------------------------------------------
# Running


def schema_run_request(workspace: Workspace, test_input: str, mode: RunMode = "json_schema") -> ChatRequest:
    """The request of a schema run: the system prompt and ``test_input``, with the shared schema.

    ``json_schema`` sends ``response_format`` json_schema (strict as the schema's flag says);
    ``json_object`` sends JSON mode and puts the schema into the system message (JSON mode does not
    carry a schema, and needs the word JSON in the messages). The chat conversation is not used.
    Raises PlaygroundError for an invalid schema name or out-of-bounds parameters.
    """
    target = workspace.response_schema
    schema = current_schema(target)
    ensure_valid(workspace.params, workspace.model_spec())
    system = workspace.system_prompt if workspace.system_prompt.strip() else ""
    if mode == "json_schema":
        response_format = response_format_payload(schema, target.name, strict=target.strict)
    else:
        response_format = {"type": "json_object"}
        instruction = f"{JSON_MODE_INSTRUCTION}\n{json.dumps(schema, ensure_ascii=False)}"
        system = f"{system}\n\n{instruction}" if system else instruction
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": test_input})
    return ChatRequest(
        model=workspace.connection.request_model,
        messages=messages,
        params=workspace.params.model_copy(deep=True),
        response_format=response_format,
        store=workspace.connection.store,
    )


@dataclass
class StructuredResult:
    """One schema run: its request, the streamed reply (text, refusal, status, error, stats with
    cost and finish_reason), the schema it is checked against, and the check's outcome."""

    request: ChatRequest
    schema: dict[str, Any]
    mode: RunMode
    strict: bool
    reply: Message = field(default_factory=lambda: Message(role="assistant", status=Status.STREAMING))
    validation: ReplyValidation | None = None
    schema_problem: str | None = None
    checked: bool = False

    @property
    def text(self) -> str:
        return self.reply.content

    @property
    def refusal(self) -> str | None:
        return self.reply.refusal

    @property
    def stats(self) -> ReplyStats | None:
        return self.reply.stats

    @property
    def finish_reason(self) -> str | None:
        return self.reply.stats.finish_reason if self.reply.stats else None

    @property
    def truncated(self) -> bool:
        """The JSON was cut off: the reply hit the output limit, or it stops mid-document."""
        return self.finish_reason == "length" or bool(self.validation and self.validation.truncated)

    @property
    def verdict(self) -> Verdict:
        if self.reply.refusal:
            return "refused"
        if self.validation is None:
            return "failed" if self.reply.status is Status.FAILED else "pending"
        return "valid" if self.validation.ok else "invalid"

    def finish(self) -> None:
        """Close the run (a reply still marked streaming was interrupted) and check the reply."""
        if self.reply.status is Status.STREAMING:
            self.reply.status = Status.STOPPED
        self.checked = True
        self.validation = self.schema_problem = None
        if self.reply.refusal or (self.reply.status is Status.FAILED and not self.reply.content):
            return
        try:
            self.validation = validate_reply(self.schema, self.reply.content)
        except PlaygroundError as error:
            self.schema_problem = error.message


def prepare_run(workspace: Workspace, test_input: str, mode: RunMode = "json_schema") -> StructuredResult:
    """A schema run ready to stream (raises PlaygroundError when nothing can be sent yet)."""
    if not test_input.strip():
        raise PlaygroundError(ErrorKind.INVALID_INPUT, "Type a test input (the user message to send) first.")
    if workspace.response_schema.schema is None:
        raise PlaygroundError(ErrorKind.INVALID_INPUT, "Build or load a schema first.")
    request = schema_run_request(workspace, test_input, mode)
    reply = Message(role="assistant", status=Status.STREAMING, stats=ReplyStats(model=request.model))
    return StructuredResult(
        request=request,
        schema=json.loads(json.dumps(current_schema(workspace.response_schema))),
        mode=mode,
        strict=workspace.response_schema.strict,
        reply=reply,
    )


def run_structured(
    client: PlaygroundClient,
    result: StructuredResult,
    *,
    price_of: Callable[[ReplyStats], Price | None] | None = None,
    refresh_interval_s: float = DEFAULT_REFRESH_S,
) -> Iterator[StructuredResult]:
    """Stream ``result``'s request into its reply, yielding ``result`` whenever the UI should redraw;
    when the stream ends, the reply is checked against the schema and ``result`` yielded once more.

    Never raises: errors end up in ``result.reply.error``. A consumer that stops early leaves a
    partial reply; call :meth:`StructuredResult.finish` to close and check it.
    """
    with closing(
        stream_reply(client, result.request, result.reply, price_of=price_of, refresh_interval_s=refresh_interval_s)
    ) as stream:
        for _ in stream:
            yield result
    result.finish()
    yield result


def reply_tables(value: Any, path: str = "$") -> dict[str, list[dict[str, Any]]]:
    """Every array of objects in a parsed reply, by JSON path, as table rows (nested values as JSON)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    if isinstance(value, list):
        if value and all(isinstance(item, dict) for item in value):
            tables[path] = [
                {k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for k, v in item.items()}
                for item in value
            ]
        for index, item in enumerate(value):
            tables.update(reply_tables(item, f"{path}[{index}]"))
    elif isinstance(value, dict):
        for key, item in value.items():
            tables.update(reply_tables(item, f"{path}.{key}"))
    return tables


@dataclass
class SchemaPanel:
    """The schema panel's own state beside the shared schema (one per session).

    ``synced_json``: the schema JSON the raw editor and the builder inputs were last filled from
    (when the schema changes, both are refilled; a malformed edit leaves it, and the text, alone).
    ``errors``: the last failed action's message per area of the panel. ``notes``: what the last
    Fix changed. ``focus``: the field last added or edited (its expanders open). ``result``: the
    last run.
    """

    synced_json: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    focus: tuple[str, ...] = ()
    result: StructuredResult | None = None

    def needs_sync(self, target: ResponseSchema) -> bool:
        """True (once) when the shared schema changed since the editors were last filled."""
        text = schema_json(current_schema(target))
        if text == self.synced_json:
            return False
        self.synced_json = text
        return True

    def settle(self) -> None:
        """Close a run that an interrupted script left unfinished (Stop): keep and check its text."""
        if self.result is not None and not self.result.checked:
            self.result.finish()
