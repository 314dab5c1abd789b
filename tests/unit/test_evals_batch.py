"""Batch API: the JSONL we build, result parsing (any order, error file), and status handling."""

from __future__ import annotations

import json

import pytest

from playground.errors import PlaygroundError
from playground.evals.batch import (
    BatchStatus,
    batch_lines,
    build_batch_jsonl,
    collect_batch,
    parse_batch_results,
    run_batch,
)
from playground.evals.graders import RegexGrader
from playground.evals.runs import RunConfig, RunState
from playground.evals.testsets import TestRow, TestSet
from playground.evals.variants import Variant
from playground.request import ChatParams


def make_state(model="gpt-4.1-mini") -> RunState:
    rows = [TestRow(id=f"r{i}", variables={"city": city}) for i, city in enumerate(["Paris", "Rome", "Oslo"])]
    variant = Variant(
        id="v1",
        model=model,
        system_prompt="Answer briefly.",
        messages=[{"role": "user", "content": "Capital of {{city}}?"}],
        params=ChatParams(temperature=0.2, max_completion_tokens=50),
    )
    return RunState(
        config=RunConfig(test_set=TestSet(rows=rows), variants=[variant], graders=[RegexGrader(pattern="^A")])
    )


def test_each_line_is_a_rendered_non_streaming_request_keyed_by_row():
    state = make_state()
    lines = [json.loads(line) for line in build_batch_jsonl(state, state.config.variants[0]).decode().splitlines()]
    assert [line["custom_id"] for line in lines] == ["r0", "r1", "r2"]
    first = lines[0]
    assert first["method"] == "POST" and first["url"] == "/v1/chat/completions"
    body = first["body"]
    assert body["model"] == "gpt-4.1-mini" and "stream" not in body and "stream_options" not in body
    assert body["messages"][1] == {"role": "user", "content": "Capital of Paris?"}
    assert body["temperature"] == 0.2 and body["max_completion_tokens"] == 50


def test_azure_lines_use_the_short_url_and_the_deployment_as_model():
    state = make_state(model="my-mini-batch")
    line = batch_lines(state, state.config.variants[0], azure=True)[0]
    assert line["url"] == "/chat/completions" and line["body"]["model"] == "my-mini-batch"


def test_rows_missing_a_variable_are_named_and_nothing_is_built():
    state = make_state()
    state.config.test_set.rows.append(TestRow(id="bad", variables={"town": "x"}))
    with pytest.raises(PlaygroundError, match="row bad: city"):
        build_batch_jsonl(state, state.config.variants[0])


def completion_line(custom_id, text, prompt=100, completion=10):
    body = {
        "model": "gpt-4.1-mini-2025-04-14",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }
    record = {"id": "b1", "custom_id": custom_id, "response": {"status_code": 200, "request_id": "q", "body": body}}
    return json.dumps(record, separators=(",", ":")) + "\n"


ERROR_LINE = json.dumps(
    {
        "id": "b2",
        "custom_id": "r1",
        "response": {"status_code": 429, "request_id": "q2", "body": {"error": {"message": "Too many tokens"}}},
        "error": None,
    }
)


def test_results_are_joined_by_custom_id_in_any_order_with_errors_from_the_error_file():
    items = parse_batch_results(completion_line("r2", "Oslo") + completion_line("r0", "Paris"), ERROR_LINE + "\n")
    assert items["r0"].completion.text == "Paris" and items["r2"].completion.text == "Oslo"
    assert items["r0"].completion.served_model == "gpt-4.1-mini-2025-04-14"
    assert items["r1"].completion is None and "429" in items["r1"].error and "Too many tokens" in items["r1"].error
    with pytest.raises(PlaygroundError, match="line 1 is not JSON"):
        parse_batch_results("{oops")


class ScriptedApi:
    """A BatchApi double: statuses in order, files by id."""

    def __init__(self, statuses, files):
        self.statuses, self.files, self.uploads, self.cancelled = list(statuses), files, [], []

    def upload(self, filename, data):
        self.uploads.append((filename, data))
        return "file-in"

    def _next(self):
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]

    def create(self, input_file_id, endpoint, metadata):
        self.endpoint, self.metadata = endpoint, metadata
        return self._next()

    def get(self, batch_id):
        return self._next()

    def cancel(self, batch_id):
        self.cancelled.append(batch_id)
        return self._next()

    def download(self, file_id):
        return self.files[file_id]


def status(name, output=None, error=None):
    return BatchStatus("batch_1", name, "file-in", 3, 0, 0, output, error)


def test_run_batch_polls_to_completion_and_grades_at_the_batch_price():
    state = make_state()
    api = ScriptedApi(
        [status("validating"), status("in_progress"), status("completed", "out", "err")],
        {"out": completion_line("r2", "Oslo") + completion_line("r0", "A Paris"), "err": ERROR_LINE},
    )
    seen = []
    run_batch(state, "v1", api, poll_interval_s=0, on_status=lambda job: seen.append(job.status))
    assert seen == ["validating", "in_progress", "completed"]
    assert state.status == "completed" and state.batches[0].collected
    r0, r1, r2 = (state.result(f"r{i}", "v1") for i in range(3))
    assert r0.passed and not r2.passed and r1.error and r1.outcome == "error"
    # openai_batch for gpt-4.1-mini: $0.20 in / $0.80 out per 1M
    assert r0.cost_usd == pytest.approx((100 * 0.20 + 10 * 0.80) / 1e6)
    assert api.metadata == {"run_id": state.id, "variant_id": "v1"}


def test_a_restored_run_keeps_polling_its_batch_instead_of_resubmitting():
    state = make_state()
    api = ScriptedApi([status("in_progress")], {})
    from playground.evals.batch import submit_batch

    submit_batch(state, "v1", api)
    restored = RunState.model_validate_json(state.model_dump_json())
    assert restored.batches[0].batch_id == "batch_1" and restored.batches[0].status == "in_progress"
    api.statuses = [status("completed", "out")]
    api.files = {"out": completion_line("r0", "A") + completion_line("r1", "A") + completion_line("r2", "A")}
    run_batch(restored, "v1", api, poll_interval_s=0)
    assert len(api.uploads) == 1 and restored.status == "completed"
    assert all(r.passed for r in restored.results)


def test_rows_without_a_result_are_errors_and_uncollectable_jobs_say_why():
    state = make_state()
    api = ScriptedApi([status("completed", "out")], {"out": completion_line("r0", "A")})
    run_batch(state, "v1", api, poll_interval_s=0)
    assert "no result for row r1" in state.result("r1", "v1").error
    job = state.batches[0].model_copy(update={"status": "in_progress", "collected": False})
    with pytest.raises(PlaygroundError, match="in_progress"):
        collect_batch(state, job, api)
