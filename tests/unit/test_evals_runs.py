"""The run scheduler: concurrency limit, retries honouring retry-after, cancel, spend cap, resume,
and the results built on it (summaries, failing first, comparisons, migration check, export)."""

from __future__ import annotations

import csv
import io
import json
import threading
import time

import pytest

from playground.errors import ErrorKind, PlaygroundError
from playground.evals.completion import Completion, StoppedError
from playground.evals.graders import ContainsGrader, RegexGrader
from playground.evals.results import (
    compare_runs,
    export_csv,
    export_json,
    failing_first,
    migration_report,
    percentile,
    summarize,
)
from playground.evals.runs import RetryPolicy, RunConfig, RunState, retry_after_s, run_evaluation
from playground.evals.testsets import TestRow, TestSet
from playground.evals.variants import Variant


def make_state(rows=5, variants=("a",), graders=None, **config) -> RunState:
    test_set = TestSet(rows=[TestRow(id=str(i), variables={"n": str(i)}) for i in range(rows)])
    return RunState(
        config=RunConfig(
            test_set=test_set,
            variants=[
                Variant(id=v, model="gpt-4.1-mini", messages=[{"role": "user", "content": "n={{n}}"}]) for v in variants
            ],
            graders=graders if graders is not None else [RegexGrader(pattern=r"n=[0-2]$")],
            **config,
        )
    )


class FakeCompleter:
    """Answers "n=<n>" after ``delay``; tracks how many calls run at once; can fail scripted calls."""

    def __init__(self, delay=0.0, failures=None, tokens=(1000, 100)):
        self.delay, self.failures, self.tokens = delay, list(failures or []), tokens
        self.lock = threading.Lock()
        self.running = self.peak = self.calls = 0
        self.call_times: list[float] = []

    def __call__(self, variant, request, should_stop=None):
        with self.lock:
            self.calls += 1
            self.call_times.append(time.monotonic())
            self.running += 1
            self.peak = max(self.peak, self.running)
            failure = self.failures.pop(0) if self.failures else None
        try:
            deadline = time.monotonic() + self.delay
            while time.monotonic() < deadline:
                if should_stop is not None and should_stop():
                    raise StoppedError
                time.sleep(0.005)
            if failure is not None:
                raise failure
            text = request.messages[-1]["content"]
            return Completion(text=text, prompt_tokens=self.tokens[0], completion_tokens=self.tokens[1], latency_s=0.1)
        finally:
            with self.lock:
                self.running -= 1


def rate_limited(after="0.2"):
    return PlaygroundError(
        ErrorKind.RATE_LIMIT, "slow down", status=429, retryable=True, details={"retry_after": after}
    )


def test_runs_every_row_and_variant_within_the_concurrency_limit():
    state = make_state(rows=12, variants=("a", "b"), concurrency=3)
    completer = FakeCompleter(delay=0.03)
    progress = []
    run_evaluation(state, completer, on_progress=progress.append)
    assert state.status == "completed" and len(state.results) == 24
    assert completer.peak == 3
    assert [p.done for p in progress] == list(range(1, 25))
    assert progress[-1].eta_s == 0 and progress[0].eta_s > 0
    # gpt-4.1-mini standard: 1000 in x $0.40 + 100 out x $1.60 per 1M
    assert progress[-1].spent_usd == pytest.approx(24 * 0.00056)
    summary = {s.variant_id: s for s in summarize(state)}
    assert summary["a"].passed == 3 and summary["a"].pass_rate == pytest.approx(3 / 12)


def test_a_429_waits_as_long_as_retry_after_says_then_succeeds():
    state = make_state(rows=1, concurrency=1)
    completer = FakeCompleter(failures=[rate_limited("0.3")])
    run_evaluation(state, completer)
    result = state.results[0]
    assert result.error is None and result.attempts == 2
    assert completer.call_times[1] - completer.call_times[0] >= 0.3


def test_retry_policy_reads_seconds_and_dates_and_falls_back_to_backoff():
    policy = RetryPolicy(base_backoff_s=0.5, max_wait_s=10)
    assert policy.wait_s(rate_limited("2"), 1) == 2
    assert policy.wait_s(rate_limited("999"), 1) == 10
    assert policy.wait_s(rate_limited(None), 3) == 2.0
    assert retry_after_s(rate_limited("Wed, 21 Oct 2015 07:28:00 GMT")) == 0.0


def test_errors_that_retrying_cannot_fix_are_recorded_at_once():
    quota = PlaygroundError(ErrorKind.QUOTA, "no credit", status=429)
    state = make_state(rows=2, concurrency=1)
    completer = FakeCompleter(failures=[quota])
    run_evaluation(state, completer)
    failed = state.result("0", "a")
    assert failed.error == "no credit" and failed.attempts == 1 and failed.outcome == "error"
    assert state.result("1", "a").error is None
    assert failing_first(state.results)[0].row_id == "0"


def test_gives_up_after_max_attempts():
    state = make_state(rows=1, concurrency=1, retry=RetryPolicy(max_attempts=2, base_backoff_s=0))
    run_evaluation(state, FakeCompleter(failures=[rate_limited(""), rate_limited("")]))
    assert state.results[0].error_kind == "rate_limit" and state.results[0].attempts == 2


def test_a_missing_variable_is_an_error_row_and_nothing_is_sent():
    state = make_state(rows=1)
    state.config.variants[0].messages = [{"role": "user", "content": "{{absent}}"}]
    completer = FakeCompleter()
    run_evaluation(state, completer)
    assert completer.calls == 0 and "absent" in state.results[0].error


def test_cancel_stops_in_flight_and_queued_rows_and_resume_finishes_the_rest():
    state = make_state(rows=20, concurrency=2)
    cancel = threading.Event()

    def on_progress(progress):
        if progress.done == 3:
            cancel.set()

    completer = FakeCompleter(delay=0.05)
    run_evaluation(state, completer, on_progress=on_progress, cancel=cancel)
    assert state.status == "cancelled"
    done_first = {r.row_id for r in state.results}
    assert 3 <= len(done_first) <= 5 and completer.calls <= 6

    restored = RunState.model_validate_json(state.model_dump_json())
    second = FakeCompleter()
    run_evaluation(restored, second)
    assert restored.status == "completed" and len(restored.results) == 20
    assert second.calls == 20 - len(done_first)


def test_resume_retries_rows_that_errored():
    state = make_state(rows=3, concurrency=1)
    run_evaluation(state, FakeCompleter(failures=[PlaygroundError(ErrorKind.BAD_REQUEST, "bad")]))
    assert sum(r.error is not None for r in state.results) == 1
    second = FakeCompleter()
    run_evaluation(state, second)
    assert second.calls == 1 and len(state.results) == 3 and all(r.error is None for r in state.results)


def test_the_spend_cap_stops_the_run():
    # Each reply costs $0.00056; a cap of $0.002 is reached at the 4th reply.
    state = make_state(rows=50, concurrency=2, spend_cap_usd=0.002)
    completer = FakeCompleter(delay=0.01)
    run_evaluation(state, completer)
    assert state.status == "spend_cap" and "spend cap" in state.stop_reason
    assert 4 <= len(state.results) <= 6
    # Resuming a capped run does nothing: the cap is already spent.
    again = FakeCompleter()
    run_evaluation(state, again)
    assert again.calls == 0 and state.status == "spend_cap"


def test_compare_runs_and_migration_report():
    state = make_state(rows=4, variants=("mini", "other"), graders=[ContainsGrader(value="n=1")])
    state.config.variants[1].model = "gpt-4.1"
    state.config.variants[1].messages = [{"role": "user", "content": "n={{n}}{% if n == '1' %}x{% endif %}"}]
    state.config.variants[1].label = "GPT-4.1"
    state.config.graders = [RegexGrader(pattern=r"n=[01]$")]
    run_evaluation(state, FakeCompleter())
    report = migration_report(state, "mini", "other")
    assert [(c.row_id, c.before, c.after) for c in report.changes] == [("1", "pass", "fail")]
    assert len(report.regressions) == 1
    assert report.summary.startswith("GPT-4.1 passes 25% of 4 rows vs 50% for mini (1 worse, 0 better); cost +400%")

    rerun = RunState.model_validate_json(state.model_dump_json())
    rerun.results = [r.model_copy(update={"passed": False}) if r.row_id == "0" else r for r in rerun.results]
    assert [c.row_id for c in compare_runs(state, rerun)] == ["0"]


def test_exports_and_percentiles():
    state = make_state(rows=3)
    run_evaluation(state, FakeCompleter())
    rows = list(csv.DictReader(io.StringIO(export_csv(state))))
    by_row = {r["row_id"]: r for r in rows}
    assert sorted(by_row) == ["0", "1", "2"]
    assert by_row["1"]["n"] == "1" and by_row["1"]["output"] == "n=1" and by_row["1"]["regex"].startswith("pass:")
    assert by_row["1"]["cost_usd"] == "0.00056000"
    payload = json.loads(export_json(state))
    assert payload["summaries"][0]["pass_rate"] == 1.0 and len(payload["results"]) == 3
    assert percentile([1, 2, 3, 4], 0.5) == 2.5 and percentile([], 0.5) is None and percentile([7], 0.95) == 7


def test_a_model_the_registry_does_not_know_has_unknown_cost_unless_pinned():
    state = make_state(rows=2, variants=("mini", "local"))
    state.config.variants[1].model = "llama-local-7b"
    run_evaluation(state, FakeCompleter())
    summaries = {s.variant_id: s for s in summarize(state)}
    assert summaries["local"].cost_usd is None and summaries["mini"].cost_usd == pytest.approx(2 * 0.00056)
    assert "cost unknown" in migration_report(state, "mini", "local").summary
    state.config.variants[1].registry_entry = "gpt-4.1-nano"
    cost, estimate = state.config.variants[1].cost(1_000_000, 0)
    assert cost == pytest.approx(0.10) and estimate


def test_csv_export_quotes_text_that_a_spreadsheet_would_run():
    state = make_state(rows=1, graders=[])
    state.config.variants[0].messages = [{"role": "user", "content": '=HYPERLINK("http://x")'}]
    run_evaluation(state, FakeCompleter())
    (row,) = csv.DictReader(io.StringIO(export_csv(state)))
    assert row["output"] == '\'=HYPERLINK("http://x")' and row["prompt_tokens"] == "1000"


def test_a_bug_in_one_row_is_an_error_row_not_a_crashed_run():
    state = make_state(rows=3, concurrency=1)
    run_evaluation(state, FakeCompleter(failures=[ZeroDivisionError("boom")]))
    assert state.status == "completed" and "ZeroDivisionError" in state.result("0", "a").error
    assert state.result("1", "a").error is None


def test_a_run_with_every_grader_kind_survives_a_json_round_trip():
    from playground.evals.graders import GRADERS

    graders = GRADERS.validate_python(
        [
            {"kind": "json_schema", "schema": {"type": "object"}},
            {"kind": "field_equals", "pointer": "/a", "value": 1, "tolerance": 0.5},
            {"kind": "llm_judge", "rubric": "ok"},
            {"kind": "latency", "max_s": 1},
        ]
    )
    state = make_state(rows=1, graders=graders)
    restored = RunState.model_validate_json(state.model_dump_json())
    assert restored.config.graders == graders and restored == state


class PricedJudge:
    """A judge double that passes every row at ``cost_usd`` (None: its model has no price)."""

    def __init__(self, cost_usd):
        self.cost_usd = cost_usd

    def __call__(self, model, messages):
        from playground.evals.graders import JudgeReply

        return JudgeReply(text='{"verdict": "pass", "reason": "ok"}', cost_usd=self.cost_usd)


def test_an_unpriced_judge_costs_unknown_never_zero():
    from playground.evals.graders import JudgeGrader

    state = make_state(rows=2, graders=[JudgeGrader(rubric="ok", model="judge-local")])
    run_evaluation(state, FakeCompleter(), judge=PricedJudge(None))
    assert all(r.passed and r.judge_cost_usd is None and r.spent_usd is None for r in state.results)
    assert state.spent_usd is None and state.judge_spent_usd is None
    paid = state.paid()  # the replies are priced; each judgement is counted apart, unpriced
    assert paid.usd == pytest.approx(2 * 0.00056) and paid.unpriced == 2 and paid.requests == 4
    (summary,) = summarize(state)
    assert summary.judge_cost_usd is None and summary.cost_usd == pytest.approx(2 * 0.00056)
    (row, _) = csv.DictReader(io.StringIO(export_csv(state)))
    assert row["judge_cost_usd"] == ""
    # A priced judge adds its cost, and a run stored before (judge cost 0.0) still loads as $0.
    priced = make_state(rows=2, graders=[JudgeGrader(rubric="ok")])
    run_evaluation(priced, FakeCompleter(), judge=PricedJudge(0.001))
    assert priced.spent_usd == pytest.approx(2 * (0.00056 + 0.001)) and priced.paid().unpriced == 0
    stored = json.loads(priced.model_dump_json())
    for result in stored["results"]:
        result["judge_cost_usd"] = 0.0
    old = RunState.model_validate(stored)
    assert old.judge_spent_usd == 0.0 and old.spent_usd == pytest.approx(2 * 0.00056)


def test_the_spend_cap_counts_the_priced_part_of_a_run_with_an_unpriced_judge():
    from playground.evals.graders import JudgeGrader

    state = make_state(rows=50, concurrency=1, spend_cap_usd=0.002, graders=[JudgeGrader(rubric="ok")])
    run_evaluation(state, FakeCompleter(), judge=PricedJudge(None))
    assert state.status == "spend_cap" and len(state.results) == 4
    assert "$0.0022 of $0.0020" in state.stop_reason


def test_a_spend_cap_refuses_a_run_it_cannot_count():
    from playground.evals.graders import JudgeGrader
    from playground.evals.runs import check_spend_cap

    state = make_state(rows=2, variants=("mini", "local"), spend_cap_usd=1.0)
    state.config.variants[1].model = "llama-local-7b"
    state.config.variants[1].label = "2: Current setup · llama-local-7b"
    with pytest.raises(PlaygroundError, match="Not started") as refused:
        check_spend_cap(state.config)
    message = refused.value.message
    assert "2: Current setup · llama-local-7b" in message and "mini" not in message
    assert "Prices and limits from" in message and "clear the spend cap" in message and "judge" not in message
    check_spend_cap(state.config.model_copy(update={"spend_cap_usd": None}))  # no cap: nothing to protect
    check_spend_cap(state.config.model_copy(update={"spend_cap_usd": None, "engine": "batch"}))
    state.config.variants[1].registry_entry = "gpt-4.1-nano"  # priced (an estimate): the cap counts it
    check_spend_cap(state.config)
    state.config.graders = [JudgeGrader(rubric="ok", model="judge-local"), JudgeGrader(rubric="ok")]
    with pytest.raises(PlaygroundError, match="the judge model judge-local") as judged:
        check_spend_cap(state.config)
    assert "gpt-4.1-mini" not in judged.value.message
    assert "give the LLM judge a model with a price" in judged.value.message
    assert "Prices and limits from" not in judged.value.message  # no column to fix: only the judge
