"""Test sets and runs in the store (Alembic 0002): numbered versions with their graders, runs saved
as they grow and read back whole; and the background runner a run goes on (cancel, resume)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import inspect

from components.compare import new_grader
from playground.errors import PlaygroundError
from playground.evals import (
    Completion,
    ContainsGrader,
    FieldEqualsGrader,
    JsonSchemaGrader,
    LatencyGrader,
    RegexGrader,
    RunConfig,
    RunState,
    TestRow,
    TestSet,
    Variant,
)
from playground.evals.background import live_run, start_run
from playground.evals.setups import variant_from_setup
from playground.store.database import head_revision
from playground.workspace import Workspace

pytest_plugins = ["tests.store_fixtures"]


def rows(count: int) -> list[TestRow]:
    return [TestRow(id=f"r{i}", variables={"q": f"question {i}"}, expected=str(i)) for i in range(1, count + 1)]


def test_the_schema_has_the_eval_tables_at_head(store):
    assert head_revision() == "0003"  # 0002: share links
    assert {"test_set_versions", "eval_runs"} <= set(inspect(store.engine).get_table_names())


def test_each_save_is_a_version_with_its_graders(store):
    first = store.evals.save_test_set(TestSet(name="faq", rows=rows(2)), [RegexGrader(pattern=r"\d")])
    second = store.evals.save_test_set(TestSet(name="faq", rows=rows(3)), [ContainsGrader(value="x")])
    assert (first.version, second.version) == (1, 2)
    assert store.evals.versions("faq") == [1, 2]
    latest, graders = store.evals.get_test_set("faq")
    assert len(latest.rows) == 3 and graders == [ContainsGrader(value="x")]
    old, old_graders = store.evals.get_test_set("faq", 1)
    assert len(old.rows) == 2 and old_graders == [RegexGrader(pattern=r"\d")]
    assert [(i.name, i.version, i.rows) for i in store.evals.test_sets()] == [("faq", 2, 3)]
    with pytest.raises(PlaygroundError, match="no test set"):
        store.evals.get_test_set("nope")
    with pytest.raises(PlaygroundError, match="name"):
        store.evals.save_test_set(TestSet(name="  ", rows=rows(1)))


def test_a_run_is_saved_as_it_grows_and_read_back_whole(store):
    state = RunState(config=RunConfig(test_set=TestSet(name="faq", rows=rows(2)), variants=[Variant(id="a")]))
    store.evals.save_run(state)
    state.status = "completed"
    store.evals.save_run(state)
    again = store.evals.get_run(state.id)
    assert again.status == "completed" and again.config == state.config
    assert [(r.id, r.status, r.test_set_name) for r in store.evals.runs()] == [(state.id, "completed", "faq")]


class SlowCompleter:
    """Answers with the row's question after ``delay`` (stops when asked)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, variant, request, should_stop=None):
        with self.lock:
            self.calls += 1
        time.sleep(self.delay)
        return Completion(text=request.messages[-1]["content"], prompt_tokens=5, completion_tokens=2, latency_s=0.01)


def wait(handle, timeout=10.0):
    handle.thread.join(timeout)
    assert not handle.alive


def test_a_background_run_finishes_saves_and_is_found_by_id():
    saved: list[str] = []
    config = RunConfig(
        test_set=TestSet(rows=rows(5)),
        variants=[Variant(id="a", messages=[{"role": "user", "content": "{{q}}"}])],
        graders=[RegexGrader(pattern=r"[135]$")],
    )
    state = RunState(config=config)
    handle = start_run(state, SlowCompleter(), save=lambda s: saved.append(s.status), save_every_s=0)
    assert live_run(state.id) is handle
    assert start_run(state, SlowCompleter()) is handle or not handle.alive  # a double click starts nothing new
    wait(handle)
    assert state.status == "completed" and sum(r.passed for r in state.results) == 3
    assert saved[0] == "pending" and saved[-1] == "completed"


def test_cancel_stops_a_run_and_resume_answers_only_the_rest():
    variant = Variant(id="a", messages=[{"role": "user", "content": "{{q}}"}])
    config = RunConfig(test_set=TestSet(rows=rows(20)), variants=[variant], concurrency=1)
    state = RunState(config=config)
    handle = start_run(state, SlowCompleter(delay=0.02))
    time.sleep(0.1)
    handle.cancel.set()
    wait(handle)
    assert state.status == "cancelled" and 0 < len(state.results) < 20
    assert all(result.error is None for result in state.results)
    before = len(state.results)
    resumed = RunState.model_validate_json(state.model_dump_json())  # as read back after a reload
    completer = SlowCompleter()
    wait(start_run(resumed, completer))
    assert resumed.status == "completed" and len(resumed.results) == 20 and completer.calls == 20 - before


def test_a_variant_from_the_setup_keeps_replies_literal_and_appends_the_input():
    setup = Workspace(system_prompt="You work for {{company}}.")
    setup.conversation.add_user("Show a template")
    reply = setup.conversation.start_reply("m")
    reply.content = "Write {{ name }} where the name goes."
    variant = variant_from_setup(
        setup, variant_id="v", label="v", model="gpt-4.1-nano", temperature=0.2, next_message="{{question}}"
    )
    assert variant.variables() == ["company", "question"]
    request = variant.build_request({"company": "Acme", "question": "Hi?"})
    assert [m["content"] for m in request.messages] == [
        "You work for Acme.",
        "Show a template",
        "Write {{ name }} where the name goes.",
        "Hi?",
    ]
    assert request.model == "gpt-4.1-nano" and request.params.temperature == 0.2


def test_the_grader_form_builds_each_kind_and_refuses_bad_values():
    assert new_grader("regex", r"^\d+$", "") == RegexGrader(pattern=r"^\d+$")
    assert new_grader("contains", "", "") == ContainsGrader(value=None)  # the row's expected value
    assert new_grader("json_schema", '{"type": "object"}', "") == JsonSchemaGrader(schema={"type": "object"})
    assert new_grader("field_equals", "/answer", "42") == FieldEqualsGrader(pointer="/answer", value=42)
    assert new_grader("latency", "2.5", "") == LatencyGrader(max_s=2.5)
    with pytest.raises(PlaygroundError, match="Latency"):
        new_grader("latency", "fast", "")
    with pytest.raises(PlaygroundError, match="JSON-schema"):
        new_grader("json_schema", "{not json", "")


def test_the_runs_list_says_each_runs_engine_and_size(store):
    test_set = TestSet(name="faq", rows=rows(3))
    variants = [Variant(id="a"), Variant(id="b")]
    live = RunState(config=RunConfig(test_set=test_set, variants=variants))
    batch = RunState(config=RunConfig(test_set=test_set, variants=variants[:1], engine="batch"))
    store.evals.save_run(live)
    store.evals.save_run(batch)
    # A run saved before the Batch API existed has no engine in its configuration: it ran live.
    old = RunState(config=RunConfig(test_set=TestSet(name="old", rows=rows(1)), variants=variants[:1]))
    store.evals.save_run(old)
    from sqlalchemy import update

    from playground.store.models import EvalRunRow

    body = old.model_dump(mode="json")
    del body["config"]["engine"]
    with store.engine.begin() as connection:
        connection.execute(update(EvalRunRow).where(EvalRunRow.id == old.id).values(body=json.dumps(body)))
    shapes = {r.id: (r.test_set_name, r.engine, r.rows, r.variants) for r in store.evals.runs()}
    assert shapes == {
        live.id: ("faq", "live", 3, 2),
        batch.id: ("faq", "batch", 3, 1),
        old.id: ("old", "live", 1, 1),
    }
    assert store.evals.runs() == store.evals.runs()  # read once, then kept


def test_a_second_run_of_the_same_test_set_and_variants_from_the_session_is_refused():
    variant = Variant(id="a", messages=[{"role": "user", "content": "{{q}}"}])
    config = RunConfig(test_set=TestSet(rows=rows(20)), variants=[variant], concurrency=1)
    first = RunState(config=config)
    handle = start_run(first, SlowCompleter(delay=0.02))
    try:
        with pytest.raises(PlaygroundError, match="already running"):
            start_run(RunState(config=config.model_copy(deep=True)), SlowCompleter(), alongside=[first.id])
        other = RunState(config=config.model_copy(update={"variants": [variant.on_model("gpt-4.1")]}))
        wait(start_run(other, SlowCompleter(), alongside=[first.id]))  # other variants: a run of its own
        another_session = RunState(config=config.model_copy(deep=True))
        wait(start_run(another_session, SlowCompleter()))  # not this session's run: not refused
    finally:
        handle.cancel.set()
        wait(handle)
    again = RunState(config=config.model_copy(deep=True))
    wait(start_run(again, SlowCompleter(), alongside=[first.id]))  # the first has ended: allowed
    assert again.status == "completed"
