"""Autosave (the core behind the app's saving): nothing written for an untouched session, a save at
most once a second while streaming, failures kept and retried later, a second tab that is behind
refused (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from playground.conversation import Status
from playground.errors import ErrorKind, PlaygroundError
from playground.store import Store
from playground.store import autosave as autosave_module
from playground.store.autosave import Autosave
from playground.store.sessions import SaveCache, SessionConflict
from playground.workspace import Workspace

pytest_plugins = ["tests.store_fixtures"]  # the database_url and store fixtures


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_untouched_session_writes_nothing_until_something_changes(store: Store) -> None:
    workspace = Workspace()
    autosave = Autosave.fresh(workspace)
    assert autosave.save(lambda: store.sessions, workspace) is False
    assert store.sessions.list_all() == []
    workspace.set_system_prompt("Be brief.")
    assert autosave.save(lambda: store.sessions, workspace) is True  # created the row
    assert autosave.save(lambda: store.sessions, workspace) is False  # already there
    assert store.sessions.load(autosave.session_id).system_prompt == "Be brief."


def test_while_streaming_a_save_at_most_once_an_interval(store: Store) -> None:
    clock = Clock()
    workspace = Workspace()
    workspace.submit("Hello")
    reply = workspace.conversation.start_reply("gpt-4.1-mini")
    autosave = Autosave(clock=clock)
    autosave.save_while_streaming(lambda: store.sessions, workspace)
    reply.content = "Hel"
    clock.now += 0.5
    autosave.save_while_streaming(lambda: store.sessions, workspace)
    assert store.sessions.load(autosave.session_id).conversation.messages[-1].content == ""
    clock.now += autosave_module.STREAM_SAVE_INTERVAL_S
    autosave.save_while_streaming(lambda: store.sessions, workspace)
    saved = store.sessions.load(autosave.session_id).conversation.messages[-1]
    assert saved.content == "Hel" and saved.status is Status.INTERRUPTED  # as a restart finds it


def test_a_failure_is_kept_not_raised_and_retried_after_a_while(store: Store) -> None:
    clock = Clock()
    workspace = Workspace()
    workspace.submit("Hello")
    autosave = Autosave(clock=clock)

    def down():
        raise PlaygroundError(ErrorKind.CONFIGURATION, "Cannot open the database: it is down")

    assert autosave.save(down, workspace) is False
    assert autosave.error is not None and "down" in autosave.error.message and not autosave.stopped
    assert autosave.save(lambda: store.sessions, workspace) is False  # too soon: not tried
    assert store.sessions.list_all() == []
    clock.now += autosave_module.RETRY_AFTER_S
    assert autosave.save(lambda: store.sessions, workspace) is True
    assert autosave.error is None


def test_a_writer_that_is_behind_is_refused_and_stops(store: Store) -> None:
    workspace = Workspace()
    workspace.submit("One")
    first = Autosave()
    first.save(lambda: store.sessions, workspace)
    second_view = store.sessions.load(first.session_id)
    second = Autosave.opened(first.session_id, store.sessions.revision(first.session_id), SaveCache())
    workspace.submit("Two")
    first.save(lambda: store.sessions, workspace)

    second_view.submit("Stale")
    assert second.save(lambda: store.sessions, second_view) is False
    assert isinstance(second.error, SessionConflict) and second.stopped
    assert [m.content for m in store.sessions.load(first.session_id).conversation.messages] == ["One", "Two"]
    with pytest.raises(SessionConflict):
        store.sessions.save(first.session_id, second_view, revision=0)


def test_session_ids_never_read_as_a_command_line_option(monkeypatch) -> None:
    from playground.store import sessions

    drawn = iter(["-starts-with-a-dash", "fine-id"])
    monkeypatch.setattr(sessions.secrets, "token_urlsafe", lambda _: next(drawn))
    assert sessions.new_session_id() == "fine-id"
