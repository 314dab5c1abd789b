"""playground.schema_run: schema-run requests per mode, the streamed and checked result, the panel's
schema edits, and "view code" snippets (which must send the exact request and never hold the key)."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from playground.client import PlaygroundClient
from playground.connection import ConnectionSettings
from playground.conversation import Status
from playground.errors import ErrorKind, PlaygroundError
from playground.registry import Price
from playground.request import ChatParams
from playground.schema import add_field, get_field, lint_strict, load_templates
from playground.schema.document import DEFAULT_ENUM_VALUES, enum_lines, parent_paths, parse_enum_lines
from playground.schema_run import (
    JSON_MODE_INSTRUCTION,
    SchemaPanel,
    prepare_run,
    reply_tables,
    run_structured,
    schema_json,
    schema_run_request,
)
from playground.workspace import ResponseSchema, Workspace
from tests.fakes.server import Scenario

PRICE = Price(input=0.40, cached_input=0.10, output=1.60)
SECRET = "sk-live-TOPSECRET-0123456789abcdef"
FEEDBACK = load_templates()["feedback_analysis"]["schema"]
GOOD_FEEDBACK = {"sentiment": "positive", "category": "shipping", "priority": "low", "summary": "Fast."}
TITLE_SCORE = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "score": {"type": "integer"}},
    "required": ["title", "score"],
    "additionalProperties": False,
}


def workspace(settings: ConnectionSettings | None = None, system: str = "You label feedback.") -> Workspace:
    ws = Workspace(connection=settings or ConnectionSettings(api_key=SecretStr(SECRET)), system_prompt=system)
    ws.response_schema.load_template("feedback_analysis")
    return ws


# --- requests -----------------------------------------------------------------------------------
def test_json_schema_strict_request_is_system_prompt_plus_test_input_only():
    ws = workspace()
    ws.conversation.add_user("an earlier chat turn that must not be sent")
    ws.params = ChatParams(temperature=0.2, seed=7)
    body = schema_run_request(ws, "Great app, slow delivery.").to_kwargs()
    assert body["messages"] == [
        {"role": "system", "content": "You label feedback."},
        {"role": "user", "content": "Great app, slow delivery."},
    ]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "feedback_analysis", "schema": FEEDBACK, "strict": True},
    }
    assert body["temperature"] == 0.2 and body["seed"] == 7 and body["stream"] is True
    assert len(ws.conversation.messages) == 1  # the chat is untouched


def test_strict_off_is_sent_as_strict_false_and_no_system_prompt_means_no_system_message():
    ws = workspace(system="  ")
    ws.response_schema.strict = False
    body = schema_run_request(ws, "hi").to_kwargs()
    assert body["response_format"]["json_schema"]["strict"] is False
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_json_object_mode_puts_the_schema_in_the_system_message():
    ws = workspace()
    body = schema_run_request(ws, "hi", "json_object").to_kwargs()
    assert body["response_format"] == {"type": "json_object"}
    system = body["messages"][0]["content"]
    assert system.startswith("You label feedback.\n\n" + JSON_MODE_INSTRUCTION)
    assert json.loads(system.split("\n", 3)[-1]) == FEEDBACK  # the schema, as JSON
    assert "JSON" in system  # JSON mode requires the word in the messages
    alone = schema_run_request(workspace(system=""), "hi", "json_object").to_kwargs()["messages"][0]["content"]
    assert alone.startswith(JSON_MODE_INSTRUCTION)


def test_the_chat_param_response_format_does_not_override_the_run_mode():
    ws = workspace()
    ws.params = ChatParams(response_format="json_object")
    assert schema_run_request(ws, "hi").to_kwargs()["response_format"]["type"] == "json_schema"


def test_azure_requests_name_the_deployment():
    settings = ConnectionSettings(
        provider="azure", azure_endpoint="https://res.openai.azure.com", api_key=SecretStr(SECRET), deployment="my-mini"
    )
    assert schema_run_request(workspace(settings), "hi").model == "my-mini"


@pytest.mark.parametrize(
    ("change", "text", "message"),
    [
        (lambda ws: None, "  ", "Type a test input"),
        (lambda ws: setattr(ws.response_schema, "schema", None), "hi", "Build or load a schema first"),
        (lambda ws: setattr(ws.response_schema, "name", "bad name!"), "hi", "may only use letters"),
        (lambda ws: setattr(ws, "params", ChatParams(temperature=5)), "hi", "temperature must be between"),
    ],
)
def test_prepare_run_refuses_what_cannot_be_sent(change, text, message):
    ws = workspace()
    change(ws)
    with pytest.raises(PlaygroundError, match=message) as info:
        prepare_run(ws, text)
    assert info.value.kind is ErrorKind.INVALID_INPUT


def test_prepare_run_snapshots_the_schema():
    ws = workspace()
    result = prepare_run(ws, "hi")
    ws.response_schema.schema["properties"].clear()
    assert result.schema == FEEDBACK and result.mode == "json_schema" and result.strict is True
    assert result.reply.status is Status.STREAMING and result.verdict == "pending"


# --- running and checking -----------------------------------------------------------------------
def run(fake, openai_settings, scenario: Scenario, schema: dict = FEEDBACK, mode="json_schema"):
    ws = workspace(openai_settings)
    ws.response_schema.schema = schema
    fake.enqueue(scenario)
    result = prepare_run(ws, "Great app", mode)
    updates = list(
        run_structured(PlaygroundClient(openai_settings), result, price_of=lambda _: PRICE, refresh_interval_s=0)
    )
    assert updates and all(update is result for update in updates)
    return result


def test_a_matching_reply_is_valid_and_keeps_its_stats_and_cost(fake, openai_settings):
    result = run(fake, openai_settings, Scenario(text=json.dumps(GOOD_FEEDBACK)))
    assert result.verdict == "valid" and result.validation.parsed == GOOD_FEEDBACK
    assert result.finish_reason == "stop" and not result.truncated
    assert result.stats.cost_usd and result.stats.completion_tokens
    body = fake.chat_requests()[-1].json
    assert body["response_format"]["json_schema"] == {"name": "feedback_analysis", "schema": FEEDBACK, "strict": True}


def test_a_reply_breaking_the_schema_is_invalid_and_names_the_field(fake, openai_settings):
    result = run(fake, openai_settings, Scenario(text='{"title": "A", "score": "high"}'), TITLE_SCORE)
    assert result.verdict == "invalid"
    [error] = result.validation.errors
    assert (error.path, error.field) == ("$.score", "score") and "Expected integer" in error.message


def test_a_refusal_is_reported_and_not_checked(fake, openai_settings):
    result = run(fake, openai_settings, Scenario(refusal="I can't help with that."))
    assert result.verdict == "refused" and result.refusal == "I can't help with that."
    assert result.validation is None


def test_a_reply_cut_at_the_length_limit_is_truncated(fake, openai_settings):
    result = run(fake, openai_settings, Scenario(text='{"sentiment": "positive", "summ', finish_reason="length"))
    assert result.truncated and result.finish_reason == "length" and result.verdict == "invalid"
    assert "truncated" in result.validation.errors[0].message


def test_a_failed_request_has_no_verdict_but_the_error(fake, openai_settings):
    result = run(fake, openai_settings, Scenario(fault="insufficient_quota"))
    assert result.verdict == "failed" and result.reply.error.kind is ErrorKind.QUOTA


def test_json_object_mode_reply_is_checked_against_the_schema_too(fake, openai_settings):
    result = run(fake, openai_settings, Scenario(text=json.dumps(GOOD_FEEDBACK)), mode="json_object")
    assert result.verdict == "valid" and fake.chat_requests()[-1].json["response_format"] == {"type": "json_object"}


def test_a_stopped_run_is_settled_with_its_partial_text_checked(fake, openai_settings):
    ws = workspace(openai_settings)
    fake.enqueue(Scenario(text=json.dumps(GOOD_FEEDBACK), chunks=20, chunk_delay=0.005))
    panel = SchemaPanel(result=prepare_run(ws, "hi"))
    updates = run_structured(PlaygroundClient(openai_settings), panel.result, refresh_interval_s=0)
    for _ in range(5):
        next(updates)
    updates.close()  # what a Stop click does to the running script
    panel.settle()
    assert panel.result.reply.status is Status.STOPPED and panel.result.text
    assert panel.result.verdict == "invalid" and panel.result.truncated


def test_an_invalid_schema_is_reported_not_raised(fake, openai_settings):
    result = run(fake, openai_settings, Scenario(text="{}"), {"type": "object", "properties": {"a": {"type": 5}}})
    assert result.schema_problem and "not valid JSON Schema" in result.schema_problem


def test_reply_tables_find_arrays_of_objects_with_nested_values_as_json():
    parsed = {
        "title": "x",
        "items": [{"sku": "A", "qty": 2, "tags": ["x"]}, {"sku": "B", "qty": 1, "tags": []}],
        "meta": {"rows": [{"a": 1}]},
        "plain": [1, 2],
    }
    assert reply_tables(parsed) == {
        "$.items": [{"sku": "A", "qty": 2, "tags": '["x"]'}, {"sku": "B", "qty": 1, "tags": "[]"}],
        "$.meta.rows": [{"a": 1}],
    }


# --- editing the shared schema ------------------------------------------------------------------
def names(target: ResponseSchema, *path: str) -> list[str]:
    fields = target.fields()
    if path:
        field = get_field(fields, list(path))
        fields = field.children if field.type == "object" else field.item_fields
    return [f.name for f in fields if not f.root_keyword]


def test_builder_edits_change_the_one_shared_schema():
    target = ResponseSchema()
    assert target.fields() == []
    path = target.add_field({"name": " title ", "type": "string", "description": "Headline"})
    assert path == ("title",)
    target.add_field({"name": "score", "type": "integer", "minimum": 0, "maximum": 10})
    assert target.schema == {
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "Headline"},
            "score": {"type": "integer", "minimum": 0, "maximum": 10},
        },
        "required": ["title", "score"],
        "additionalProperties": False,
    }
    target.shift_field(["score"], -1)
    assert names(target) == ["score", "title"]
    target.shift_field(["score"], -1)  # already first: stays
    assert names(target) == ["score", "title"]
    target.delete_field(["score"])
    assert names(target) == ["title"] and lint_strict(target.schema) == []


def test_nested_objects_and_arrays_of_objects_are_edited_in_place():
    target = ResponseSchema()
    target.add_field({"name": "items", "type": "array", "item_type": "object", "min_items": 1})
    target.add_field({"name": "sku", "type": "string"}, ("items",))
    target.add_field({"name": "qty", "type": "integer"}, ("items",))
    target.add_field({"name": "address", "type": "object", "nullable": True})
    target.add_field({"name": "city", "type": "string"}, ["address"])
    assert parent_paths(target.fields()) == [(), ("items",), ("address",)]
    target.shift_field(("items", "qty"), -1)
    assert names(target, "items") == ["qty", "sku"]
    items = target.schema["properties"]["items"]
    assert items["minItems"] == 1 and list(items["items"]["properties"]) == ["qty", "sku"]
    assert target.schema["properties"]["address"]["anyOf"][1] == {"type": "null"}
    assert lint_strict(target.schema) == []


def test_changing_a_type_keeps_the_field_editable():
    target = ResponseSchema(schema=TITLE_SCORE)
    target.set_field_attribute(["title"], "type", "enum")
    assert target.schema["properties"]["title"]["enum"] == list(DEFAULT_ENUM_VALUES)
    target.set_field_attribute(["title"], "enum_values", "red\ngreen\n\nred")
    assert target.schema["properties"]["title"] == {"type": "string", "enum": ["red", "green"]}
    target.set_field_attribute(["score"], "type", "array")
    assert target.schema["properties"]["score"]["items"] == {"type": "string"}
    target.set_field_attribute(["score"], "item_type", "enum")
    assert target.schema["properties"]["score"]["items"]["enum"] == list(DEFAULT_ENUM_VALUES)
    target.set_field_attribute(["title"], "name", "colour")
    assert list(target.schema["properties"]) == ["colour", "score"]
    assert not any(f.read_only for f in target.fields())


def test_string_and_number_attributes():
    target = ResponseSchema(schema=TITLE_SCORE)
    target.set_field_attribute(["title"], "format", "email")
    target.set_field_attribute(["title"], "pattern", "^.+@example\\.com$")
    target.set_field_attribute(["title"], "nullable", True)
    target.set_field_attribute(["score"], "maximum", 5.0)
    assert target.schema["properties"]["title"] == {
        "type": ["string", "null"],
        "format": "email",
        "pattern": "^.+@example\\.com$",
    }
    assert target.schema["properties"]["score"] == {"type": "integer", "maximum": 5}
    target.set_field_attribute(["title"], "format", None)
    target.set_field_attribute(["title"], "pattern", "")
    assert target.schema["properties"]["title"] == {"type": ["string", "null"]}


@pytest.mark.parametrize(
    ("path", "attr", "value", "message"),
    [
        (["score"], "minimum", 50, r"minimum \(50\) is above the maximum \(10\)"),
        (["title"], "name", "score", "already exists"),
        (["title"], "name", "  ", "cannot be empty"),
        (["title"], "enum_values", "\n", "at least one value"),
        (["nope"], "description", "x", "There is no field 'nope'"),
    ],
)
def test_rejected_edits_leave_the_schema_unchanged(path, attr, value, message):
    schema = {**TITLE_SCORE, "properties": {**TITLE_SCORE["properties"], "score": {"type": "integer", "maximum": 10}}}
    target = ResponseSchema(schema=schema)
    with pytest.raises(PlaygroundError, match=message):
        target.set_field_attribute(path, attr, value)
    assert target.schema == schema


def test_new_fields_need_a_name_and_a_unique_one():
    target = ResponseSchema(schema=TITLE_SCORE)
    with pytest.raises(PlaygroundError, match="Give the new field a name"):
        target.add_field({"name": "", "type": "string"})
    with pytest.raises(PlaygroundError, match="already exists"):
        target.add_field({"name": "title", "type": "string"})
    assert target.schema == TITLE_SCORE


def test_inputs_that_do_not_apply_to_the_type_are_ignored():
    target = ResponseSchema()
    target.add_field({"name": "a", "type": "string", "enum_values": "", "minimum": 3, "item_enum_values": ""})
    target.add_field({"name": "b", "type": "array", "item_type": "integer", "item_enum_values": ""})
    assert target.schema["properties"]["a"] == {"type": "string"}
    assert target.schema["properties"]["b"] == {"type": "array", "items": {"type": "integer"}}
    with pytest.raises(PlaygroundError, match="at least one value"):
        target.add_field({"name": "c", "type": "enum", "enum_values": " \n"})


def test_enum_lines_round_trip_numbers_and_strings():
    assert parse_enum_lines("1\n2.5\n 3 ") == [1, 2.5, 3]
    assert parse_enum_lines("1\ntwo") == ["1", "two"]
    assert parse_enum_lines('"quoted"\nplain') == ['"quoted"', "plain"]
    assert parse_enum_lines("NaN\n1") == ["NaN", "1"]
    assert enum_lines([1, 2.5, "x", True]) == "1\n2.5\nx\ntrue"


def test_raw_json_replaces_the_schema_or_keeps_it_and_says_where_it_broke():
    target = ResponseSchema(schema=TITLE_SCORE)
    with pytest.raises(PlaygroundError, match=r"line 2, column \d+") as info:
        target.apply_text('{"type": "object",\n  "properties": {,}}')
    assert info.value.details["line"] == 2
    assert target.schema == TITLE_SCORE
    wrapper = {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "scores", "strict": False, "schema": FEEDBACK},
        }
    }
    target.apply_text(json.dumps(wrapper))
    assert (target.schema, target.name, target.strict) == (FEEDBACK, "scores", False)


def test_defs_and_recursive_refs_survive_builder_edits():
    tree = {
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/node"}},
        "required": ["root"],
        "additionalProperties": False,
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
                "required": ["label", "children"],
                "additionalProperties": False,
            }
        },
    }
    target = ResponseSchema(schema=tree)
    fields = target.fields()
    assert fields[0].read_only and fields[-1].root_keyword and fields[-1].name == "$defs"
    target.edit(lambda current: add_field(current, fields[0].model_copy(update={"name": "copy"})))
    assert target.schema["$defs"] == tree["$defs"] and target.schema["properties"]["copy"] == {"$ref": "#/$defs/node"}
    assert lint_strict(target.schema) == []


def test_infer_fix_and_template_actions():
    target = ResponseSchema()
    target.infer_from_example('{"title": "A", "score": 3, "tags": ["x"], "note": null}')
    assert target.schema["properties"]["score"] == {"type": "integer"}
    assert target.schema["properties"]["note"] == {"type": ["string", "null"]}
    target.schema = {"type": "object", "properties": {"a": {"type": "string", "minLength": 2}}}
    assert {v.rule for v in lint_strict(target.schema)} >= {"additional_properties", "not_required"}
    notes = target.fix("openai")
    assert notes and lint_strict(target.schema) == []
    target.load_template("invoice_extraction")
    assert target.name == "invoice_extraction" and "line_items" in target.schema["properties"]
    with pytest.raises(PlaygroundError, match="no template"):
        target.load_template("nope")


def test_the_panel_resyncs_once_per_schema_change():
    target = ResponseSchema(schema=TITLE_SCORE)
    panel = SchemaPanel()
    assert panel.needs_sync(target) and panel.synced_json == schema_json(TITLE_SCORE)
    assert not panel.needs_sync(target)
    with pytest.raises(PlaygroundError):
        target.apply_text("{oops")
    assert not panel.needs_sync(target)  # a failed apply changes nothing
    target.shift_field(["score"], -1)
    assert panel.needs_sync(target)


def test_editing_a_string_enum_keeps_it_a_string_enum():
    target = ResponseSchema(
        schema={
            "type": "object",
            "properties": {"code": {"type": "string", "enum": ["1", "2"]}},
            "required": ["code"],
            "additionalProperties": False,
        }
    )
    target.set_field_attribute(("code",), "enum_values", "1\n2\n3")
    assert target.schema["properties"]["code"] == {"type": "string", "enum": ["1", "2", "3"]}


def test_a_type_change_that_would_delete_sub_fields_is_refused():
    address = {
        "type": "object",
        "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        "required": ["street", "city"],
        "additionalProperties": False,
    }
    schema = {"type": "object", "properties": {"addr": address}, "required": ["addr"], "additionalProperties": False}
    target = ResponseSchema(schema=json.loads(json.dumps(schema)))
    with pytest.raises(PlaygroundError, match="would delete its sub-fields \\(street, city\\)"):
        target.set_field_attribute(("addr",), "type", "string")
    assert target.schema == schema
