"""The session store on SQLite and (when available) PostgreSQL: schema, round trips, incremental
saves, images by digest, the sessions list operations and retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, inspect, select, text

from playground.conversation import ImageAttachment, Status
from playground.errors import ErrorKind, PlaygroundError
from playground.store import head_revision, open_store, session_document_from_workspace
from playground.store.models import BlobRefRow, BlobRow, MessageRow, SessionRow, utc_now
from playground.workspace import Workspace
from tests.store_data import SECRET_KEY, png_data_url, rich_workspace

pytest_plugins = ["tests.store_fixtures"]  # the database_url and store fixtures


def _count(store, table) -> int:
    with store.engine.connect() as connection:
        return len(connection.execute(select(table)).all())


def test_an_empty_database_gets_the_whole_schema_at_the_newest_revision(store):
    tables = set(inspect(store.engine).get_table_names())
    assert {"sessions", "messages", "blobs", "blob_refs", "prompts", "prompt_versions", "prompt_tags"} <= tables
    with store.engine.connect() as connection:
        assert connection.scalar(text("select version_num from alembic_version")) == head_revision()


def test_opening_again_keeps_the_data(database_url):
    first = open_store(database_url)
    session_id = first.sessions.create(Workspace(system_prompt="kept"))
    first.close()
    again = open_store(database_url)
    assert again.sessions.load(session_id).system_prompt == "kept"
    again.close()


def test_a_newer_schema_revision_is_refused_and_left_untouched(database_url):
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("create table alembic_version (version_num varchar(32) not null primary key)"))
        connection.execute(text("insert into alembic_version values ('9999_future')"))
    with pytest.raises(PlaygroundError) as caught:
        open_store(database_url)
    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert "9999_future" in caught.value.message and "newer" in caught.value.message
    assert "not changed" in caught.value.message
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    with engine.connect() as connection:
        assert connection.scalar(text("select version_num from alembic_version")) == "9999_future"
    engine.dispose()


def test_every_part_of_a_session_survives_a_round_trip(store):
    workspace = rich_workspace()
    session_id = store.sessions.create(workspace, title="Everything")
    loaded = store.sessions.load(session_id, base=workspace.connection)
    assert session_document_from_workspace(loaded, "Everything") == session_document_from_workspace(
        workspace, "Everything"
    )
    assert loaded.connection.deployment == "mini-prod" and loaded.connection.key == SECRET_KEY  # key from base
    assert loaded.conversation.messages[0].images[0].url == workspace.conversation.messages[0].images[0].url
    assert loaded.conversation.messages[-1].status is Status.STOPPED
    assert loaded.usage_ledger.keys() == workspace.usage_ledger.keys()
    assert loaded.compare_ledger == workspace.compare_ledger and loaded.run_ledger == workspace.run_ledger
    assert loaded.spend() == workspace.spend() and loaded.spend().beyond_chat


def test_a_loaded_session_does_not_carry_the_key_unless_the_base_does(store):
    session_id = store.sessions.create(rich_workspace())
    assert store.sessions.load(session_id).connection.api_key is None


def test_no_credential_reaches_the_database(store):
    store.sessions.create(rich_workspace())
    with store.engine.connect() as connection:
        for table in ("sessions", "messages"):
            for row in connection.execute(text(f"select * from {table}")):
                assert SECRET_KEY not in repr(tuple(row))


def test_a_reply_streaming_when_the_process_died_opens_as_an_interrupted_partial_reply(store):
    workspace = Workspace()
    workspace.submit("tell me a story")
    reply = workspace.conversation.start_reply("gpt-4.1-mini")
    reply.content = "Once upon a"
    session_id = store.sessions.create(workspace)
    message = store.sessions.load(session_id).conversation.messages[-1]
    assert message.status is Status.INTERRUPTED and message.is_partial and message.content == "Once upon a"


def test_saving_writes_only_what_changed(store):
    workspace = Workspace()
    for turn in range(20):
        workspace.submit(f"question {turn}")
        workspace.conversation.start_reply("gpt-4.1-mini").content = f"answer {turn}"
        workspace.conversation.messages[-1].status = Status.COMPLETE
    session_id = store.sessions.create(workspace)
    assert not store.sessions.save(session_id, workspace).wrote_anything
    workspace.submit("one more")
    result = store.sessions.save(session_id, workspace)
    assert (result.messages_written, result.messages_deleted, result.session_written) == (1, 0, True)
    workspace.conversation.messages[3].content = "edited"
    result = store.sessions.save(session_id, workspace)
    assert (result.messages_written, result.session_written) == (1, False)
    workspace.system_prompt = "new prompt"
    assert store.sessions.save(session_id, workspace) == type(result)(0, 0, True)
    workspace.conversation.delete(workspace.conversation.messages[0].id)
    result = store.sessions.save(session_id, workspace)
    assert (result.messages_written, result.messages_deleted) == (0, 1)
    assert _count(store, MessageRow) == 40
    loaded = store.sessions.load(session_id)
    assert [m.content for m in loaded.conversation.messages] == [m.content for m in workspace.conversation.messages]


def test_a_second_repository_saves_incrementally_from_what_the_database_holds(store):
    workspace = Workspace(system_prompt="x")
    workspace.submit("hi")
    session_id = store.sessions.create(workspace)
    other = type(store.sessions)(store.engine)
    assert not other.save(session_id, workspace).wrote_anything
    reopened = other.load(session_id)
    assert not other.save(session_id, reopened).wrote_anything


def test_an_image_is_stored_once_and_deleted_with_its_last_user(store):
    url = png_data_url(3)
    sessions = []
    for _ in range(2):
        workspace = Workspace()
        workspace.pending_images = [ImageAttachment(name="same.png", url=url)]
        workspace.submit("look")
        sessions.append((store.sessions.create(workspace), workspace))
    assert _count(store, BlobRow) == 1
    store.sessions.delete(sessions[0][0])
    assert _count(store, BlobRow) == 1
    (session_id, workspace) = sessions[1]
    workspace.conversation.clear()
    store.sessions.save(session_id, workspace)
    assert _count(store, BlobRow) == 0 and _count(store, BlobRefRow) == 0


def test_delete_really_deletes(store):
    session_id = store.sessions.create(rich_workspace())
    store.sessions.delete(session_id)
    assert (_count(store, SessionRow), _count(store, MessageRow), _count(store, BlobRow)) == (0, 0, 0)
    with pytest.raises(PlaygroundError) as caught:
        store.sessions.load(session_id)
    assert caught.value.kind is ErrorKind.NOT_FOUND


def test_list_rename_and_duplicate(store):
    first = store.sessions.create(Workspace(system_prompt="a"), title="First")
    second = store.sessions.create(rich_workspace(), title="Second")
    assert [s.id for s in store.sessions.list_all()] == [second, first]
    store.sessions.rename(first, "Renamed")
    assert store.sessions.list_all()[0].title == "Renamed"
    copy = store.sessions.duplicate(second)
    assert store.sessions.list_all()[0].title == "Second (copy)" and copy not in (first, second)
    assert store.sessions.load_document(copy).messages == store.sessions.load_document(second).messages
    assert store.sessions.list_all()[0].message_count == len(rich_workspace().conversation)
    store.sessions.delete(second)
    assert store.sessions.load(copy).conversation.messages[0].images[0].url.startswith("data:image/png")


def test_sessions_ids_are_unguessable_and_rows_have_an_owner(store):
    ids = {store.sessions.create() for _ in range(5)}
    assert len(ids) == 5 and all(len(session_id) >= 20 for session_id in ids)
    with store.engine.connect() as connection:
        assert set(connection.scalars(select(SessionRow.owner))) == {"local"}


def test_another_owner_sees_none_of_it(store):
    session_id = store.sessions.create(Workspace(system_prompt="mine"))
    stranger = type(store.sessions)(store.engine, owner="someone-else")
    assert stranger.list_all() == []
    with pytest.raises(PlaygroundError):
        stranger.load(session_id)
    with pytest.raises(PlaygroundError) as caught:
        stranger.save(session_id, Workspace())
    assert caught.value.kind is ErrorKind.PERMISSION


def test_retention_purges_only_sessions_older_than_the_setting(store, database_url):
    old = store.sessions.create(Workspace(system_prompt="old"))
    fresh = store.sessions.create(Workspace(system_prompt="fresh"))
    with store.engine.begin() as connection:
        connection.execute(
            SessionRow.__table__.update().where(SessionRow.id == old).values(updated_at=utc_now() - timedelta(days=40))
        )
    assert open_store(database_url).sessions.list_all().__len__() == 2  # off by default
    assert open_store(database_url, retention=30).sessions.list_all()[0].id == fresh
    assert [s.id for s in store.sessions.list_all()] == [fresh]


def test_retention_setting_is_read_from_the_environment():
    from playground.store.sessions import retention_days

    assert retention_days({}) is None and retention_days({"PLAYGROUND_RETENTION_DAYS": "0"}) is None
    assert retention_days({"PLAYGROUND_RETENTION_DAYS": "30"}) == 30
    with pytest.raises(PlaygroundError):
        retention_days({"PLAYGROUND_RETENTION_DAYS": "soon"})


def test_the_default_database_is_a_file_under_the_ignored_data_folder():
    from playground.store.database import DEFAULT_DATABASE_PATH
    from playground.store.database import database_url as url_from

    assert url_from({}) == f"sqlite:///{DEFAULT_DATABASE_PATH}" and DEFAULT_DATABASE_PATH.parent.name == "data"
    assert url_from({"PLAYGROUND_DATABASE_URL": "postgresql+psycopg://h/db"}) == "postgresql+psycopg://h/db"


def test_an_unreachable_database_is_one_clear_error():
    with pytest.raises(PlaygroundError) as caught:
        open_store("postgresql+psycopg://nobody:secretpw@127.0.0.1:1/none")
    assert caught.value.kind is ErrorKind.CONFIGURATION and "secretpw" not in caught.value.message


def _edits():
    """Every way a message can change in place; each must reach the database on the next save."""
    from playground.conversation import ErrorInfo, ToolCall
    from playground.schema.reply import ReplyValidation

    def stats(message):
        message.stats.completion_tokens = 99

    def content_filter(message):
        message.stats.content_filter["hate"] = {"filtered": True}

    def tool_arguments(message):
        message.tool_calls[0].arguments += "}"

    def image_detail(message):
        message.images[0].detail = "high"

    return {
        "content": lambda m: setattr(m, "content", m.content + "!"),
        "status": lambda m: setattr(m, "status", Status.FAILED),
        "refusal": lambda m: setattr(m, "refusal", "no"),
        "name": lambda m: setattr(m, "name", "bot"),
        "error": lambda m: setattr(m, "error", ErrorInfo(ErrorKind.SERVER, "boom")),
        "stats": stats,
        "content_filter": content_filter,
        "schema_check": lambda m: setattr(m, "schema_check", ReplyValidation(ok=True, parsed={})),
        "tool_call_added": lambda m: m.tool_calls.append(ToolCall("c2", "f", "{}")),
        "tool_arguments": tool_arguments,
        "image_detail": image_detail,
        "image_removed": lambda m: m.images.clear(),
    }


@pytest.mark.parametrize("edit", list(_edits()))
def test_every_in_place_edit_of_a_message_is_saved(tmp_path, edit):
    from playground.conversation import ToolCall

    store = open_store(f"sqlite:///{tmp_path / 'edits.db'}")
    workspace = Workspace()
    workspace.pending_images = [ImageAttachment(name="a.png", url=png_data_url(5))]
    workspace.submit("look")
    reply = workspace.conversation.start_reply("gpt-4.1-mini")
    reply.content, reply.status = "{", Status.COMPLETE
    reply.tool_calls = [ToolCall("c1", "f", '{"a": 1')]
    reply.images = [ImageAttachment(name="b.png", url=png_data_url(6))]
    assert reply.stats is not None
    reply.stats.content_filter = {"hate": {"filtered": False}}
    session_id = store.sessions.create(workspace)
    _edits()[edit](reply)
    assert store.sessions.save(session_id, workspace).messages_written == 1
    fresh = type(store.sessions)(store.engine)
    assert (
        session_document_from_workspace(fresh.load(session_id)).messages[1]
        == (session_document_from_workspace(workspace).messages[1])
    )
    store.close()


def test_the_autosave_records_are_exactly_the_documents_shape():
    from playground.store.document import ImageCache, SessionDocument, header_record, message_record
    from playground.store.sessions import to_json

    workspace = rich_workspace()
    cache = ImageCache()
    for message in workspace.conversation.messages:
        record, _ = message_record(message, cache)
        parsed = SessionDocument.model_validate({"messages": [record]}).messages[0]
        assert to_json(parsed.model_dump(mode="json")) == to_json(record)
    header, _ = header_record(workspace, "t", cache)
    assert header["usage_ledger"] and header["compare_ledger"] and header["run_ledger"]  # every ledger has entries
    # Same text, not only equal data: a session written from a document digests like an autosave.
    assert to_json(SessionDocument.model_validate(header).header()) == to_json(header)


def test_the_models_and_the_migrations_agree(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from playground.store.models import Base

    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_open_or_create_reopens_a_known_id_and_starts_afresh_otherwise(store):
    from playground.connection import ConnectionSettings

    base = ConnectionSettings(model="gpt-4.1-mini", base_url="http://127.0.0.1:9/v1", provider="compatible")
    new_id, workspace = store.sessions.open_or_create(None, base)
    assert workspace.connection == base and store.sessions.exists(new_id)
    workspace.system_prompt = "remember me"
    store.sessions.save(new_id, workspace)
    same_id, reopened = store.sessions.open_or_create(new_id, base)
    assert same_id == new_id and reopened.system_prompt == "remember me"
    other_id, fresh = store.sessions.open_or_create("no-such-id", base)
    assert other_id not in (new_id, "no-such-id") and fresh.system_prompt == ""


def test_saving_a_session_deleted_meanwhile_says_so_and_writes_nothing(store):
    workspace = Workspace(system_prompt="x")
    session_id = store.sessions.create(workspace)
    type(store.sessions)(store.engine).delete(session_id)  # another process or tab
    workspace.submit("still here?")
    with pytest.raises(PlaygroundError) as caught:
        store.sessions.save(session_id, workspace)
    assert caught.value.kind is ErrorKind.NOT_FOUND and "deleted" in caught.value.message
    assert _count(store, SessionRow) == 0 and _count(store, MessageRow) == 0


def test_a_duplicated_or_imported_session_saves_nothing_until_it_changes(store):
    copy = store.sessions.duplicate(store.sessions.create(rich_workspace()))
    imported = store.sessions.create_from_document(store.sessions.load_document(copy))
    for session_id in (copy, imported):
        repository = type(store.sessions)(store.engine)
        assert not repository.save(session_id, repository.load(session_id)).wrote_anything


def test_the_tool_loop_survives_a_round_trip(store):
    """Mocks, code, scenarios, the prompt, the last run's timeline and the comparison are saved."""
    from playground.toolloop import CallRecord, CallVerdict, ResultSource, Step, StepStats, Timeline, ToolResult
    from playground.toolloop.scenarios import ScenarioOutcome
    from playground.toolloop.timeline import LoopStatus

    workspace = rich_workspace()
    call = CallRecord(
        id="call_1",
        name="weather",
        arguments='{"city": "Paris"}',
        verdict=CallVerdict(valid=True),
        result=ToolResult(content='{"temp": 21}', source=ResultSource.MOCK, duration_s=0.002, detail="canned"),
    )
    timeline = Timeline(
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        steps=[
            Step(number=1, calls=[call], stats=StepStats(prompt_tokens=40, completion_tokens=9, cost_usd=0.0001)),
            Step(number=2, content="21 degrees.", stats=StepStats(prompt_tokens=60, finish_reason="stop")),
        ],
        status=LoopStatus.FINISHED,
        final_answer="21 degrees.",
    )
    workspace.tool_loop.timeline = timeline
    workspace.tool_loop.comparison = [
        ScenarioOutcome(
            scenario="Tool errors",
            status=LoopStatus.FINISHED,
            final_answer="Sorry",
            step_count=2,
            cost_usd=None,
            timeline=timeline,
        )
    ]
    session_id = store.sessions.create(workspace, title="Loop")
    loaded = type(store.sessions)(store.engine).load(session_id).tool_loop
    assert loaded == workspace.tool_loop
    weather = loaded.setup.tool_named("weather")
    assert weather is not None and weather.code and weather.mock is not None and weather.mock.kind == "canned"
    assert loaded.timeline is not None and loaded.timeline.steps[0].calls[0].result.source is ResultSource.MOCK
    assert [s.name for s in loaded.scenarios][:1] == ["Tool errors"] and loaded.prompt == "Weather in Paris?"
    store.close()


def test_a_legacy_canned_output_becomes_the_tools_mock():
    from playground.store.document import SessionDocument, apply_session_document

    tool = {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}
    document = SessionDocument(tools=[tool], tool_mock_outputs={"weather": '{"temp": 21}'})
    sandbox = apply_session_document(document).tool_loop.setup.tool_named("weather")
    assert sandbox is not None and sandbox.mock is not None and sandbox.mock.produce({}) == '{"temp": 21}'
