"""The Prompt library page under AppTest: save two versions, diff, restore, fork, tag, label,
search; session files exported and imported (round trip identical; a bad file changes nothing);
a database that cannot be opened is a message, not a crash."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from components.chat_view import ChatKeys
from components.library import LIBRARY_PAGE, LibraryKeys, session_file_text
from components.state import STATE_KEY, Keys
from playground.store import (
    DATABASE_URL_VARIABLE,
    PromptLibrary,
    export_prompt,
    open_store,
    session_document_from_workspace,
)
from playground.store.database import head_revision
from playground.store.files import FORMAT_VERSION


@pytest.fixture
def database(tmp_path, clean_env):
    url = f"sqlite:///{tmp_path / 'library.db'}"
    clean_env.setenv(DATABASE_URL_VARIABLE, url)
    return url


def library(app_factory):
    app = app_factory(page=LIBRARY_PAGE)
    assert not app.exception
    return app


def workspace(app):
    return app.session_state[STATE_KEY].workspace


def click(app, key):
    app.button(key=key).click().run()
    assert not app.exception
    return app


def outcome(app) -> str:
    """The messages shown, with their Markdown escapes taken out."""
    return "\n".join(element.value for element in [*app.success, *app.error]).replace("\\", "")


def save(app, name, note=""):
    app.text_input(key=LibraryKeys.SAVE_NAME).input(name)
    app.text_input(key=LibraryKeys.SAVE_NOTE).input(note)
    return click(app, LibraryKeys.SAVE)


def saved_twice(app_factory):
    app = library(app_factory)
    ws = workspace(app)
    ws.set_system_prompt("You are terse.")
    ws.conversation.add_user("Hello there")
    save(app, "triage", "first")
    ws.set_system_prompt("You are terse and kind.")
    ws.set_params(ws.params.model_copy(update={"temperature": 0.2}))
    save(app, "triage", "kinder")
    return app


def test_two_saves_are_two_versions_with_their_notes_and_a_diff(app_factory, database):
    app = saved_twice(app_factory)
    assert "Saved triage version 2." in outcome(app)
    versions = app.dataframe[1].value
    assert list(versions["Version"]) == [2, 1] and list(versions["Note"]) == ["kinder", "first"]
    diff = [code for code in app.code if code.language == "diff"]
    assert len(diff) == 1 and "-You are terse.\n+You are terse and kind." in diff[0].value
    changes = app.dataframe[2].value
    assert list(changes["Setting"]) == ["params.temperature"] and list(changes["After"]) == ["0.2"]


def test_restore_puts_a_version_back_into_the_session_and_the_chat_shows_it(app_factory, database):
    app = saved_twice(app_factory)
    ws = workspace(app)
    ws.clear_chat()
    app.selectbox(key=LibraryKeys.VERSION).select(1).run()
    click(app, LibraryKeys.RESTORE)
    assert "Restored triage version 1" in outcome(app)
    assert ws.system_prompt == "You are terse." and ws.params.temperature == 1.0
    assert [m.content for m in ws.conversation.messages] == ["Hello there"]
    app.session_state[ChatKeys.SETTINGS_OPEN] = True  # open "System prompt & parameters"
    app.switch_page("pages/chat.py").run()
    assert app.text_area(key=Keys.SYSTEM_PROMPT).value == "You are terse."
    assert ws.system_prompt == "You are terse."  # the chat's widget did not write the old text back


def test_fork_tag_label_and_search(app_factory, database):
    app = saved_twice(app_factory)
    app.selectbox(key=LibraryKeys.VERSION).select(1).run()
    app.text_input(key=LibraryKeys.FORK_NAME).input("triage-fr")
    click(app, LibraryKeys.FORK)
    assert "Forked triage version 1 into the new prompt triage-fr." in outcome(app)
    assert app.selectbox(key=LibraryKeys.PROMPT).value == "triage-fr"
    app.text_input(key=LibraryKeys.TAG).input("French")
    click(app, LibraryKeys.ADD_TAG)
    app.selectbox(key=LibraryKeys.PROMPT).select("triage").run()
    app.selectbox(key=LibraryKeys.VERSION).select(2).run()
    click(app, LibraryKeys.SET_LABEL)  # the label field starts at "production"
    listing = app.dataframe[0].value
    rows = dict(zip(listing["Prompt"], listing["Labels"], strict=True))
    assert rows == {"triage": "production → v2", "triage-fr": ""}
    assert dict(zip(listing["Prompt"], listing["Forked from"], strict=True))["triage-fr"] == "triage@1"
    app.text_input(key=LibraryKeys.SEARCH).input("french").run()
    assert list(app.dataframe[0].value["Prompt"]) == ["triage-fr"]  # by tag
    app.text_input(key=LibraryKeys.SEARCH).input("KIND").run()
    assert list(app.dataframe[0].value["Prompt"]) == ["triage"]  # by text of a version
    app.text_input(key=LibraryKeys.SEARCH).input("nothing-like-it").run()
    assert "No prompt matches this search." in [info.value for info in app.info]
    app.text_input(key=LibraryKeys.SEARCH).input("").run()
    app.selectbox(key=LibraryKeys.PROMPT).select("triage-fr").run()
    click(app, f"{LibraryKeys.REMOVE_TAG}.french")
    assert app.dataframe[0].value.set_index("Prompt").loc["triage-fr", "Tags"] == ""
    app.selectbox(key=LibraryKeys.PROMPT).select("triage").run()
    click(app, f"{LibraryKeys.REMOVE_LABEL}.production")
    assert app.dataframe[0].value.set_index("Prompt").loc["triage", "Labels"] == ""


def test_saving_without_a_name_is_refused_with_a_message(app_factory, database):
    app = save(library(app_factory), "  ")
    assert "Give the prompt a name." in outcome(app)
    store = open_store(database)
    assert store.prompts.list_all() == []
    store.close()


def conversation_app(app_factory):
    app = library(app_factory)
    ws = workspace(app)
    ws.set_system_prompt("Answer in French.")
    ws.conversation.add_user("Bonjour?")
    reply = ws.conversation.start_reply("gpt-4.1-mini")
    reply.content = "Bonjour !"
    ws.settle_interrupted()
    return app


def upload(app, name: str, content: bytes):
    app.file_uploader(key=LibraryKeys.IMPORT_FILE).set_value((name, content, "application/json")).run()
    return click(app, LibraryKeys.IMPORT)


@pytest.mark.parametrize("file_format", ["json", "yaml"])
def test_a_session_file_imported_in_a_fresh_session_is_the_same_session(app_factory, database, file_format):
    source = conversation_app(app_factory)
    exported = session_file_text(workspace(source), file_format)
    target = library(app_factory)
    upload(target, f"session.{file_format}", exported.encode())
    assert "Imported session." in outcome(target) and "open in this browser session" in outcome(target)
    imported = workspace(target)
    assert session_document_from_workspace(imported) == session_document_from_workspace(workspace(source))
    assert session_file_text(imported, file_format) == exported


BAD_FILES = {
    "truncated": lambda text: text[: len(text) // 2],
    "foreign": lambda text: json.dumps({"format": "someone-else/v2", "data": 1}),
    "newer": lambda text: text.replace(
        f'"format_version": {FORMAT_VERSION}', f'"format_version": {FORMAT_VERSION + 1}'
    ),
    "bad field": lambda text: text.replace('"role": "user"', '"role": "wizard"'),
    "not text": lambda text: "\udcff",
}
REASONS = {
    "truncated": "looks cut off",
    "foreign": "This is not a playground file",
    "newer": "written by a newer playground",
    "bad field": "session.messages[0].role",
    "not text": "not UTF-8 text",
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_file_is_refused_with_what_and_where_and_the_session_is_untouched(app_factory, database, kind):
    app = conversation_app(app_factory)
    exported = session_file_text(workspace(app))
    before = session_document_from_workspace(workspace(app))
    bad = BAD_FILES[kind](exported)
    store = open_store(database)
    upload(app, "bad.json", bad.encode("utf-8", "surrogateescape"))
    assert "bad.json" in outcome(app) and REASONS[kind] in outcome(app)
    assert session_document_from_workspace(workspace(app)) == before
    current = app.session_state[STATE_KEY].autosave.session_id
    # The import wrote nothing: the one saved session is the open one (autosaved).
    assert [summary.id for summary in store.sessions.list_all()] in ([], [current])
    store.close()


def test_a_database_written_by_a_newer_playground_is_a_message_not_a_crash(app_factory, database):
    open_store(database).close()
    engine = create_engine(database)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    engine.dispose()
    app = library(app_factory)
    assert any("newer version of the playground wrote it" in error.value for error in app.error)
    assert head_revision() != "from_the_future"


def test_a_prompt_file_opens_its_setup_as_a_new_session(app_factory, database):
    saved_twice(app_factory)
    store = open_store(database)
    exported = export_prompt(store.prompts, "triage", 1, "yaml")
    store.close()
    target = library(app_factory)
    upload(target, "triage.v1.yaml", exported.encode())
    assert "Imported triage.v1.yaml as session" in outcome(target)
    imported = workspace(target)
    assert imported.system_prompt == "You are terse." and [m.content for m in imported.conversation.messages] == [
        "Hello there"
    ]


def test_a_locked_database_during_a_save_is_a_message_and_the_session_is_kept(app_factory, database, monkeypatch):
    app = library(app_factory)
    workspace(app).set_system_prompt("Keep me.")

    def locked(*args, **kwargs):
        raise OperationalError("INSERT INTO prompt_versions", {}, Exception("database is locked"))

    monkeypatch.setattr(PromptLibrary, "save", locked)
    save(app, "triage")
    assert "The database refused the change (database is locked). Nothing was changed" in outcome(app)
    assert workspace(app).system_prompt == "Keep me." and not app.exception


def test_prompt_names_tags_and_labels_are_drawn_as_literal_text(app_factory, database):
    app = library(app_factory)
    save(app, "[click](https://evil.example) **bold**")
    app.text_input(key=LibraryKeys.TAG).input("*em*")
    click(app, LibraryKeys.ADD_TAG)
    markdown = "\n".join(element.value for element in app.markdown)
    assert "[click](https" not in markdown and "**bold**" not in markdown
    assert "\\[click\\]\\(https:\u2060//evil.example\\) \\*\\*bold\\*\\*" in markdown
    assert "`*em*`" in markdown
    assert all("[click](" not in button.label for button in app.button)
