"""Schema import (paste, infer from an example), response_format payload and templates."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from playground.errors import ErrorKind, PlaygroundError
from playground.schema import (
    infer_schema,
    lint_strict,
    load_templates,
    parse_schema_document,
    parse_schema_text,
    response_format_payload,
)

SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": False}


# --------------------------------------------------------------------------------------------
# Paste


@pytest.mark.parametrize(
    "wrapped, source, name, strict",
    [
        (SCHEMA, "schema", None, None),
        ({"name": "thing", "schema": SCHEMA}, "json_schema", "thing", None),
        (
            {"type": "json_schema", "json_schema": {"name": "thing", "schema": SCHEMA, "strict": True}},
            "response_format",
            "thing",
            True,
        ),
        (
            {
                "model": "gpt-4.1-mini",
                "messages": [],
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "description": "d", "schema": SCHEMA, "strict": False},
                },
            },
            "request",
            "x",
            False,
        ),
        ({"type": "json_schema", "name": "flat", "schema": SCHEMA, "strict": True}, "response_format", "flat", True),
    ],
)
def test_parse_accepts_bare_schemas_and_wrappers(
    wrapped: dict, source: str, name: str | None, strict: bool | None
) -> None:
    text = json.dumps(wrapped, indent=2)
    assert parse_schema_text(text) == SCHEMA
    doc = parse_schema_document(text)
    assert (doc.schema, doc.source, doc.name, doc.strict) == (SCHEMA, source, name, strict)


def test_a_schema_with_a_property_named_schema_is_not_mistaken_for_a_wrapper() -> None:
    schema = {
        "type": "object",
        "properties": {"schema": {"type": "string"}, "name": {"type": "string"}},
        "required": ["schema", "name"],
        "additionalProperties": False,
    }
    assert parse_schema_text(json.dumps(schema)) == schema


def test_malformed_json_reports_line_and_column() -> None:
    text = '{\n  "type": "object",\n  "properties": {"a": {"type": "string"}}\n  "required": ["a"]\n}'
    with pytest.raises(PlaygroundError) as err:
        parse_schema_text(text)
    assert err.value.kind is ErrorKind.INVALID_INPUT
    assert "line 4, column 3" in err.value.message
    assert err.value.details["line"] == 4 and err.value.details["column"] == 3


def test_truncated_schema_text_says_so() -> None:
    with pytest.raises(PlaygroundError, match="truncated"):
        parse_schema_text('{"type": "object", "properties": {"a": {"type": "str')


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("[1, 2]", "must be a JSON object ({...}), not an array"),
        ('"schema"', "not a string"),
        ('{"type": "json_object"}', "carries no schema"),
        ('{"type": "json_schema", "json_schema": {"name": "x"}}', "no 'schema'"),
    ],
)
def test_unusable_input_is_an_invalid_input_error(text: str, fragment: str) -> None:
    with pytest.raises(PlaygroundError) as err:
        parse_schema_text(text)
    assert err.value.kind is ErrorKind.INVALID_INPUT
    assert fragment in err.value.message


# --------------------------------------------------------------------------------------------
# Infer from an example


def fill_missing_with_null(schema: dict, doc: Any) -> Any:
    """Give keys the schema requires but ``doc`` lacks as null (strict mode has no optional keys)."""
    if isinstance(doc, dict):
        props = (
            schema.get("properties")
            if "properties" in schema
            else next((b.get("properties") for b in schema.get("anyOf", []) if "properties" in b), None)
        )
        if props is None:
            return doc
        return {k: fill_missing_with_null(props[k], doc.get(k)) for k in props}
    if isinstance(doc, list):
        items = schema.get("items") or next((b["items"] for b in schema.get("anyOf", []) if "items" in b), {})
        return [fill_missing_with_null(items, x) for x in doc]
    return doc


EXAMPLES: list[Any] = [
    {"name": "Ada", "age": 36, "height": 1.7, "admin": False},
    {"order": {"id": "A1", "customer": {"name": "Bo", "vip": True}}, "total": 12.5},
    {"items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2, "note": "gift"}, {"sku": "C", "qty": 1.5}]},
    {"deleted_at": None, "tags": [], "scores": [1, 2.5], "matrix": [[1, 2], [3]]},
    {"mixed": [1, "two", {"three": 3}, None], "events": [{"at": "2024-01-02"}, {"at": None}]},
    [{"id": 1}, {"id": 2, "extra": {"deep": [{"x": True}]}}],
    '{"from_text": {"n": 1}, "list": ["a", "b"]}',
]


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_inferred_schema_is_strict_valid_and_validates_the_example(index: int) -> None:
    example = EXAMPLES[index]
    schema = infer_schema(example)
    assert lint_strict(schema) == []
    assert lint_strict(schema, "azure") == []
    doc = json.loads(example) if isinstance(example, str) else example
    if isinstance(doc, list):
        doc = {"items": doc}
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(fill_missing_with_null(schema, doc))
    # the non-strict variant validates the example exactly as given
    Draft202012Validator(infer_schema(example, strict=False)).validate(doc)


def test_inference_details() -> None:
    schema = infer_schema(EXAMPLES[0])
    assert schema == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "height": {"type": "number"},
            "admin": {"type": "boolean"},
        },
        "required": ["name", "age", "height", "admin"],
        "additionalProperties": False,
    }


def test_arrays_of_objects_merge_keys_and_missing_keys_become_nullable() -> None:
    schema = infer_schema(EXAMPLES[2])
    item = schema["properties"]["items"]["items"]
    assert item["required"] == ["sku", "qty", "note"]
    assert item["properties"] == {
        "sku": {"type": "string"},
        "qty": {"type": "number"},
        "note": {"type": ["string", "null"]},
    }
    loose = infer_schema(EXAMPLES[2], strict=False)["properties"]["items"]["items"]
    assert loose["required"] == ["sku", "qty"] and loose["properties"]["note"] == {"type": "string"}
    validator = Draft202012Validator(schema)
    assert not validator.is_valid({"items": [{"sku": "A", "qty": 1}]})  # the model must send note: null
    assert validator.is_valid({"items": [{"sku": "A", "qty": 1, "note": None}]})


def test_nulls_and_empty_arrays() -> None:
    props = infer_schema(EXAMPLES[3])["properties"]
    assert props["deleted_at"] == {"type": ["string", "null"]}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["scores"] == {"type": "array", "items": {"type": "number"}}
    assert props["matrix"] == {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}
    events = infer_schema(EXAMPLES[4])["properties"]["events"]["items"]["properties"]
    assert events["at"] == {"type": ["string", "null"]}


def test_a_list_example_is_wrapped_in_an_items_property() -> None:
    schema = infer_schema([{"id": 1}])
    assert list(schema["properties"]) == ["items"] and schema["properties"]["items"]["type"] == "array"


def test_formats_are_added_only_on_request_and_when_supported() -> None:
    example = {"day": "2024-05-01", "at": "2024-05-01T10:00:00Z", "text": "2024 was fine"}
    assert "format" not in json.dumps(infer_schema(example))
    props = infer_schema(example, detect_formats=True)["properties"]
    assert props == {
        "day": {"type": "string", "format": "date"},
        "at": {"type": "string", "format": "date-time"},
        "text": {"type": "string"},
    }
    assert "format" not in json.dumps(infer_schema(example, detect_formats=True, provider="azure"))
    mixed = infer_schema({"d": ["2024-05-01", "soon"]}, detect_formats=True)
    assert mixed["properties"]["d"]["items"] == {"type": "string"}


@pytest.mark.parametrize("bad", ["42", "not json", 42, None])
def test_inference_needs_an_object_or_array(bad: Any) -> None:
    with pytest.raises(PlaygroundError) as err:
        infer_schema(bad)
    assert err.value.kind is ErrorKind.INVALID_INPUT


# --------------------------------------------------------------------------------------------
# response_format payload


def test_response_format_payload_is_the_chat_completions_shape() -> None:
    payload = response_format_payload(SCHEMA, "feedback_analysis")
    assert payload == {
        "type": "json_schema",
        "json_schema": {"name": "feedback_analysis", "schema": SCHEMA, "strict": True},
    }
    assert list(payload["json_schema"]) == ["name", "schema", "strict"]
    payload["json_schema"]["schema"]["properties"]["a"]["type"] = "integer"
    assert SCHEMA["properties"]["a"]["type"] == "string"  # a copy, not the caller's dict
    loose = response_format_payload(SCHEMA, "x", strict=False, description="What it is")
    assert loose["json_schema"] == {"name": "x", "description": "What it is", "schema": SCHEMA, "strict": False}


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "dots.not.allowed"])
def test_response_format_payload_checks_the_name(name: str) -> None:
    with pytest.raises(PlaygroundError) as err:
        response_format_payload(SCHEMA, name)
    assert err.value.kind is ErrorKind.INVALID_INPUT


def test_response_format_round_trips_through_paste() -> None:
    payload = response_format_payload(SCHEMA, "thing")
    doc = parse_schema_document(json.dumps(payload))
    assert (doc.schema, doc.name, doc.strict) == (SCHEMA, "thing", True)


# --------------------------------------------------------------------------------------------
# Templates


def test_templates_are_loaded_from_data() -> None:
    templates = load_templates()
    assert list(templates) == [
        "feedback_analysis",
        "invoice_extraction",
        "support_ticket_triage",
        "meeting_action_items",
    ]
    seed = templates["feedback_analysis"]["schema"]
    assert list(seed["properties"]) == ["sentiment", "category", "priority", "summary"]
    assert seed["properties"]["sentiment"]["enum"] == ["positive", "negative", "neutral"]
    assert seed["additionalProperties"] is False


@pytest.mark.parametrize("name", sorted(load_templates()))
def test_each_template_is_named_described_and_valid_json_schema(name: str) -> None:
    template = load_templates()[name]
    assert set(template) == {"name", "description", "schema"} and template["name"] == name
    assert len(template["description"]) > 20
    Draft202012Validator.check_schema(template["schema"])


def test_templates_use_nesting_and_arrays_of_objects_with_descriptions() -> None:
    templates = load_templates()
    invoice = templates["invoice_extraction"]["schema"]["properties"]
    assert invoice["line_items"]["items"]["type"] == "object" and invoice["vendor"]["type"] == "object"
    assert templates["support_ticket_triage"]["schema"]["properties"]["entities"]["items"]["type"] == "object"
    assert templates["meeting_action_items"]["schema"]["properties"]["action_items"]["items"]["type"] == "object"

    def described(schema: dict) -> bool:
        return all("description" in p for p in schema["properties"].values())

    assert all(described(t["schema"]) for t in templates.values())


def test_load_templates_returns_fresh_copies() -> None:
    first = load_templates()
    first["feedback_analysis"]["schema"]["properties"].clear()
    assert load_templates()["feedback_analysis"]["schema"]["properties"]
    assert copy.deepcopy(load_templates()) == load_templates()
