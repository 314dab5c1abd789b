"""Sessions that survive reload and restart (AppTest): saved as they change, reopened through
``?session=<id>``, an unknown id, a database that is down, and the sidebar's Sessions list."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.chat_view import ChatKeys
from components.sessions import SessionKeys
from components.state import STATE_KEY, Keys
from playground.conversation import Status
from playground.registry import Price
from playground.store import autosave as autosave_timing
from playground.store import open_store
from playground.toolloop import CannedMock
from tests.app.conftest import APP_PATH
from tests.fakes.server import Scenario


def send(app: AppTest, text: str) -> AppTest:
    app.chat_input(key=Keys.CHAT_INPUT).set_value(text).run()
    assert not app.exception, app.exception
    return app


def workspace(app: AppTest):
    return app.session_state[STATE_KEY].workspace


def reopen(session_id: str | None) -> AppTest:
    """What a reload, a second tab or a restarted server does: a new browser session on the URL."""
    app = AppTest.from_file(APP_PATH, default_timeout=30)
    if session_id is not None:
        app.query_params["session"] = session_id
    app.run()
    assert not app.exception, app.exception
    return app


def texts(app: AppTest) -> list[str]:
    return [message.markdown[0].value for message in app.chat_message]


@pytest.fixture
def database(throwaway_database):
    store = open_store(throwaway_database)
    yield store
    store.close()


def test_a_first_visit_saves_nothing_until_there_is_something_then_the_url_names_it(app_factory, database):
    app = app_factory()
    app.run()
    assert "session" not in app.query_params
    assert database.sessions.list_all() == []
    send(app, "Remember me")
    session_id = app.query_params["session"]
    (summary,) = database.sessions.list_all()
    assert summary.id == session_id and summary.message_count == 2
    assert summary.title == "Remember me"  # a new session is named after its first message


def test_the_process_wide_store_keeps_no_user_text(app_factory):
    from components.persistence import database

    app = app_factory()
    send(app, "A private question")
    repository = database().sessions
    # What a save remembers (texts by reference, image digests) lives with the browser session.
    assert repository._saved == {} and not repository._images._by_id
    assert app.session_state[STATE_KEY].autosave.cache.saved is not None


def test_reload_reopens_everything_but_the_key(app_factory, database, fake):
    fake.enqueue(Scenario(text="Paris is the capital.", cached_tokens=3))
    app = app_factory()
    app.session_state[ChatKeys.SETTINGS_OPEN] = True  # "System prompt & parameters" is open
    app.run()
    app.text_area(key=Keys.SYSTEM_PROMPT).input("Answer briefly.").run()
    app.slider(key=Keys.TEMPERATURE).set_value(0.3).run()
    send(app, "Capital of France?")
    before = workspace(app)
    before.add_tool(
        {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}},
        CannedMock(default='{"t": 21}'),
    )
    before.set_schema_option("name", "answer")
    before.set_price_override(Price(input=1.0, output=2.0))
    before.set_price_tier("openai_batch")
    app.run()  # the changes are saved at the end of the run
    session_id = app.query_params["session"]

    again = reopen(session_id)
    after = workspace(again)
    assert texts(again) == ["Capital of France?", "Paris is the capital."]
    assert "(3 cached)" in again.chat_message[1].caption[0].value
    assert after.system_prompt == "Answer briefly." and after.params.temperature == 0.3
    assert after.tools == before.tools and after.mock_output("weather", "{}") == '{"t": 21}'
    assert after.usage_ledger.keys() == before.usage_ledger.keys() and after.session_cost() == before.session_cost()
    assert after.response_schema.name == "answer"
    assert after.price_overrides == before.price_overrides and after.price_tier == "openai_batch"
    assert after.connection.base_url == fake.base_url
    # The key is the server's, from its environment: never from the database.
    assert after.connection.api_key is not None and after.connection.api_key.get_secret_value() == "sk-server-side-key"
    database_file = Path(database.engine.url.database or "")
    files = list(database_file.parent.glob(database_file.name + "*"))  # the database and its WAL
    assert database_file in files and not any(b"sk-server-side-key" in path.read_bytes() for path in files)
    assert again.query_params["session"] == session_id


def test_an_unknown_session_says_so_and_starts_a_new_one(app_factory, database):
    app_factory()  # the environment (the fake server's connection)
    app = reopen("no-such-session")
    assert any("There is no saved session `no-such-session`" in info.value for info in app.info)
    hostile = reopen("*bold*_[link](http://x)")  # an id from the URL is drawn literally
    assert any("`*bold*_[link](http://x)`" in info.value for info in hostile.info)
    assert "session" not in app.query_params
    assert texts(app) == []
    send(app, "A new start")
    assert app.query_params["session"] != "no-such-session"
    assert [summary.message_count for summary in database.sessions.list_all()] == [2]


def test_database_down_says_work_is_not_saved_keeps_working_and_saves_once_it_is_back(
    app_factory, clean_env, tmp_path, monkeypatch
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database's folder should be")
    clean_env.setenv("PLAYGROUND_DATABASE_URL", f"sqlite:///{blocker / 'playground.db'}")
    monkeypatch.setattr(autosave_timing, "RETRY_AFTER_S", 0.0)  # retried on the very next run
    app = app_factory()
    send(app, "Do not lose this")
    warning = " ".join(w.value for w in app.warning)
    assert "Work is not being saved" in warning and "Cannot open the database" in warning
    assert texts(app) == ["Do not lose this", "Echo: Do not lose this"]  # the page still works
    assert "session" not in app.query_params

    blocker.unlink()  # the database is back
    app.run()
    assert not [w for w in app.warning if "not being saved" in w.value]
    session_id = app.query_params["session"]
    assert texts(reopen(session_id)) == ["Do not lose this", "Echo: Do not lose this"]


def test_a_locked_database_is_reported_and_the_message_kept(app_factory, database, monkeypatch):
    app = app_factory()
    send(app, "First")
    path = database.engine.url.database
    assert path is not None
    monkeypatch.setattr(autosave_timing, "RETRY_AFTER_S", 0.0)
    locker = sqlite3.connect(path, timeout=0.1)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        send(app, "Second, while locked")
        assert any("database is locked" in w.value for w in app.warning), [w.value for w in app.warning]
        assert texts(app)[-2:] == ["Second, while locked", "Echo: Second, while locked"]
    finally:
        locker.rollback()
        locker.close()
    app.run()
    assert texts(reopen(app.query_params["session"]))[-1] == "Echo: Second, while locked"


def test_a_reply_that_was_streaming_reopens_interrupted_with_retry(app_factory, database, fake):
    app = app_factory()
    send(app, "Tell me more")
    session_id = app.query_params["session"]
    reply = workspace(app).conversation.messages[-1]
    reply.status = Status.STREAMING  # as the once-a-second save left it when the process died
    reply.content = "Half of"
    database.sessions.save(session_id, workspace(app))

    again = reopen(session_id)
    assert workspace(again).conversation.messages[-1].status is Status.INTERRUPTED
    assert again.chat_message[1].markdown[0].value == "Half of"
    assert "Interrupted" in again.chat_message[1].markdown[1].value  # the badge
    assert "kept, incomplete" in again.chat_message[1].caption[0].value
    retry = next(button for button in again.chat_message[1].button if button.label == "Retry")
    retry.click().run()
    assert texts(again) == ["Tell me more", "Echo: Tell me more"]


def test_the_stream_saves_while_it_runs(app_factory, database, fake, monkeypatch):
    saved_during_stream = []
    original = database.sessions.__class__.save

    def spy(self, session_id, workspace, title=None, **options):
        if workspace.conversation.messages and workspace.conversation.messages[-1].status is Status.STREAMING:
            saved_during_stream.append(workspace.conversation.messages[-1].content)
        return original(self, session_id, workspace, title, **options)

    monkeypatch.setattr(database.sessions.__class__, "save", spy)
    monkeypatch.setattr(autosave_timing, "STREAM_SAVE_INTERVAL_S", 0.0)
    fake.enqueue(Scenario(text="one two three four", chunk_delay=0.02))
    send(app_factory(), "Count")
    assert saved_during_stream and saved_during_stream[0] != "one two three four"


# --- the sessions list ----------------------------------------------------------------------------
def sidebar_button(app: AppTest, key: str):
    return app.sidebar.button(key=key)


def test_the_sessions_list_is_drawn_only_while_open(app_factory, database):
    app = app_factory()
    send(app, "Saved")
    assert app.sidebar.expander[0].label == "Sessions"
    assert not [box for box in app.sidebar.selectbox if box.key == SessionKeys.OPEN]
    app.session_state[SessionKeys.PANEL] = True  # what opening the expander reports
    app.run()
    assert app.sidebar.selectbox(key=SessionKeys.OPEN).options


def test_sessions_list_new_open_rename_duplicate_delete(app_factory, database):
    app = app_factory()
    app.session_state[SessionKeys.PANEL] = True  # the Sessions expander is open
    send(app, "First session")
    first = app.query_params["session"]
    app.sidebar.text_input(key=SessionKeys.TITLE).input("Trip planning").run()
    assert database.sessions.list_all()[0].title == "Trip planning"

    sidebar_button(app, SessionKeys.NEW).click().run()
    assert texts(app) == [] and "session" not in app.query_params
    send(app, "Second session")
    second = app.query_params["session"]
    assert second != first

    app.sidebar.selectbox(key=SessionKeys.OPEN).select(first).run()
    assert texts(app) == ["First session", "Echo: First session"]
    assert app.query_params["session"] == first
    assert app.sidebar.text_input(key=SessionKeys.TITLE).value == "Trip planning"

    sidebar_button(app, SessionKeys.DUPLICATE).click().run()
    copy = app.query_params["session"]
    assert copy not in (first, second) and texts(app) == ["First session", "Echo: First session"]
    assert {summary.title for summary in database.sessions.list_all()} == {
        "Trip planning",
        "Trip planning (copy)",
        "Second session",
    }

    sidebar_button(app, SessionKeys.CONFIRM_DELETE).click().run()
    assert not database.sessions.exists(copy) and texts(app) == []
    assert any("deleted" in info.value for info in app.info)
    assert {summary.id for summary in database.sessions.list_all()} == {first, second}


def test_a_second_tab_that_is_behind_does_not_undo_the_first_tabs_work(app_factory, database):
    first = app_factory()
    send(first, "One")
    session_id = first.query_params["session"]
    second = reopen(session_id)  # a second tab on the same session
    send(first, "Two")  # the first tab goes on

    send(second, "From the stale tab")
    warning = " ".join(w.value for w in second.warning)
    assert "changed in another tab" in warning
    saved = database.sessions.load(session_id)
    assert [m.content for m in saved.conversation.messages if m.role == "user"] == ["One", "Two"]

    second.button(key="persistence.reopen").click().run()
    assert [t for t in texts(second) if not t.startswith("Echo")] == ["One", "Two"]
    assert not [w for w in second.warning if "another tab" in w.value]


def test_a_session_deleted_elsewhere_is_said_and_its_work_can_be_kept_as_a_new_session(app_factory, database):
    app = app_factory()
    send(app, "Keep me")
    session_id = app.query_params["session"]
    database.sessions.delete(session_id)  # another tab, or the retention setting
    send(app, "And me")
    assert any("deleted meanwhile" in w.value for w in app.warning)
    assert not database.sessions.exists(session_id)

    app.button(key="persistence.keep").click().run()
    new_id = app.query_params["session"]
    assert new_id != session_id
    reopened = database.sessions.load(new_id)
    assert [m.content for m in reopened.conversation.messages if m.role == "user"] == ["Keep me", "And me"]


def test_retention_purges_old_sessions_at_start(app_factory, database, clean_env):
    old_id = database.sessions.create(title="old")
    from datetime import timedelta

    from sqlalchemy import update

    from playground.store.models import SessionRow, utc_now

    with database.engine.begin() as connection:
        connection.execute(
            update(SessionRow).where(SessionRow.id == old_id).values(updated_at=utc_now() - timedelta(days=40))
        )
    recent_id = database.sessions.create(title="recent")
    clean_env.setenv("PLAYGROUND_RETENTION_DAYS", "30")
    app_factory()
    assert {summary.id for summary in database.sessions.list_all()} == {recent_id}


def test_a_new_session_is_named_after_its_first_message_and_labelled_short() -> None:
    from datetime import UTC, datetime

    from components.sessions import session_label
    from playground.store.autosave import TITLE_LENGTH, first_message_title
    from playground.store.sessions import SessionSummary
    from playground.workspace import Workspace

    workspace = Workspace()
    assert first_message_title(workspace) == ""
    workspace.submit("Plan a   three-day\ntrip " + "to Lisbon " * 20)
    title = first_message_title(workspace)
    assert title.startswith("Plan a three-day trip to Lisbon") and len(title) == TITLE_LENGTH and title.endswith("…")
    when = datetime(2026, 12, 1, 20, 38, tzinfo=UTC)
    label = session_label(SessionSummary("id", title, 4, when, when), now=when)
    assert label == "Plan a three-day trip to Lisbon… · 20:38 · 4 msg"
    assert (
        session_label(SessionSummary("id", "", 0, when, when), now=when.replace(day=3))
        == "Untitled · 01 Dec 2026 · 0 msg"
    )
