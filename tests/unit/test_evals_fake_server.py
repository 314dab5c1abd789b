"""End to end against the loopback fake server: the real client, the SDK and HTTP."""

from __future__ import annotations

import threading
import time

import pytest

from playground.client import PlaygroundClient
from playground.errors import PlaygroundError
from playground.evals.batch import SdkBatchApi, run_batch
from playground.evals.completion import ClientCompleter, ClientJudge
from playground.evals.graders import JudgeGrader, RegexGrader
from playground.evals.results import migration_report, summarize
from playground.evals.runs import RetryPolicy, RunConfig, RunState, run_evaluation
from playground.evals.sidebyside import stream_side_by_side, word_diff
from playground.evals.testsets import import_csv
from playground.evals.variants import Variant
from tests.fakes.server import Scenario

CSV = "id,city\n1,Paris\n2,Rome\n3,Oslo\n4,Lima\n5,Pune\n"


def five_row_state(graders=None, **config) -> RunState:
    variant = Variant(id="mini", model="gpt-4.1-mini", messages=[{"role": "user", "content": "City: {{city}}"}])
    return RunState(
        config=RunConfig(
            test_set=import_csv(CSV),
            variants=[variant],
            graders=graders or [RegexGrader(pattern=r"City: (Paris|Rome|Oslo)$")],
            **config,
        )
    )


def test_a_five_row_run_with_a_regex_grader(fake, openai_settings):
    state = five_row_state(concurrency=3)
    run_evaluation(state, ClientCompleter({"default": PlaygroundClient(openai_settings)}))
    (summary,) = summarize(state)
    assert summary.rows == 5 and summary.passed == 3 and summary.pass_rate == pytest.approx(0.6)
    assert summary.cost_usd > 0 and summary.p50_latency_s is not None
    sent = sorted(r.json["messages"][0]["content"] for r in fake.chat_requests())
    assert sent == sorted(f"City: {c}" for c in ["Paris", "Rome", "Oslo", "Lima", "Pune"])
    assert state.result("1", "mini").output == "Echo: City: Paris"


def test_the_scheduler_honours_the_servers_retry_after(fake, openai_settings):
    fake.enqueue(Scenario(fault="rate_limit", retry_after=0.3))
    state = five_row_state(concurrency=1, retry=RetryPolicy(base_backoff_s=5))
    run_evaluation(state, ClientCompleter({"default": PlaygroundClient(openai_settings)}))
    first = state.result("1", "mini")
    assert first.error is None and first.attempts == 2
    stamps = [r.timestamp for r in fake.chat_requests()]
    assert 0.3 <= stamps[1] - stamps[0] < 3  # the server's 0.3 s, not the 5 s backoff


def test_an_llm_judge_through_the_client_costs_apart(fake, openai_settings):
    client = PlaygroundClient(openai_settings)
    fake.enqueue(Scenario(text="Paris"), Scenario(text='{"verdict": "pass", "reason": "Correct."}'))
    state = five_row_state(graders=[JudgeGrader(rubric="Names the capital", model="gpt-4.1")], concurrency=1)
    state.config.test_set.rows[:] = state.config.test_set.rows[:1]
    run_evaluation(state, ClientCompleter({"default": client}), judge=ClientJudge(client))
    result = state.results[0]
    assert result.passed and result.verdicts[0].reason == "Correct."
    assert result.judge_cost_usd > 0 and result.cost_usd > 0
    judge_request = fake.chat_requests()[1].json
    assert judge_request["model"] == "gpt-4.1" and judge_request["response_format"] == {"type": "json_object"}


def test_side_by_side_streams_every_column(fake, openai_settings):
    fake.enqueue(Scenario(text="one two three", chunk_delay=0.01), Scenario(text="one 2 three", chunk_delay=0.01))
    variants = [
        Variant(id=f"v{i}", model="gpt-4.1-mini", messages=[{"role": "user", "content": "{{q}}"}]) for i in range(2)
    ]
    updates = list(
        stream_side_by_side(
            variants,
            {"q": "count"},
            ClientCompleter({"default": PlaygroundClient(openai_settings)}),
            refresh_interval_s=0,
        )
    )
    finals = {u.variant_id: u for u in updates if u.done}
    assert set(finals) == {"v0", "v1"} and {finals[v].text for v in finals} == {"one two three", "one 2 three"}
    assert all(u.completion.finish_reason == "stop" and u.cost_usd > 0 for u in finals.values())
    assert any(not u.done for u in updates)  # partial text arrived before the end
    diff = word_diff("one two three", "one 2 three")
    assert [(d.op, d.before, d.after) for d in diff] == [
        ("equal", "one ", "one "),
        ("replace", "two", "2"),
        ("equal", " three", " three"),
    ]


def test_the_same_five_rows_through_the_batch_api(fake, openai_settings):
    fake.enqueue(Scenario(), Scenario(fault="server_error"))
    state = five_row_state()
    statuses = []
    job = run_batch(
        state,
        "mini",
        SdkBatchApi(PlaygroundClient(openai_settings)),
        poll_interval_s=0,
        on_status=lambda j: statuses.append(j.status),
    )
    assert statuses == ["validating", "in_progress", "completed"]
    assert job.collected and job.completed == 4 and job.failed == 1
    (summary,) = summarize(state)
    assert summary.rows == 5 and summary.errors == 1 and summary.passed == 2
    # Priced at the batch tier: $0.20 / $0.80 per 1M for gpt-4.1-mini.
    ok = next(r for r in state.results if r.error is None)
    assert ok.cost_usd == pytest.approx((ok.prompt_tokens * 0.20 + ok.completion_tokens * 0.80) / 1e6)
    paths = [r.path for r in fake.requests]
    assert "/v1/files" in paths and "/v1/batches" in paths
    assert not fake.chat_requests()


def test_an_azure_batch_uses_the_deployment_and_the_openai_routes(fake, azure_settings):
    variant = Variant(
        id="az",
        model="my-mini",
        registry_entry="gpt-4.1-mini",
        provider="azure",
        messages=[{"role": "user", "content": "{{city}}"}],
    )
    state = RunState(
        config=RunConfig(test_set=import_csv(CSV), variants=[variant], graders=[RegexGrader(pattern="Echo")])
    )
    run_batch(state, "az", SdkBatchApi(PlaygroundClient(azure_settings)), azure=True, poll_interval_s=0)
    assert summarize(state)[0].passed == 5
    upload = next(r for r in fake.requests if r.method == "POST" and r.path.endswith("/files"))
    assert upload.path == "/openai/files" and upload.query.get("api-version") == "2024-10-21"
    create = next(r for r in fake.requests if r.method == "POST" and r.path.endswith("/batches"))
    assert create.json["endpoint"] == "/chat/completions"
    # azure_global_batch: $0.20 / $0.80
    result = state.results[0]
    assert result.cost_usd == pytest.approx((result.prompt_tokens * 0.20 + result.completion_tokens * 0.80) / 1e6)


def test_cancelling_a_batch_cancels_it_at_the_provider(fake, openai_settings):
    state = five_row_state()
    cancel = threading.Event()
    cancel.set()
    job = run_batch(state, "mini", SdkBatchApi(PlaygroundClient(openai_settings)), poll_interval_s=0.01, cancel=cancel)
    assert job.status == "cancelled" and state.status == "cancelled" and not state.results
    assert any(r.path.endswith("/cancel") for r in fake.requests)


def test_a_migration_check_against_another_model(fake, openai_settings):
    baseline = Variant(id="mini", label="gpt-4.1-mini", messages=[{"role": "user", "content": "{{city}}?"}])
    candidate = baseline.on_model("gpt-4o-mini", label="gpt-4o-mini")
    # concurrency 1 sends row by row, baseline first: the scenarios answer in that order.
    answers = ["Yes", "Yes", "Yes", "No", "No", "No"]
    fake.enqueue(*(Scenario(text=text, usage={"prompt_tokens": 1000, "completion_tokens": 100}) for text in answers))
    test_set = import_csv("city\nParis\nRome\nOslo\n")
    state = RunState(
        config=RunConfig(
            test_set=test_set, variants=[baseline, candidate], graders=[RegexGrader(pattern="^Yes")], concurrency=1
        )
    )
    run_evaluation(state, ClientCompleter({"default": PlaygroundClient(openai_settings)}))
    report = migration_report(state, "mini", candidate.id)
    assert [(c.row_id, c.before, c.after) for c in report.regressions] == [("2", "pass", "fail")]
    assert [r.json["model"] for r in fake.chat_requests()][:2] == ["gpt-4.1-mini", "gpt-4o-mini"]
    # 1000 in / 100 out: $0.00056 on gpt-4.1-mini, $0.00021 on gpt-4o-mini (-62 %).
    assert report.summary.startswith(
        "gpt-4o-mini passes 33% of 3 rows vs 67% for gpt-4.1-mini (1 worse, 0 better); cost -62%, median latency"
    )


def test_stopping_the_side_by_side_iteration_stops_every_column(fake, openai_settings):
    slow = " ".join(f"w{i}" for i in range(100))
    fake.enqueue(Scenario(text=slow, chunk_delay=0.05, repeat=3))
    variants = [Variant(id=f"v{i}", messages=[{"role": "user", "content": "go"}]) for i in range(3)]
    updates = stream_side_by_side(variants, {}, ClientCompleter({"default": PlaygroundClient(openai_settings)}))
    started = time.perf_counter()
    first = next(updates)
    assert not first.done
    updates.close()
    while any(t.name.startswith("compare-") for t in threading.enumerate()):
        assert time.perf_counter() - started < 2, "the columns kept streaming (a full reply takes 5 s)"
        time.sleep(0.02)


def test_side_by_side_takes_two_to_four_columns_and_renders_before_sending(fake, openai_settings):
    completer = ClientCompleter({"default": PlaygroundClient(openai_settings)})
    one = [Variant(id="v", messages=[{"role": "user", "content": "{{q}}"}])]
    with pytest.raises(PlaygroundError, match="2 to 4"):
        next(stream_side_by_side(one, {"q": "x"}, completer))
    with pytest.raises(PlaygroundError, match="q before sending"):
        next(stream_side_by_side(one * 2, {}, completer))
    assert not fake.chat_requests()


def test_a_column_that_fails_mid_stream_keeps_its_partial_text(fake, openai_settings):
    fake.enqueue(Scenario(text="alpha beta gamma delta", cut_after=3), Scenario(text="fine"))
    variants = [Variant(id=f"v{i}", messages=[{"role": "user", "content": "go"}]) for i in range(2)]
    completer = ClientCompleter({"default": PlaygroundClient(openai_settings)})
    finals = [u for u in stream_side_by_side(variants, {}, completer, refresh_interval_s=1) if u.done]
    failed = next(u for u in finals if u.error is not None)
    ok = next(u for u in finals if u.error is None)
    assert failed.text == "alpha beta gamma" and failed.error.kind == "stream_interrupted"
    assert ok.text == "fine"


def test_a_judge_model_with_no_price_costs_unknown_not_zero(fake, openai_settings):
    client = PlaygroundClient(openai_settings)
    fake.enqueue(Scenario(text="Paris"), Scenario(text='{"verdict": "pass", "reason": "Correct."}'))
    state = five_row_state(graders=[JudgeGrader(rubric="Names the capital", model="judge-local-7b")], concurrency=1)
    state.config.test_set.rows[:] = state.config.test_set.rows[:1]
    run_evaluation(state, ClientCompleter({"default": client}), judge=ClientJudge(client))
    result = state.results[0]
    assert result.passed and result.cost_usd > 0
    assert result.verdicts[0].cost_usd is None and result.judge_cost_usd is None and result.spent_usd is None
    assert state.paid().unpriced == 1 and state.paid().usd == pytest.approx(result.cost_usd)
