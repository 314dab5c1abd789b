"""The prompt library: immutable versions with notes, diffs, restore, fork, tags, labels, search,
and concurrent writers that never lose a version (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from playground.errors import ErrorKind, PlaygroundError
from playground.store import PromptLibrary, apply_session_document, open_store, session_document_from_workspace
from playground.store.models import BlobRow
from playground.workspace import Workspace
from tests.store_data import rich_workspace

pytest_plugins = ["tests.store_fixtures"]  # the database_url and store fixtures


def _setup(system_prompt: str = "Be terse.", **changes) -> object:
    workspace = rich_workspace()
    workspace.system_prompt = system_prompt
    for name, value in changes.items():
        setattr(workspace, name, value)
    return session_document_from_workspace(workspace)


def test_each_save_is_a_new_immutable_version_with_its_note(store):
    library = store.prompts
    assert library.save("support", _setup("v1"), "first draft").version == 1
    assert library.save("support", _setup("v2"), "shorter").version == 2
    versions = library.versions("support")
    assert [(v.version, v.note) for v in versions] == [(1, "first draft"), (2, "shorter")]
    assert library.get("support", 1).setup.system_prompt == "v1"
    assert library.get("support").setup.system_prompt == "v2"


def test_a_prompt_keeps_the_setup_but_not_costs_or_pending_attachments(store):
    store.prompts.save("p", _setup())
    setup = store.prompts.get("p").setup
    assert setup.usage_ledger == {} and setup.pending_images == []
    assert all(message.stats is None for message in setup.messages)
    weather = setup.tool_loop.setup.tool_named("weather")
    assert setup.tools and weather is not None and weather.mock is not None and weather.mock.default == '{"temp": 21}'
    assert len(setup.tool_loop.scenarios) == 4 and setup.response_schema.enabled
    assert setup.messages[0].images[0].data  # the image travels with the version


def test_diff_shows_text_diffs_and_structured_changes(store):
    library = store.prompts
    library.save("p", _setup("You are terse.\nAnswer in French."))
    changed = rich_workspace()
    changed.system_prompt = "You are terse.\nAnswer in German."
    changed.conversation.messages[0].content = "What is this?"
    changed.params.temperature = 0.9
    changed.tools[0]["function"]["name"] = "forecast"
    changed.response_schema.strict = False
    library.save("p", session_document_from_workspace(changed))
    diff = library.diff("p", 1, 2)
    assert "-Answer in French." in diff.system_prompt and "+Answer in German." in diff.system_prompt
    assert "-What is in this picture?" in diff.messages and "+What is this?" in diff.messages
    paths = {change.path: (change.old, change.new) for change in diff.changes}
    assert paths["params.temperature"] == (0.3, 0.9)
    assert paths["tools[0].function.name"] == ("weather", "forecast")
    assert paths["response_schema.strict"] == (True, False)
    assert "params.temperature: 0.3 -> 0.9" in diff.as_text()
    assert library.diff("p", 1, 1).is_empty


def test_restore_gives_a_session_document_that_opens_as_a_workspace(store):
    store.prompts.save("p", _setup("restored prompt"))
    store.prompts.save("p", _setup("later"))
    document = store.prompts.restore("p", 1)
    workspace = apply_session_document(document)
    assert workspace.system_prompt == "restored prompt" and workspace.tool_choice == "required"
    assert workspace.conversation.messages[0].images[0].url.startswith("data:image/png")
    session_id = store.sessions.create_from_document(document)
    assert store.sessions.load(session_id).system_prompt == "restored prompt"


def test_fork_tags_labels_and_search(store):
    library = store.prompts
    library.save("support", _setup("Help customers kindly."))
    library.save("support", _setup("Help customers briskly."))
    library.fork("support", 1, "support-fr", "French variant")
    assert library.get("support-fr").setup.system_prompt == "Help customers kindly."
    assert library.versions("support-fr")[0].note == "French variant"
    assert {p.name: p.forked_from for p in library.list_all()}["support-fr"] == "support@1"
    with pytest.raises(PlaygroundError):
        library.fork("support", 1, "support-fr")
    library.tag("support", "Customer", "tier1")
    library.set_label("support", "production", 1)
    library.set_label("support", "production", 2)  # moves
    summary = {p.name: p for p in library.list_all()}["support"]
    assert summary.tags == ("customer", "tier1") and summary.labels == {"production": 2}
    assert library.get("support", label="production").info.version == 2
    assert [p.name for p in library.search("briskly")] == ["support"]
    assert {p.name for p in library.search("SUPPORT")} == {"support", "support-fr"}
    assert [p.name for p in library.search("tier1")] == ["support"]
    assert library.search("100%") == []
    library.untag("support", "tier1")
    assert library.search("tier1") == []
    with pytest.raises(PlaygroundError) as caught:
        library.get("support", 7)
    assert caught.value.kind is ErrorKind.NOT_FOUND


def test_deleting_a_prompt_removes_its_versions_and_images(store):
    store.prompts.save("p", _setup())
    store.prompts.delete("p")
    assert store.prompts.list_all() == []
    with store.engine.connect() as connection:
        assert connection.execute(select(BlobRow)).all() == []


def test_concurrent_writers_never_lose_a_version(database_url):
    writers, saves_each = 4, 5
    stores = [open_store(database_url) for _ in range(writers)]  # separate engines, separate connections
    document = session_document_from_workspace(Workspace(system_prompt="shared"))
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(library: PromptLibrary, writer: int) -> None:
        try:
            start.wait()
            for save in range(saves_each):
                library.save("shared", document, f"writer {writer} save {save}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s.prompts, n)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    versions = stores[0].prompts.versions("shared")
    assert [v.version for v in versions] == list(range(1, writers * saves_each + 1))
    assert {v.note for v in versions} == {f"writer {w} save {s}" for w in range(writers) for s in range(saves_each)}
    for opened in stores:
        opened.close()


def test_a_version_number_taken_between_read_and_write_is_retried_with_the_next(store, database_url, monkeypatch):
    import playground.store.prompts as prompts_module

    document = session_document_from_workspace(Workspace(system_prompt="race"))
    store.prompts.save("p", document, "first")
    rival = open_store(database_url)
    real_document_blobs = prompts_module.document_blobs
    raced: list[bool] = []

    def rival_saves_first(connection, setup):
        # Runs after our transaction read the latest number and before it inserts the next one.
        if not raced:
            raced.append(True)
            rival.prompts.save("p", document, "rival")
        return real_document_blobs(connection, setup)

    monkeypatch.setattr(prompts_module, "document_blobs", rival_saves_first)
    assert store.prompts.save("p", document, "ours").version == 3
    assert [(v.version, v.note) for v in store.prompts.versions("p")] == [(1, "first"), (2, "rival"), (3, "ours")]
    rival.close()
