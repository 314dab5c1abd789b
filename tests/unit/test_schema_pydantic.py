"""Pydantic export: the generated models accept exactly the documents jsonschema accepts."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from playground.errors import PlaygroundError
from playground.schema import load_templates, to_pydantic_source

_REPLACEMENTS: list[Any] = ["text", 7, 2.5, True, None, [], {}, ["text"], [{}]]


def build(schema: dict, root: str = "Response") -> tuple[type[BaseModel], str]:
    source = to_pydantic_source(schema, root)
    namespace: dict[str, Any] = {}
    # dont_inherit: this test module's `from __future__ import annotations` must not leak into the source
    exec(compile(source, "<generated>", "exec", dont_inherit=True), namespace)
    model = namespace[root]
    assert issubclass(model, BaseModel)
    assert isinstance(model.model_json_schema(), dict)
    return model, source


def pydantic_accepts(model: type[BaseModel], doc: Any) -> bool:
    try:
        model.model_validate(doc)
    except ValidationError:
        return False
    return True


def mutations(doc: Any) -> Iterator[Any]:
    """Documents that differ from ``doc`` at one position: another value, a key removed or added."""
    yield from _mutate(doc, lambda new: new)


def _mutate(node: Any, rebuild: Any) -> Iterator[Any]:
    for value in _REPLACEMENTS:
        if value != node or type(value) is not type(node):
            yield rebuild(copy.deepcopy(value))
    if isinstance(node, dict):
        yield rebuild({**node, "unexpected_key": 1})
        for key in node:
            yield rebuild({k: v for k, v in node.items() if k != key})

            def child(new: Any, key: str = key) -> Any:
                return rebuild({**node, key: new})

            yield from _mutate(node[key], child)
    elif isinstance(node, list):
        yield rebuild([])
        if node:
            yield rebuild([*node, copy.deepcopy(node[0])])
        for i, item in enumerate(node):

            def element(new: Any, i: int = i) -> Any:
                return rebuild([*node[:i], new, *node[i + 1 :]])

            yield from _mutate(item, element)


def assert_same_verdicts(schema: dict, model: type[BaseModel], docs: list[Any]) -> tuple[int, int]:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    accepted = rejected = 0
    for doc in docs:
        expected = validator.is_valid(doc)
        assert pydantic_accepts(model, doc) == expected, (json.dumps(doc), expected)
        if expected:
            assert model.model_validate_json(json.dumps(doc)) is not None
            accepted += 1
        else:
            rejected += 1
    return accepted, rejected


# --------------------------------------------------------------------------------------------
# Templates: one valid document each, then every single-position mutation of it

TEMPLATE_DOCS = {
    "feedback_analysis": {
        "sentiment": "negative",
        "category": "shipping",
        "priority": "high",
        "summary": "Parcel arrived late.",
    },
    "invoice_extraction": {
        "invoice_number": "INV-7",
        "issue_date": "2025-01-02",
        "due_date": None,
        "currency": "EUR",
        "vendor": {"name": "ACME", "address": "1 Road", "tax_id": None},
        "customer": {"name": "Bo", "address": None},
        "line_items": [{"description": "Bolt", "sku": "B-1", "quantity": 3, "unit_price": 0.5, "amount": 1.5}],
        "subtotal": 1.5,
        "tax_total": 0.3,
        "total": 1.8,
        "payment_terms": "Net 30",
    },
    "support_ticket_triage": {
        "category": "billing",
        "priority": "normal",
        "sentiment": "frustrated",
        "language": "en",
        "summary": "Charged twice.",
        "customer": {"name": "Ann", "email": None, "account_id": "C-9"},
        "product_area": None,
        "entities": [{"kind": "amount", "value": "$20"}],
        "requires_human": True,
        "tags": ["refund"],
        "suggested_reply": "Sorry about that!",
    },
    "meeting_action_items": {
        "title": "Sync",
        "meeting_date": None,
        "attendees": [{"name": "Kim", "role": None}],
        "summary": "Talked.",
        "decisions": ["Ship"],
        "open_questions": [],
        "action_items": [
            {"task": "Write notes", "owner": "Kim", "due_date": None, "priority": "low", "status": "open"}
        ],
        "next_meeting": {"date": "2025-02-01", "agenda": ["Review"]},
    },
}


@pytest.mark.parametrize("name", sorted(TEMPLATE_DOCS))
def test_template_models_accept_the_same_documents_as_jsonschema(name: str) -> None:
    schema = load_templates()[name]["schema"]
    model, _ = build(schema)
    doc = TEMPLATE_DOCS[name]
    accepted, rejected = assert_same_verdicts(schema, model, [doc, *mutations(doc)])
    assert accepted >= 2 and rejected > 40  # the sample exercises both verdicts


def test_template_source_uses_nested_classes_literals_and_descriptions() -> None:
    _, source = build(load_templates()["invoice_extraction"]["schema"], "Invoice")
    assert "class Invoice(BaseModel):" in source
    assert "class LineItem(BaseModel):" in source and "line_items: list[LineItem]" in source
    assert "class Vendor(BaseModel):" in source and "vendor: Vendor" in source
    assert "tax_total: float | None" in source
    assert "description='Amount due including tax.'" in source
    assert 'extra="forbid"' in source
    _, source = build(load_templates()["feedback_analysis"]["schema"])
    assert "sentiment: Literal['positive', 'negative', 'neutral']" in source


# --------------------------------------------------------------------------------------------
# Constraints, formats, unions, names

CONSTRAINED = {
    "type": "object",
    "description": "An order line",
    "properties": {
        "qty": {"type": "integer", "minimum": 1, "maximum": 10},
        "price": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1000},
        "step": {"type": "number", "multipleOf": 0.5},
        "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
        "day": {"type": ["string", "null"], "format": "date"},
        "ref": {"type": "string", "format": "uuid"},
        "kind": {"type": ["string", "null"], "enum": ["a", "b", None]},
        "level": {"type": "integer", "enum": [1, 2, 3]},
        "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "version": {"const": "v1"},
        "ratio": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "box": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {"w": {"type": "number"}},
                    "required": ["w"],
                    "additionalProperties": False,
                },
                {"type": "null"},
            ]
        },
    },
    "required": [
        "qty",
        "price",
        "step",
        "code",
        "tags",
        "day",
        "ref",
        "kind",
        "level",
        "either",
        "version",
        "ratio",
        "box",
    ],
    "additionalProperties": False,
}
CONSTRAINED_DOC = {
    "qty": 2,
    "price": 9.99,
    "step": 1.5,
    "code": "ABC",
    "tags": ["x"],
    "day": "2025-03-04",
    "ref": "123e4567-e89b-12d3-a456-426614174000",
    "kind": "a",
    "level": 2,
    "either": "s",
    "version": "v1",
    "ratio": 0.5,
    "box": {"w": 2},
}


@pytest.mark.parametrize(
    "change, valid",
    [
        ({}, True),
        ({"qty": 1}, True),
        ({"qty": 10}, True),
        ({"qty": 0}, False),
        ({"qty": 11}, False),
        ({"qty": "2"}, False),
        ({"qty": True}, False),
        ({"price": 0}, False),
        ({"price": 0.01}, True),
        ({"price": 1000}, False),
        ({"price": 3}, True),
        ({"step": 2}, True),
        ({"step": 1.2}, False),
        ({"code": "XYZ"}, True),
        ({"code": "abc"}, False),
        ({"code": "ABCD"}, False),
        ({"tags": []}, False),
        ({"tags": ["a", "b", "c"]}, True),
        ({"tags": ["a", "b", "c", "d"]}, False),
        ({"tags": [1]}, False),
        ({"day": None}, True),
        ({"day": "2025-02-30"}, False),
        ({"day": "yesterday"}, False),
        ({"day": 0}, False),
        ({"ref": "not-a-uuid"}, False),
        ({"ref": 1}, False),
        ({"kind": None}, True),
        ({"kind": "b"}, True),
        ({"kind": "c"}, False),
        ({"level": 3}, True),
        ({"level": 4}, False),
        ({"level": "1"}, False),
        ({"either": 5}, True),
        ({"either": 5.5}, False),
        ({"either": None}, False),
        ({"version": "v2"}, False),
        ({"ratio": None}, True),
        ({"ratio": 1}, True),
        ({"ratio": 1.5}, False),
        ({"box": None}, True),
        ({"box": {"w": 1.5}}, True),
        ({"box": {"w": 1, "h": 2}}, False),
        ({"box": {}}, False),
    ],
)
def test_constraints_give_the_same_verdicts(change: dict, valid: bool) -> None:
    model, _ = build(CONSTRAINED)
    doc = {**CONSTRAINED_DOC, **change}
    assert Draft202012Validator(CONSTRAINED, format_checker=Draft202012Validator.FORMAT_CHECKER).is_valid(doc) is valid
    assert pydantic_accepts(model, doc) is valid


def test_constraints_source() -> None:
    model, source = build(CONSTRAINED)
    assert "qty: Annotated[int, Field(ge=1, le=10)]" in source
    assert "Field(gt=0, lt=1000)" in source and "Field(multiple_of=0.5)" in source
    assert "pattern='^[A-Z]{3}$'" in source
    assert "tags: Annotated[list[str], Field(min_length=1, max_length=3)]" in source
    assert "kind: Literal['a', 'b'] | None" in source
    assert "either: str | int" in source
    assert "version: Literal['v1']" in source
    assert "level: Annotated[Literal[1, 2, 3], BeforeValidator(_reject_bool)]" in source
    assert "box: Box | None" in source
    assert "day: Annotated[dt.date, Field(strict=False), BeforeValidator(_require_str)] | None" in source
    assert '"""An order line"""' in source
    assert model.model_validate(CONSTRAINED_DOC).day.isoformat() == "2025-03-04"  # type: ignore[attr-defined]
    assert_same_verdicts(CONSTRAINED, model, [CONSTRAINED_DOC, *mutations(CONSTRAINED_DOC)])


def test_awkward_property_names_become_aliases() -> None:
    names = ["class", "from-date", "model_name", "str", "2nd", "_private", "json", "date", "Box"]
    schema = {
        "type": "object",
        "properties": {n: {"type": "string"} for n in names},
        "required": names,
        "additionalProperties": False,
    }
    model, source = build(schema)
    doc = {n: n for n in names}
    assert pydantic_accepts(model, doc)
    assert model.model_validate(doc).model_dump(by_alias=True) == doc
    assert "alias='class'" in source and "alias='from-date'" in source
    assert_same_verdicts(schema, model, [doc, *mutations(doc)])


def test_optional_properties_of_non_strict_schemas() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": ["string", "null"]}},
        "required": ["a"],
    }
    model, source = build(schema)
    assert "b: int = Field(default=None)" in source
    docs = [
        {"a": "x"},
        {"a": "x", "b": 1},
        {"a": "x", "b": None},
        {"a": "x", "c": None},
        {"b": 1},
        {"a": "x", "extra": True},
    ]
    accepted, rejected = assert_same_verdicts(schema, model, docs)
    assert (accepted, rejected) == (4, 2)


# --------------------------------------------------------------------------------------------
# Recursion

RECURSIVE = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "root": {"$ref": "#/$defs/node"},
        "parent": {"anyOf": [{"$ref": "#"}, {"type": "null"}]},
        "status": {"$ref": "#/$defs/status"},
    },
    "required": ["name", "root", "parent", "status"],
    "additionalProperties": False,
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "value": {"type": "integer"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            },
            "required": ["value", "children"],
            "additionalProperties": False,
        },
        "status": {"type": "string", "enum": ["on", "off"]},
    },
}
RECURSIVE_DOC = {
    "name": "t",
    "root": {"value": 1, "children": [{"value": 2, "children": [{"value": 3, "children": []}]}]},
    "parent": {"name": "p", "root": {"value": 0, "children": []}, "parent": None, "status": "off"},
    "status": "on",
}


def test_recursive_schemas_use_forward_refs_and_model_rebuild() -> None:
    model, source = build(RECURSIVE, "Tree")
    assert "class Node(BaseModel):" in source
    assert 'children: list["Node"]' in source
    assert 'parent: Optional["Tree"]' in source
    assert "Node.model_rebuild()" in source and "Tree.model_rebuild()" in source
    assert "status: Literal['on', 'off']" in source
    parsed = model.model_validate(RECURSIVE_DOC)
    assert parsed.root.children[0].children[0].value == 3  # type: ignore[attr-defined]
    accepted, rejected = assert_same_verdicts(RECURSIVE, model, [RECURSIVE_DOC, *mutations(RECURSIVE_DOC)])
    assert accepted >= 3 and rejected > 50


def test_export_needs_an_object_root() -> None:
    with pytest.raises(PlaygroundError):
        to_pydantic_source({"type": "array", "items": {"type": "string"}})
