"""The session's cost beyond the chat: side-by-side replies and test runs count, part by part, with
estimates and unpriced requests said; reading it writes nothing; the saved session keeps it."""

from __future__ import annotations

import threading

import pytest

from playground.conversation import ReplyStats
from playground.errors import PlaygroundError
from playground.evals.background import live_run, start_run
from playground.evals.completion import Completion
from playground.evals.graders import RegexGrader
from playground.evals.runs import RunConfig, RunState
from playground.evals.sidebyside import ColumnUpdate
from playground.evals.testsets import TestRow, TestSet
from playground.evals.variants import Variant
from playground.meter import PaidCost, RunCost, SessionSpend
from playground.store import apply_session_document, session_document_from_workspace
from playground.workspace import Workspace


def done(column: int, cost: float | None, *, estimate: bool = False) -> ColumnUpdate:
    completion = Completion(text="ok", prompt_tokens=100, completion_tokens=10)
    return ColumnUpdate(column, f"col{column + 1}", "ok", True, completion, cost, estimate)


def test_each_side_by_side_reply_counts_once_its_stream_ends():
    workspace = Workspace()
    stream = [
        ColumnUpdate(0, "col1", "o"),  # still streaming: nothing paid yet
        done(0, 0.002),
        ColumnUpdate(1, "col2", "partial", done=True, error=PlaygroundError.invalid_input("no")),  # failed
        done(2, None),  # a model with no price
        done(3, 0.001, estimate=True),
    ]
    seen = []
    for update in workspace.record_compare_replies(iter(stream)):
        seen.append(update)
        if len(seen) == 2:  # recorded as the column's stream ends, before the others are in
            assert [cost.usd for cost in workspace.compare_ledger.values()] == [0.002]
    assert seen == stream  # passed through unchanged
    compare = workspace.spend().compare
    assert compare == PaidCost(usd=pytest.approx(0.003), estimated=True, unpriced=1, requests=3)
    assert workspace.spend().total.usd == pytest.approx(0.003)  # the chat spent nothing
    # A second send is a second set of replies (same columns, new keys).
    list(workspace.record_compare_replies(iter([done(0, 0.002)])))
    assert len(workspace.compare_ledger) == 4
    assert workspace.spend().compare.usd == pytest.approx(0.005)


def test_the_chat_part_is_the_old_session_cost():
    workspace = Workspace()
    workspace.submit("hi")
    reply = workspace.conversation.start_reply("gpt-4.1-mini")
    reply.stats = ReplyStats(model="gpt-4.1-mini", prompt_tokens=1_000_000, completion_tokens=0)
    spend = workspace.spend()
    assert spend.chat.usd == pytest.approx(workspace.session_cost()) and spend.chat.usd > 0
    assert spend.parts() == [("chat", spend.chat)] and not spend.beyond_chat


def run_config(rows: int = 3) -> RunConfig:
    return RunConfig(
        test_set=TestSet(rows=[TestRow(id=str(i), variables={"q": f"q{i}"}) for i in range(rows)]),
        variants=[Variant(id="a", model="gpt-4.1-mini", messages=[{"role": "user", "content": "{{q}}"}])],
        graders=[RegexGrader(pattern="q")],
        concurrency=1,
    )


class GatedCompleter:
    """Answers at once for the first ``free`` calls, then waits for ``gate``."""

    def __init__(self, free: int) -> None:
        self.free, self.gate, self.calls = free, threading.Event(), 0

    def __call__(self, variant, request, should_stop=None):
        self.calls += 1
        if self.calls > self.free:
            assert self.gate.wait(10)
        return Completion(text=request.messages[-1]["content"], prompt_tokens=1_000_000, completion_tokens=0)


def test_a_run_counts_while_it_goes_and_is_settled_on_the_script_thread():
    workspace = Workspace()
    state = RunState(config=run_config(rows=3))
    workspace.note_run(state)
    completer = GatedCompleter(free=1)
    handle = start_run(state, completer)
    try:
        while len(state.results) < 1:
            threading.Event().wait(0.01)
        before = repr(workspace)
        live = workspace.spend().runs  # read from the run's live state, in memory
        assert live.requests == 1 and live.usd == pytest.approx(state.spent_usd) and live.usd > 0
        assert repr(workspace) == before  # reading wrote nothing
        assert workspace.run_ledger[state.id] == RunCost(PaidCost())  # noted at launch, nothing spent then
    finally:
        completer.gate.set()
        handle.thread.join(10)
    assert not handle.alive and len(state.results) == 3
    workspace.settle_runs()
    assert workspace.run_ledger[state.id] == RunCost(state.paid(), done=True)
    assert workspace.spend().runs.usd == pytest.approx(state.spent_usd)
    assert workspace.spend().total.usd == pytest.approx(state.spent_usd)


def test_a_resumed_run_is_counted_once_and_a_settled_run_is_not_read_again(monkeypatch):
    workspace = Workspace()
    state = RunState(config=run_config(rows=2))
    workspace.note_run(state)
    handle = start_run(state, GatedCompleter(free=2))
    handle.thread.join(10)
    workspace.settle_runs()
    spent = state.spent_usd
    workspace.note_run(state)  # resumed (or a double click): replaced, not added
    workspace.settle_runs()
    assert workspace.spend().runs.usd == pytest.approx(spent) and workspace.run_ledger[state.id].done
    import playground.evals.background as background

    monkeypatch.setattr(background, "live_run", lambda run_id: pytest.fail("a settled run was read again"))
    workspace.settle_runs()
    assert workspace.spend().runs.usd == pytest.approx(spent)
    assert live_run(state.id) is handle


def test_a_run_this_process_does_not_run_counts_what_was_last_settled():
    workspace = Workspace(run_ledger={"gone": RunCost(PaidCost(0.25, True, 2, 9))})  # saved before a restart
    workspace.settle_runs()  # nothing live to read: left as saved
    assert workspace.spend().runs == PaidCost(0.25, True, 2, 9)


def test_the_saved_session_keeps_the_compare_and_run_spend():
    workspace = Workspace(system_prompt="x")
    list(workspace.record_compare_replies(iter([done(0, 0.002), done(1, None, estimate=True)])))
    workspace.run_ledger["r1"] = RunCost(PaidCost(0.5, False, 0, 10), done=True)
    workspace.run_ledger["r2"] = RunCost(PaidCost(0.1, True, 1, 3), done=False)
    document = session_document_from_workspace(workspace)
    loaded = apply_session_document(document)
    assert loaded.compare_ledger == workspace.compare_ledger and loaded.run_ledger == workspace.run_ledger
    assert loaded.spend() == workspace.spend()
    assert loaded.spend().total.usd == pytest.approx(0.602)
    again = Workspace()
    again.open_session(loaded)  # opening a saved session takes its spend
    assert again.spend() == workspace.spend()
    setup = document.as_setup()  # a prompt's setup keeps no costs
    assert setup.compare_ledger == {} and setup.run_ledger == {}
    restored = Workspace()
    restored.restore_setup(loaded)  # taking a setup leaves this session's spend alone
    assert restored.compare_ledger == {} and restored.run_ledger == {}


def test_session_spend_parts_list_chat_and_what_has_requests():
    spend = SessionSpend(PaidCost(), runs=PaidCost(0.1, requests=1))
    assert [name for name, _ in spend.parts()] == ["chat", "runs"] and spend.beyond_chat
    assert spend.total == PaidCost(0.1, requests=1)


def test_the_sidebar_text_breaks_the_cost_down_and_says_what_is_estimated_or_unpriced():
    from components.meter import session_cost_text

    assert session_cost_text(SessionSpend(PaidCost(0.5, requests=2))) == "Session cost: **$0.50**"
    estimated_chat = SessionSpend(PaidCost(estimated=True))
    assert session_cost_text(estimated_chat) == "Session cost: **$0** (estimated prices)"  # as before
    spend = SessionSpend(
        PaidCost(0.5, requests=2), compare=PaidCost(0.25, True, 1, 3), runs=PaidCost(1.0, False, 0, 10)
    )
    assert session_cost_text(spend) == (
        "Session cost: **$1.75** (chat $0.50 · compare $0.25 est. · runs $1.00); "
        "1 paid request not included (no price for its model)"
    )
