"""The Schema builder page under AppTest: templates, the field form, reorder and delete, the raw JSON
editor (malformed JSON keeps the text and the schema), the linter and Fix, import, and test runs
against the fake server (valid, invalid with the field named, refusal, truncated)."""

from __future__ import annotations

import json

import pytest

from components.schema_builder import SCHEMA_PAGE, SchemaKeys
from components.state import STATE_KEY, Keys
from playground.schema import input_limits, load_templates
from playground.schema.builder import property_count
from playground.schema.document import ResponseSchema
from tests.fakes.server import Scenario

FEEDBACK = load_templates()["feedback_analysis"]["schema"]
FEEDBACK_EXPANDERS = ["`sentiment` · enum (3)", "`category` · string", "`priority` · enum (3)", "`summary` · string"]
GOOD_FEEDBACK = '{"sentiment":"positive","category":"shipping","priority":"low","summary":"Fast and friendly."}'


def schema_page(app_factory):
    app = app_factory(page=SCHEMA_PAGE)
    assert not app.exception
    return app


def target(app):
    return app.session_state[STATE_KEY].workspace.response_schema


def raw_json(app) -> dict:
    return json.loads(app.text_area(key=SchemaKeys.RAW).value)


def click(app, key):
    app.button(key=key).click().run()
    assert not app.exception
    return app


def load(app, template="feedback_analysis"):
    app.selectbox(key=SchemaKeys.TEMPLATE).select(template).run()
    return click(app, SchemaKeys.LOAD_TEMPLATE)


def expander_labels(app) -> list[str]:
    return [e.label for e in app.expander if e.label.startswith("`")]


def badges(app) -> list[str]:
    return [m.value for m in app.markdown if "-badge[" in m.value]


def codes(app) -> str:
    return "\n".join(c.value for c in app.code)


def apply_raw(app, text):
    app.text_area(key=SchemaKeys.RAW).input(text).run()
    return click(app, SchemaKeys.APPLY_RAW)


def run(app, text="The parcel came fast.", mode=None):
    app.text_area(key=SchemaKeys.TEST_INPUT).input(text).run()
    if mode:
        app.radio(key=SchemaKeys.MODE).set_value(mode).run()
    return click(app, SchemaKeys.RUN)


def test_loading_a_template_fills_the_builder_the_json_and_the_name(app_factory):
    app = load(schema_page(app_factory))
    assert target(app).schema == FEEDBACK and target(app).name == "feedback_analysis"
    assert raw_json(app) == FEEDBACK
    assert app.text_input(key=SchemaKeys.NAME).value == "feedback_analysis"
    assert expander_labels(app) == FEEDBACK_EXPANDERS
    assert any("No strict-mode problems" in s.value for s in app.success)


def test_adding_a_field_with_the_form_shows_it_in_the_json(app_factory):
    app = load(schema_page(app_factory))
    app.text_input(key=SchemaKeys.add("name")).input("score").run()
    app.selectbox(key=SchemaKeys.add("type")).select("integer").run()
    app.number_input(key=SchemaKeys.add("minimum")).set_value(1).run()
    app.number_input(key=SchemaKeys.add("maximum")).set_value(5).run()
    app.text_input(key=SchemaKeys.add("description")).input("Stars given").run()
    click(app, SchemaKeys.ADD)
    assert raw_json(app)["properties"]["score"] == {
        "type": "integer",
        "description": "Stars given",
        "minimum": 1,
        "maximum": 5,
    }
    assert raw_json(app)["required"][-1] == "score"
    assert expander_labels(app)[-1] == "`score` · integer"
    assert app.text_input(key=SchemaKeys.add("name")).value == ""  # the form is cleared for the next one


def test_nested_fields_are_added_under_their_parent(app_factory):
    app = schema_page(app_factory)
    app.text_input(key=SchemaKeys.add("name")).input("items").run()
    app.selectbox(key=SchemaKeys.add("type")).select("array").run()
    app.selectbox(key=SchemaKeys.add("item_type")).select("object").run()
    click(app, SchemaKeys.ADD)
    app.selectbox(key=SchemaKeys.ADD_PARENT).select(("items",)).run()
    app.text_input(key=SchemaKeys.add("name")).input("sku").run()
    click(app, SchemaKeys.ADD)
    items = raw_json(app)["properties"]["items"]
    assert items["items"]["properties"] == {"sku": {"type": "string"}}
    assert "`sku` · string" in expander_labels(app)
    assert app.text_input(key=SchemaKeys.field(("items", "sku"), "name")).value == "sku"


def test_a_duplicate_name_is_refused_with_a_message(app_factory):
    app = load(schema_page(app_factory))
    app.text_input(key=SchemaKeys.add("name")).input("summary").run()
    click(app, SchemaKeys.ADD)
    assert any("already exists" in e.value for e in app.error)
    assert target(app).schema == FEEDBACK


def test_editing_a_field_updates_the_json(app_factory):
    app = load(schema_page(app_factory))
    app.text_input(key=SchemaKeys.field(("category",), "description")).input("Topic").run()
    app.checkbox(key=SchemaKeys.field(("category",), "nullable")).check().run()
    assert raw_json(app)["properties"]["category"] == {"type": ["string", "null"], "description": "Topic"}
    app.selectbox(key=SchemaKeys.field(("summary",), "type")).select("enum").run()
    app.text_area(key=SchemaKeys.field(("summary",), "enum_values")).input("short\nlong").run()
    assert raw_json(app)["properties"]["summary"]["enum"] == ["short", "long"]
    app.text_input(key=SchemaKeys.field(("summary",), "name")).input("length").run()
    assert list(raw_json(app)["properties"]) == ["sentiment", "category", "priority", "length"]


def test_reorder_and_delete(app_factory):
    app = load(schema_page(app_factory))
    assert app.button(key=SchemaKeys.action(("sentiment",), "up")).disabled
    click(app, SchemaKeys.action(("summary",), "up"))
    assert list(raw_json(app)["properties"]) == ["sentiment", "category", "summary", "priority"]
    click(app, SchemaKeys.action(("sentiment",), "down"))
    assert list(raw_json(app)["properties"]) == ["category", "sentiment", "summary", "priority"]
    click(app, SchemaKeys.action(("priority",), "delete"))
    assert list(raw_json(app)["properties"]) == ["category", "sentiment", "summary"]
    assert raw_json(app)["required"] == ["category", "sentiment", "summary"]


def test_malformed_raw_json_shows_where_and_keeps_the_text_and_the_schema(app_factory):
    app = load(schema_page(app_factory))
    broken = '{\n  "type": "object",\n  "properties": {"a": {"type": "string"},}\n}'
    apply_raw(app, broken)
    error = " ".join(e.value for e in app.error)
    assert "not valid JSON" in error and "line 3, column" in error and "your text is kept" in error
    assert app.text_area(key=SchemaKeys.RAW).value == broken
    assert target(app).schema == FEEDBACK
    assert len(expander_labels(app)) == 4
    app.run()  # another rerun does not lose it either
    assert app.text_area(key=SchemaKeys.RAW).value == broken
    click(app, SchemaKeys.DISCARD_RAW)
    assert raw_json(app) == FEEDBACK and not app.error


def test_applied_raw_json_updates_the_builder_and_accepts_a_response_format(app_factory):
    app = schema_page(app_factory)
    wrapper = {
        "type": "json_schema",
        "json_schema": {
            "name": "scores",
            "strict": False,
            "schema": {
                "type": "object",
                "properties": {"title": {"type": "string"}, "score": {"type": "integer"}},
                "required": ["title", "score"],
                "additionalProperties": False,
            },
        },
    }
    apply_raw(app, json.dumps(wrapper))
    assert expander_labels(app) == ["`title` · string", "`score` · integer"]
    assert target(app).name == "scores" and target(app).strict is False
    assert app.toggle(key=SchemaKeys.STRICT).value is False
    assert raw_json(app) == wrapper["json_schema"]["schema"]


def test_defs_and_refs_show_read_only_in_the_builder(app_factory):
    app = schema_page(app_factory)
    tree = {
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/node"}},
        "required": ["root"],
        "additionalProperties": False,
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"label": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}},
                "required": ["label", "children"],
                "additionalProperties": False,
            }
        },
    }
    apply_raw(app, json.dumps(tree))
    assert target(app).schema == tree
    assert "read-only" in expander_labels(app)[0]
    assert any(e.label.startswith("Root keywords ($defs)") for e in app.expander)
    assert any("No strict-mode problems" in s.value for s in app.success)


def test_the_linter_lists_a_violation_and_fix_clears_it(app_factory):
    app = schema_page(app_factory)
    apply_raw(app, '{"type": "object", "properties": {"name": {"type": "string", "minLength": 2}}}')
    listed = " ".join(m.value for m in app.markdown)
    assert "`$.additionalProperties`" in listed and "`$.properties.name.minLength`" in listed
    assert "*(fixable)*" in listed
    click(app, SchemaKeys.FIX)
    assert any("No strict-mode problems" in s.value for s in app.success)
    assert any(info.value.startswith("Fixed:") for info in app.info)
    assert raw_json(app)["additionalProperties"] is False and "minLength" not in raw_json(app)["properties"]["name"]


def test_the_linter_follows_the_chosen_provider(app_factory):
    app = schema_page(app_factory)
    apply_raw(
        app,
        json.dumps(
            {
                "type": "object",
                "properties": {"n": {"type": "integer", "minimum": 1}},
                "required": ["n"],
                "additionalProperties": False,
            }
        ),
    )
    assert any("No strict-mode problems" in s.value for s in app.success)
    app.segmented_control(key=SchemaKeys.PROVIDER).set_value("azure").run()
    assert "`$.properties.n.minimum`" in " ".join(m.value for m in app.markdown)


def test_a_bad_schema_name_is_flagged(app_factory):
    app = schema_page(app_factory)
    app.text_input(key=SchemaKeys.NAME).input("my schema!").run()
    assert target(app).name == "my schema!"
    assert any("may only use letters" in e.value for e in app.error)


def test_infer_from_an_example(app_factory):
    app = schema_page(app_factory)
    app.radio(key=SchemaKeys.IMPORT_KIND).set_value("example").run()
    app.text_area(key=SchemaKeys.IMPORT_TEXT).input('{"title": "A", "score": 3, "tags": ["x"]}').run()
    click(app, SchemaKeys.IMPORT)
    assert raw_json(app)["properties"] == {
        "title": {"type": "string"},
        "score": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    }
    assert expander_labels(app) == ["`title` · string", "`score` · integer", "`tags` · array of string"]


def test_import_reports_bad_json(app_factory):
    app = schema_page(app_factory)
    app.text_area(key=SchemaKeys.IMPORT_TEXT).input("[1, 2").run()
    click(app, SchemaKeys.IMPORT)
    assert any("line 1, column" in e.value for e in app.error)


def test_a_valid_run_shows_the_valid_badge_and_sends_strict_json_schema(app_factory, fake):
    app = load(schema_page(app_factory))
    fake.enqueue(Scenario(text=GOOD_FEEDBACK))
    run(app)
    assert any("Valid]" in b for b in badges(app)) and not any("Invalid" in b for b in badges(app))
    assert app.json[-1].value and json.loads(app.json[-1].value)["sentiment"] == "positive"
    body = fake.chat_requests()[-1].json
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "feedback_analysis", "schema": FEEDBACK, "strict": True},
    }
    assert body["messages"] == [{"role": "user", "content": "The parcel came fast."}]
    assert any("not part of the chat" in c.value and "$" in c.value for c in app.caption)
    assert app.session_state[STATE_KEY].workspace.conversation.messages == []
    # The run is paid for: the sidebar's session cost includes it.
    assert any("Session cost: **$0.0000" in c.value for c in app.sidebar.caption)


def test_an_invalid_reply_shows_invalid_and_names_the_field(app_factory, fake):
    app = load(schema_page(app_factory))
    fake.enqueue(Scenario(text='{"sentiment":"thrilled","category":"x","priority":"low","summary":"y"}'))
    run(app)
    assert any("Invalid]" in b for b in badges(app))
    assert "$.sentiment  (sentiment): " in codes(app) and "not one of the allowed values" in codes(app)


def test_a_refusal_is_shown_plainly(app_factory, fake):
    app = load(schema_page(app_factory))
    fake.enqueue(Scenario(refusal="I can't help with that request."))
    run(app)
    assert any("Refused]" in b for b in badges(app))
    assert any("refused" in w.value for w in app.warning)
    assert "I can't help with that request." in codes(app)


def test_a_truncated_reply_is_shown_plainly(app_factory, fake):
    app = load(schema_page(app_factory))
    fake.enqueue(Scenario(text='{"sentiment":"positive","summ', finish_reason="length"))
    run(app)
    assert any("Invalid]" in b for b in badges(app))
    assert any("JSON is truncated" in w.value and "finish_reason: length" in w.value for w in app.warning)


def test_an_array_of_objects_can_be_shown_as_a_table(app_factory, fake):
    app = schema_page(app_factory)
    apply_raw(
        app,
        json.dumps(
            {
                "type": "object",
                "properties": {
                    "rows": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"a": {"type": "integer"}},
                            "required": ["a"],
                            "additionalProperties": False,
                        },
                    }
                },
                "required": ["rows"],
                "additionalProperties": False,
            }
        ),
    )
    fake.enqueue(Scenario(text='{"rows": [{"a": 1}, {"a": 2}]}'))
    run(app)
    app.segmented_control(key=SchemaKeys.VIEW).set_value("Table").run()
    assert list(app.dataframe[0].value["a"]) == [1, 2]


def test_json_object_mode_and_strict_off(app_factory, fake):
    app = load(schema_page(app_factory))
    app.toggle(key=SchemaKeys.STRICT).set_value(False).run()
    fake.enqueue(Scenario(text=GOOD_FEEDBACK))
    run(app)
    assert fake.chat_requests()[-1].json["response_format"]["json_schema"]["strict"] is False
    fake.enqueue(Scenario(text=GOOD_FEEDBACK))
    run(app, mode="json_object")
    body = fake.chat_requests()[-1].json
    assert body["response_format"] == {"type": "json_object"} and "JSON Schema" in body["messages"][0]["content"]
    assert any("Valid]" in b for b in badges(app))


def test_run_without_input_explains(app_factory, fake):
    app = load(schema_page(app_factory))
    click(app, SchemaKeys.RUN)
    assert any("Type a test input" in e.value for e in app.error) and fake.chat_requests() == []


def test_view_code_never_shows_the_key(app_factory):
    app = load(schema_page(app_factory))
    app.text_area(key=SchemaKeys.TEST_INPUT).input("hello").run()
    snippets = codes(app)
    assert "client.chat.completions.create(" in snippets and "curl --no-buffer" in snippets
    assert 'os.environ.get("OPENAI_API_KEY"' in snippets and "$OPENAI_API_KEY" in snippets
    assert "sk-server-side-key" not in snippets
    assert "class FeedbackAnalysis(BaseModel):" in snippets  # the Pydantic export


def test_use_in_chat_makes_the_chat_send_the_schema_and_check_replies(app_factory, fake):
    app = load(schema_page(app_factory))
    app.toggle(key=SchemaKeys.USE_IN_CHAT).set_value(True).run()
    assert target(app).enabled
    app.switch_page("pages/chat.py").run()
    fake.enqueue(Scenario(text=GOOD_FEEDBACK))
    app.chat_input(key=Keys.CHAT_INPUT).set_value("Fast parcel").run()
    assert not app.exception
    body = fake.chat_requests()[-1].json
    assert body["response_format"]["json_schema"]["schema"] == FEEDBACK
    assert any("Valid]" in m.value for m in app.chat_message[1].markdown)
    app.switch_page(SCHEMA_PAGE).run()  # coming back keeps the schema and the toggle
    assert app.toggle(key=SchemaKeys.USE_IN_CHAT).value is True and raw_json(app) == FEEDBACK


def test_field_names_with_slashes_do_not_collide(app_factory):
    app = schema_page(app_factory)
    schema = {
        "type": "object",
        "properties": {
            "a/b": {"type": "string"},
            "a": {
                "type": "object",
                "properties": {"b": {"type": "string"}},
                "required": ["b"],
                "additionalProperties": False,
            },
        },
        "required": ["a/b", "a"],
        "additionalProperties": False,
    }
    apply_raw(app, json.dumps(schema))
    assert target(app).schema == schema
    app.text_input(key=SchemaKeys.field(("a", "b"), "description")).input("inner").run()
    assert raw_json(app)["properties"]["a"]["properties"]["b"]["description"] == "inner"
    assert "description" not in raw_json(app)["properties"]["a/b"]


def test_a_builder_edit_keeps_unapplied_raw_text(app_factory):
    app = load(schema_page(app_factory))
    draft = json.dumps({"type": "object", "properties": {}, "required": [], "additionalProperties": False})
    app.text_area(key=SchemaKeys.RAW).input(draft).run()  # typed, not applied
    app.checkbox(key=SchemaKeys.field(("category",), "nullable")).check().run()
    assert target(app).schema["properties"]["category"]["type"] == ["string", "null"]  # the builder edit landed
    assert app.text_area(key=SchemaKeys.RAW).value == draft  # and the typed text is still there
    assert any("your text is kept" in warning.value for warning in app.warning)
    click(app, SchemaKeys.APPLY_RAW)
    assert target(app).schema["properties"] == {}
    assert not any("your text is kept" in warning.value for warning in app.warning)


# --- hardening (issue 9) ------------------------------------------------------------------------
DEEP_JSON = "[" * 2000 + "]" * 2000


def errors(app) -> str:
    return " ".join(e.value for e in app.error)


def import_text(app, kind, text):
    app.radio(key=SchemaKeys.IMPORT_KIND).set_value(kind).run()
    app.text_area(key=SchemaKeys.IMPORT_TEXT).input(text).run()
    return click(app, SchemaKeys.IMPORT)


def test_deep_json_in_the_raw_editor_is_refused_with_a_message(app_factory):
    app = load(schema_page(app_factory))
    apply_raw(app, DEEP_JSON)
    assert "nested more than" in errors(app) and "your text is kept" in errors(app)
    assert target(app).schema == FEEDBACK


@pytest.mark.parametrize("kind, what", [("schema", "schema"), ("example", "example")])
def test_deep_json_in_the_import_tab_is_refused_with_a_message(app_factory, kind, what):
    app = load(schema_page(app_factory))
    import_text(app, kind, DEEP_JSON)
    assert f"The {what} is nested more than" in errors(app)
    assert target(app).schema == FEEDBACK


def field_builds(monkeypatch) -> list[int]:
    """Each time the page derives the builder's fields from the schema: how many properties it had."""
    builds: list[int] = []
    fields = ResponseSchema.fields

    def counted(document: ResponseSchema):
        builds.append(property_count(document.current()))
        return fields(document)

    monkeypatch.setattr(ResponseSchema, "fields", counted)
    return builds


def field_inputs(app) -> list[str]:
    """The keys of the builder's text inputs for existing fields (not the "Add a field" form)."""
    return [w.key for w in app.text_input if w.key and w.key.startswith(SchemaKeys.FIELD_PREFIX)]


# How fast these pages are is measured by bench/bench_schema.py; the tests check what keeps them fast.
def test_a_ten_thousand_key_example_is_refused_and_the_builder_is_left_as_it_was(app_factory, monkeypatch):
    app = load(schema_page(app_factory))
    app.radio(key=SchemaKeys.IMPORT_KIND).set_value("example").run()
    app.text_area(key=SchemaKeys.IMPORT_TEXT).input(json.dumps({f"k{i}": i for i in range(10_000)})).run()
    builds = field_builds(monkeypatch)
    click(app, SchemaKeys.IMPORT)
    assert "10,000 distinct keys" in errors(app) and target(app).schema == FEEDBACK
    # the refusal came before the schema was stored: the rerun redraws the template's four fields
    assert builds == [4] and expander_labels(app) == FEEDBACK_EXPANDERS
    assert raw_json(app) == FEEDBACK


def flat_schema(count: int) -> dict:
    return {
        "type": "object",
        "properties": {f"field_{i}": {"type": "integer"} for i in range(count)},
        "required": [f"field_{i}" for i in range(count)],
        "additionalProperties": False,
    }


def test_a_schema_at_the_builders_limit_is_drawn_field_by_field_from_one_build_a_run(app_factory, monkeypatch):
    app = schema_page(app_factory)
    count = input_limits().builder_max_fields
    app.text_area(key=SchemaKeys.RAW).input(json.dumps(flat_schema(count))).run()
    builds = field_builds(monkeypatch)
    click(app, SchemaKeys.APPLY_RAW)
    app.run()  # and a plain rerun after it
    assert builds == [count, count]  # the fields are derived once a run, not once per field
    assert expander_labels(app) == [f"`field_{i}` · integer" for i in range(count)]
    assert len(field_inputs(app)) == 2 * count  # every field's name and description
    last = SchemaKeys.field((f"field_{count - 1}",), "name")
    assert app.text_input(key=last).value == f"field_{count - 1}"
    assert not any("fields in all" in i.value for i in app.info)


def test_a_schema_too_large_for_the_builder_is_summarised_without_building_its_fields(app_factory, monkeypatch):
    app = schema_page(app_factory)
    count = input_limits().builder_max_fields + 1
    app.text_area(key=SchemaKeys.RAW).input(json.dumps(flat_schema(count))).run()
    builds = field_builds(monkeypatch)
    click(app, SchemaKeys.APPLY_RAW)
    app.run()
    assert builds == []  # counted (property_count), never turned into builder fields
    assert expander_labels(app) == []
    assert field_inputs(app) == []
    assert any(f"{count:,} fields in all" in i.value and "JSON tab" in i.value for i in app.info)
    assert len(target(app).schema["properties"]) == count  # the JSON editor still holds all of it


CYCLE = {
    "type": "object",
    "properties": {"n": {"$ref": "#/$defs/node"}},
    "required": ["n"],
    "additionalProperties": False,
    "$defs": {"node": {"$ref": "#/$defs/node"}},
}


def test_a_circular_ref_is_reported_and_a_run_gives_a_verdict_not_a_crash(app_factory, fake):
    app = schema_page(app_factory)
    apply_raw(app, json.dumps(CYCLE))
    assert any("leads back to itself" in m.value for m in app.markdown)
    fake.enqueue(Scenario(text='{"n": 1}'))
    run(app)
    assert not app.exception
    assert "the schema has a circular" in errors(app)
    assert any("Not checked" in badge for badge in badges(app))


def test_names_from_the_schema_cannot_inject_markdown(app_factory):
    app = schema_page(app_factory)
    name = "x` ![img](http://evil.example/i.png) [link](http://evil.example) `"
    apply_raw(app, json.dumps({"type": "object", "properties": {name: {"type": "string"}}}))
    [label] = expander_labels(app)
    assert label == f"`` {name} `` · string"  # one code span (a longer fence) around the whole name
    # The linter's list: the path in a code span, the name in its message escaped.
    [listing] = [m.value for m in app.markdown if "evil.example" in m.value]
    assert '- ``$.properties["x` ![img](' in listing and "Property 'x\\` \\!\\[img\\]\\(http:\u2060//" in listing
