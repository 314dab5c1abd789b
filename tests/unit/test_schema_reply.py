"""Validating a model reply against the schema: all errors, named fields, malformed and cut-off JSON."""

from __future__ import annotations

import json

import pytest

from playground.errors import ErrorKind, PlaygroundError
from playground.schema import ReplyValidation, load_templates, validate_reply

INVOICE = load_templates()["invoice_extraction"]["schema"]
MEETING = load_templates()["meeting_action_items"]["schema"]

GOOD_INVOICE = {
    "invoice_number": "INV-1",
    "issue_date": "2025-01-02",
    "due_date": None,
    "currency": "EUR",
    "vendor": {"name": "ACME", "address": None, "tax_id": None},
    "customer": {"name": "Bo", "address": None},
    "line_items": [
        {"description": "Bolt", "sku": None, "quantity": 2, "unit_price": 0.5, "amount": 1.0},
        {"description": "Nut", "sku": "N1", "quantity": 4, "unit_price": 0.25, "amount": 1.0},
        {"description": "Washer", "sku": None, "quantity": 1, "unit_price": 0.1, "amount": 0.1},
    ],
    "subtotal": 2.1,
    "tax_total": None,
    "total": 2.1,
    "payment_terms": None,
}


def errors_by_path(result: ReplyValidation) -> dict[str, str]:
    return {e.path: e.message for e in result.errors}


def test_a_matching_reply_passes() -> None:
    result = validate_reply(INVOICE, json.dumps(GOOD_INVOICE, indent=2))
    assert result.ok and result.errors == [] and not result.truncated
    assert result.parsed == GOOD_INVOICE


def test_all_errors_are_collected_with_named_fields() -> None:
    bad = json.loads(json.dumps(GOOD_INVOICE))
    bad["line_items"][2]["unit_price"] = "0.10"
    bad["line_items"][0]["colour"] = "red"
    del bad["vendor"]["name"]
    bad["total"] = None
    result = validate_reply(INVOICE, json.dumps(bad))
    assert not result.ok and result.parsed == bad
    found = errors_by_path(result)
    assert set(found) == {"$.line_items[2].unit_price", "$.line_items[0].colour", "$.vendor.name", "$.total"}
    fields = {e.path: e.field for e in result.errors}
    assert fields["$.line_items[2].unit_price"] == "unit_price"
    assert fields["$.vendor.name"] == "name"
    assert found["$.line_items[2].unit_price"] == 'Expected number, got a string ("0.10").'
    assert found["$.vendor.name"] == "Missing required field 'name'."
    assert "Unexpected field 'colour'" in found["$.line_items[0].colour"]
    assert found["$.total"] == "Expected number, got null (null)."
    assert {e.keyword for e in result.errors} == {"type", "required", "additionalProperties"}


def test_enum_and_array_element_errors() -> None:
    reply = {
        "title": "t",
        "meeting_date": None,
        "attendees": [],
        "summary": "s",
        "decisions": ["ok", 5],
        "open_questions": [],
        "next_meeting": None,
        "action_items": [{"task": "x", "owner": None, "due_date": None, "priority": "urgent", "status": "open"}],
    }
    result = validate_reply(MEETING, json.dumps(reply))
    by_path = {e.path: e for e in result.errors}
    assert set(by_path) == {"$.decisions[1]", "$.action_items[0].priority"}
    assert by_path["$.decisions[1]"].field == "decisions[1]"
    assert by_path["$.action_items[0].priority"].message == (
        '"urgent" is not one of the allowed values: "high", "medium", "low".'
    )


def test_errors_inside_a_nullable_object_point_at_the_inner_field() -> None:
    reply = {
        "title": "t",
        "meeting_date": None,
        "attendees": [],
        "summary": "s",
        "decisions": [],
        "action_items": [],
        "open_questions": [],
        "next_meeting": {"date": 5, "agenda": []},
    }
    result = validate_reply(MEETING, json.dumps(reply))
    assert [(e.path, e.message) for e in result.errors] == [
        ("$.next_meeting.date", "Expected string or null, got an integer (5).")
    ]
    reply["next_meeting"] = "tomorrow"
    result = validate_reply(MEETING, json.dumps(reply))
    assert [(e.path, e.message) for e in result.errors] == [
        ("$.next_meeting", 'Expected object or null, got a string ("tomorrow").')
    ]


def test_constraint_and_format_messages() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 1},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 1},
            "day": {"type": "string", "format": "date"},
            "code": {"type": "string", "pattern": "^[A-Z]+$"},
        },
        "required": ["n", "tags", "day", "code"],
        "additionalProperties": False,
    }
    result = validate_reply(schema, '{"n": 0, "tags": ["a", "b"], "day": "2025-13-01", "code": "abc"}')
    assert errors_by_path(result) == {
        "$.n": "0 is below the minimum of 1.",
        "$.tags": "Has 2 items; at most 1 are allowed.",
        "$.day": '"2025-13-01" is not a valid date.',
        "$.code": "\"abc\" does not match the pattern '^[A-Z]+$'.",
    }


def test_malformed_json_gives_one_error_with_line_and_column() -> None:
    text = '{\n  "invoice_number": "INV-1",\n  "total": 2.1,,\n}'
    result = validate_reply(INVOICE, text)
    assert not result.ok and result.parsed is None and not result.truncated
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error.path == "$"
    assert "not valid JSON" in error.message and "line 3, column 16" in error.message
    assert "truncated" not in error.message


@pytest.mark.parametrize("cut", [40, 200, 333, -2])
def test_truncated_json_is_recognised(cut: int) -> None:
    text = json.dumps(GOOD_INVOICE, indent=2)[:cut]
    result = validate_reply(INVOICE, text)
    assert not result.ok and result.truncated and len(result.errors) == 1
    assert "looks truncated" in result.errors[0].message
    assert "line " in result.errors[0].message and "column " in result.errors[0].message


def test_code_fenced_reply_gets_a_hint() -> None:
    result = validate_reply(INVOICE, "```json\n" + json.dumps(GOOD_INVOICE) + "\n```")
    assert not result.ok and "code fence" in result.errors[0].message


def test_empty_reply() -> None:
    result = validate_reply(INVOICE, "  ")
    assert not result.ok and result.errors[0].message == "The reply is empty."


def test_a_valid_but_wrong_shaped_document() -> None:
    result = validate_reply(INVOICE, "[1, 2]")
    assert not result.ok and result.parsed == [1, 2]
    assert errors_by_path(result) == {"$": "Expected object, got an array ([1, 2])."}


def test_recursive_schema_errors_have_deep_paths() -> None:
    schema = {
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/node"}},
        "required": ["root"],
        "additionalProperties": False,
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                "required": ["v", "kids"],
                "additionalProperties": False,
            }
        },
    }
    text = json.dumps({"root": {"v": 1, "kids": [{"v": 2, "kids": [{"v": "3", "kids": []}]}]}})
    result = validate_reply(schema, text)
    assert [e.path for e in result.errors] == ["$.root.kids[0].kids[0].v"]


def test_an_invalid_schema_is_an_invalid_input_error() -> None:
    with pytest.raises(PlaygroundError) as err:
        validate_reply({"type": "object", "properties": {"a": {"type": "strng"}}}, "{}")
    assert err.value.kind is ErrorKind.INVALID_INPUT
    with pytest.raises(PlaygroundError, match="does not resolve"):
        validate_reply({"type": "object", "properties": {"a": {"$ref": "#/$defs/nope"}}}, '{"a": 1}')
