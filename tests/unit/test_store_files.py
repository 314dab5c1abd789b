"""Session and prompt files: stable JSON/YAML, images inline or left out, whole-file validation with
messages that say what and where, no credentials, and the published JSON Schema kept current."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from playground.errors import ErrorKind, PlaygroundError
from playground.store import export_prompt, export_session, import_file, parse_file, session_document_from_workspace
from playground.store.files import FORMAT_VERSION, SESSION_FORMAT, format_json_schema, format_json_schema_text
from playground.workspace import Workspace
from tests.store_data import SECRET_KEY, rich_workspace

pytest_plugins = ["tests.store_fixtures"]  # the database_url and store fixtures

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "session-format.schema.json"


@pytest.mark.parametrize("file_format", ["json", "yaml"])
def test_an_exported_session_imports_identical(store, file_format):
    session_id = store.sessions.create(rich_workspace(), title="Trip")
    text = export_session(store.sessions, session_id, file_format)
    result = import_file(store.sessions, text)
    assert result.session_id != session_id and result.missing_images == 0
    assert store.sessions.load_document(result.session_id) == store.sessions.load_document(session_id)


def test_files_are_stable_and_sorted_with_a_format_name_and_version(store):
    session_id = store.sessions.create(rich_workspace())
    first = export_session(store.sessions, session_id)
    assert first == export_session(store.sessions, session_id)
    data = json.loads(first)
    assert data["format"] == SESSION_FORMAT and data["format_version"] == FORMAT_VERSION
    assert list(data) == sorted(data) and list(data["session"]) == sorted(data["session"])
    assert first.splitlines()[1].startswith('  "')  # indented, one key a line: diffs stay local
    assert yaml.safe_load(export_session(store.sessions, session_id, "yaml")) == data


def test_credentials_are_never_written(store):
    session_id = store.sessions.create(rich_workspace())
    for file_format in ("json", "yaml"):
        text = export_session(store.sessions, session_id, file_format)
        assert SECRET_KEY not in text
    connection = json.loads(export_session(store.sessions, session_id))["session"]["connection"]
    assert not [name for name in connection if any(word in name for word in ("key", "secret", "token", "password"))]


def test_a_file_carrying_a_key_is_refused(store):
    data = json.loads(export_session(store.sessions, store.sessions.create(Workspace())))
    data["session"]["connection"]["api_key"] = SECRET_KEY
    with pytest.raises(PlaygroundError) as caught:
        parse_file(json.dumps(data))
    assert "session.connection.api_key" in caught.value.message


def test_images_can_be_left_out(store):
    session_id = store.sessions.create(rich_workspace())
    text = export_session(store.sessions, session_id, images="omit")
    assert '"data": null' in text and "iVBOR" not in text
    assert len(text) < len(export_session(store.sessions, session_id))
    # In the same database the images are still found by digest...
    assert import_file(store.sessions, text).missing_images == 0


def test_an_import_elsewhere_without_images_says_how_many_are_missing(store, tmp_path):
    from playground.store import open_store

    text = export_session(store.sessions, store.sessions.create(rich_workspace()), images="omit")
    elsewhere = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    result = import_file(elsewhere.sessions, text)
    assert result.missing_images == 2  # the uploaded one and the pending one; the remote URL stays
    images = elsewhere.sessions.load(result.session_id).conversation.messages[0].images
    assert [image.url for image in images] == ["https://example.com/dog.jpg"]
    elsewhere.close()


def test_a_prompt_version_exports_and_opens_as_a_session(store):
    store.prompts.save("support", session_document_from_workspace(rich_workspace()), "first")
    store.prompts.set_label("support", "production", 1)
    text = export_prompt(store.prompts, "support", 1, "yaml")
    data = yaml.safe_load(text)
    assert (data["name"], data["version"], data["labels"], data["note"]) == ("support", 1, ["production"], "first")
    session_id = import_file(store.sessions, text).session_id
    assert store.sessions.list_all()[0].title == "support v1"
    assert store.sessions.load(session_id).system_prompt == rich_workspace().system_prompt


def _valid_file(store) -> str:
    return export_session(store.sessions, store.sessions.create(rich_workspace()))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda text: text[: len(text) // 2], "looks cut off"),
        (lambda text: "", "empty"),
        (lambda text: "{not json", "not valid JSON"),
        (lambda text: "- just\n- a list\n", "not a playground file"),
        (lambda text: json.dumps({"format": "someone-else/v2", "data": 1}), "'someone-else/v2'"),
        (lambda text: json.dumps({"name": "no format"}), "its `format` is None"),
        (lambda text: text.replace('"format_version": 1', '"format_version": 7'), "newer playground"),
        (lambda text: text.replace('"role": "user"', '"role": "wizard"', 1), "session.messages[0].role"),
        (lambda text: text.replace('"temperature": 0.3', '"temperature": "hot"'), "session.params.temperature"),
        (lambda text: text.replace('"session": {', '"sesion": {'), "session: Field required"),
    ],
    ids=["truncated", "empty", "corrupted", "list", "foreign", "no-format", "newer", "bad-role", "bad-param", "typo"],
)
def test_bad_files_are_refused_with_what_and_where_and_nothing_is_written(store, mutate, expected):
    text = mutate(_valid_file(store))
    before = store.sessions.list_all()
    with pytest.raises(PlaygroundError) as caught:
        import_file(store.sessions, text)
    assert caught.value.kind is ErrorKind.INVALID_INPUT
    assert expected in caught.value.message
    assert store.sessions.list_all() == before


def test_the_published_json_schema_is_current_and_accepts_exports(store):
    assert SCHEMA_FILE.read_text(encoding="utf-8") == format_json_schema_text(), (
        "docs/session-format.schema.json is stale: run python -m playground schema -o docs/session-format.schema.json"
    )
    jsonschema.Draft202012Validator(format_json_schema()).validate(json.loads(_valid_file(store)))
