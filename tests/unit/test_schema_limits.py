"""Hardening of every pasted JSON: one bounded parser (limits from strict_rules.toml), circular
$refs reported by the linter and never crashing reply validation, and budgets on huge imports."""

from __future__ import annotations

import json

import pytest

import playground.schema.importing as importing
from playground.errors import ErrorKind, PlaygroundError
from playground.schema import (
    RULES,
    infer_schema,
    input_limits,
    lint_strict,
    load_json_text,
    parse_schema_text,
    provider_rules,
    validate_reply,
)
from playground.schema.builder import property_count
from playground.schema.document import ResponseSchema
from playground.tools import argument_errors, parse_tools

DEEP = "[" * 2000 + "]" * 2000


def refused(call, *args) -> str:
    with pytest.raises(PlaygroundError) as caught:
        call(*args)
    assert caught.value.kind is ErrorKind.INVALID_INPUT
    return caught.value.message


def test_limits_are_data() -> None:
    limits = input_limits()
    assert limits.max_depth >= 40  # a strict schema at the provider's depth limit must still fit
    assert limits.max_keys > 3 * provider_rules("openai").limits.max_properties
    assert 0 < limits.builder_max_fields < provider_rules("openai").limits.max_properties


@pytest.mark.parametrize("text", [DEEP, '{"a":' * 2000 + "1" + "}" * 2000, "[" * 65 + "]" * 65])
def test_deep_json_is_refused_with_a_message_not_a_recursion_error(text: str) -> None:
    message = refused(load_json_text, text, "schema")
    assert f"more than {input_limits().max_depth} levels" in message and "schema" in message


def test_json_within_the_depth_limit_parses() -> None:
    depth = input_limits().max_depth
    assert load_json_text("[" * depth + "]" * depth, "example") is not None


def test_too_many_keys_and_too_long_text_are_refused() -> None:
    limits = input_limits()
    many = json.dumps({f"k{i}": 1 for i in range(limits.max_keys + 1)})
    assert f"more than {limits.max_keys:,} keys" in refused(load_json_text, many, "example")
    long_text = json.dumps("x" * limits.max_chars)
    assert f"at most {limits.max_chars:,}" in refused(load_json_text, long_text, "tool definitions")


def test_malformed_and_empty_json_keep_their_messages() -> None:
    assert "line 1, column" in refused(load_json_text, '{"a": ', "schema")
    assert "empty" in refused(load_json_text, "  ", "schema")


@pytest.mark.parametrize(
    "entry, what", [(parse_schema_text, "schema"), (infer_schema, "example"), (parse_tools, "tool list")]
)
def test_every_paste_entry_point_uses_the_bounded_parser(entry, what) -> None:
    assert f"The {what} is nested more than" in refused(entry, DEEP)


def test_deep_tool_arguments_from_the_model_are_an_argument_error() -> None:
    [tool] = parse_tools('{"name": "f"}')
    [problem] = argument_errors(tool, DEEP)
    assert "nested more than" in problem


def test_a_ten_thousand_key_example_is_refused_before_any_schema_is_rendered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # How fast the refusal is is measured by bench/bench_schema.py; this checks what keeps it fast.
    rendered: list[str] = []
    render = importing._render_kind

    def counted(shape, kind: str, strict: bool) -> dict:
        rendered.append(kind)
        return render(shape, kind, strict)

    monkeypatch.setattr(importing, "_render_kind", counted)
    example = json.dumps({f"field_{i}": i for i in range(10_000)})
    message = refused(infer_schema, example)
    assert "10,000 distinct keys" in message and "5,000" in message
    assert rendered == []  # the keys were counted on the inferred shape, before any schema was built
    infer_schema('{"a": 1}')
    assert rendered == ["object"]  # an accepted example is rendered (so the spy sees it)


def test_an_example_at_the_property_limit_is_still_inferred() -> None:
    example = {f"field_{i}": i for i in range(provider_rules("openai").limits.max_properties)}
    assert len(infer_schema(example)["properties"]) == len(example)


# --------------------------------------------------------------------------------------------
# Circular $ref


def _with_defs(defs: dict, ref: str) -> dict:
    return {
        "type": "object",
        "properties": {"n": {"$ref": ref}},
        "required": ["n"],
        "additionalProperties": False,
        "$defs": defs,
    }


SELF = _with_defs({"node": {"$ref": "#/$defs/node"}}, "#/$defs/node")
PAIR = _with_defs({"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "#/$defs/a")
THROUGH_ANY_OF = _with_defs({"a": {"anyOf": [{"$ref": "#/$defs/a"}, {"type": "null"}]}}, "#/$defs/a")
RECURSION_THROUGH_AN_OBJECT = _with_defs(
    {
        "node": {
            "type": "object",
            "properties": {"next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}},
            "required": ["next"],
            "additionalProperties": False,
        }
    },
    "#/$defs/node",
)


@pytest.mark.parametrize(
    "schema, paths",
    [
        (SELF, ["$.$defs.node.$ref"]),
        (PAIR, ["$.$defs.a.$ref", "$.$defs.b.$ref"]),
        (THROUGH_ANY_OF, ["$.$defs.a.anyOf[0].$ref"]),
    ],
)
def test_the_linter_reports_a_ref_cycle_without_an_object_in_between(schema: dict, paths: list[str]) -> None:
    found = [v for v in lint_strict(schema) if v.rule == "ref_cycle"]
    assert sorted(v.path for v in found) == paths
    assert "ref_cycle" in RULES and all("leads back to itself" in v.message for v in found)


def test_recursion_through_an_object_is_fine() -> None:
    assert lint_strict(RECURSION_THROUGH_AN_OBJECT) == []
    assert validate_reply(RECURSION_THROUGH_AN_OBJECT, '{"n": {"next": {"next": null}}}').ok


@pytest.mark.parametrize("schema", [SELF, PAIR, THROUGH_ANY_OF])
def test_validating_against_a_ref_cycle_gives_a_verdict_not_a_recursion_error(schema: dict) -> None:
    assert "circular $ref" in refused(validate_reply, schema, '{"n": 1}')


def test_a_deeply_nested_reply_is_a_message() -> None:
    assert "nested too deeply" in refused(validate_reply, {"type": "array"}, DEEP)


# --------------------------------------------------------------------------------------------
# The builder's budget


def test_property_count_counts_every_level_without_building_fields() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "object", "properties": {"b": {"type": "string"}, "c": {"type": "string"}}},
            "items": {"type": "array", "items": {"type": "object", "properties": {"d": {"type": "string"}}}},
            "maybe": {"anyOf": [{"type": "object", "properties": {"e": {"type": "string"}}}, {"type": "null"}]},
        },
        "$defs": {"x": {"type": "object", "properties": {"f": {"type": "string"}}}},
    }
    assert property_count(schema) == 3 + 2 + 1 + 1 + 1


@pytest.mark.parametrize("extra, fits", [(0, True), (1, False)])
def test_the_document_fits_the_builder_up_to_the_budget(extra: int, fits: bool) -> None:
    count = input_limits().builder_max_fields + extra
    document = ResponseSchema(
        schema={"type": "object", "properties": {f"f{i}": {"type": "string"} for i in range(count)}}
    )
    assert document.fits_builder() is fits
    assert ResponseSchema().fits_builder()  # no schema yet: an empty builder


def test_a_failed_paste_leaves_the_document_as_it_was() -> None:
    document = ResponseSchema(name="kept", schema={"type": "object", "properties": {}})
    before = (document.name, dict(document.schema or {}), document.strict)
    for text in (DEEP, '{"a": ', json.dumps({f"k{i}": i for i in range(10_000)})):
        with pytest.raises(PlaygroundError):
            document.apply_text(text) if text.startswith("[") else document.infer_from_example(text)
    assert (document.name, document.schema, document.strict) == before
