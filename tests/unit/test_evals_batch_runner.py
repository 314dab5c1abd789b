"""The background Batch API runner against the loopback fake server (real SDK, real HTTP): one batch
per variant, polled to completion, saved on every status change, cancelled at the provider, and
resumed after a "restart" by polling the saved batch ids (nothing resubmitted). Plus its settings
and the saving estimate shown before a run."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr

from playground.client import PlaygroundClient
from playground.errors import PlaygroundError
from playground.evals.background import BatchRoute, RunHandle, drive_batches, live_run, start_batch_run
from playground.evals.batch import SdkBatchApi, submit_batch
from playground.evals.batch_plan import BatchSettings, estimate_batch_saving, load_batch_settings
from playground.evals.graders import RegexGrader
from playground.evals.results import summarize
from playground.evals.runs import RunConfig, RunState
from playground.evals.testsets import import_csv
from playground.evals.variants import Variant
from tests.fakes.server import Scenario

CSV = "id,question\n" + "".join(f"r{i},question {i}\n" for i in range(1, 6))
ANSWERS = ["It is 1", "It is 2", "no idea", "It is 4", "unsure"]


def two_variant_state() -> RunState:
    base = Variant(id="mini", model="gpt-4.1-mini", messages=[{"role": "user", "content": "Answer: {{question}}"}])
    return RunState(
        config=RunConfig(
            test_set=import_csv(CSV),
            variants=[base, base.on_model("gpt-4.1-nano")],
            graders=[RegexGrader(pattern=r"\d")],
            engine="batch",
        )
    )


class Saves:
    """A ``save`` that keeps a JSON copy of each state it is given (as the database would)."""

    def __init__(self) -> None:
        self.copies: list[RunState] = []

    def __call__(self, state: RunState) -> None:
        self.copies.append(RunState.model_validate_json(state.model_dump_json()))

    def statuses(self, variant_id: str) -> list[str]:
        seen: list[str] = []
        for copy in self.copies:
            job = next((job for job in copy.batches if job.variant_id == variant_id), None)
            if job is not None and (not seen or seen[-1] != job.status):
                seen.append(job.status)
        return seen


def api(settings) -> SdkBatchApi:
    return SdkBatchApi(PlaygroundClient(settings))


def batch_posts(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path == "/v1/batches"]


def wait_until_done(handle: RunHandle, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while handle.alive:
        assert time.monotonic() < deadline, "the batch run did not end"
        time.sleep(0.02)


def test_one_batch_per_variant_polled_to_completion_graded_at_the_batch_tier(fake, openai_settings):
    fake.enqueue(*(Scenario(text=text) for _ in range(2) for text in ANSWERS))
    state, saves = two_variant_state(), Saves()
    handle = start_batch_run(state, api(openai_settings), save=saves, poll_interval_s=0.01)
    wait_until_done(handle)
    assert handle.error is None and state.status == "completed" and state.finished_at is not None
    assert [summary.pass_rate for summary in summarize(state)] == [0.6, 0.6]
    assert [job.variant_id for job in state.batches] == ["mini", "mini@gpt-4.1-nano"]
    assert all(job.collected and job.completed == 5 for job in state.batches)
    uploads = [r for r in fake.requests if r.method == "POST" and r.path == "/v1/files"]
    assert len(uploads) == 2 and len(batch_posts(fake)) == 2 and not fake.chat_requests()
    # Saved on every status change: each variant's batch seen validating, then in progress, then completed.
    assert saves.statuses("mini") == ["validating", "in_progress", "completed"]
    assert saves.copies[-1].status == "completed" and len(saves.copies[-1].results) == 10
    nano = next(r for r in state.results if r.variant_id == "mini@gpt-4.1-nano" and r.error is None)
    # gpt-4.1-nano's batch tier (models.toml): $0.05 / $0.20 per 1M.
    assert nano.cost_usd == pytest.approx((nano.prompt_tokens * 0.05 + nano.completion_tokens * 0.20) / 1e6)
    assert live_run(state.id) is handle


def submitted(state: RunState, settings) -> RunState:
    """``state`` with a batch submitted per variant, as saved (a server restart loses the thread)."""
    for variant in state.config.variants:
        submit_batch(state, variant.id, api(settings))
    return RunState.model_validate_json(state.model_dump_json())


def test_cancel_cancels_every_batch_at_the_provider(fake, openai_settings):
    state, saves = submitted(two_variant_state(), openai_settings), Saves()
    handle = RunHandle(state)
    handle.cancel.set()
    drive_batches(handle, api(openai_settings), save=saves, poll_interval_s=0.01)
    cancels = sorted(r.path for r in fake.requests if r.path.endswith("/cancel"))
    assert cancels == sorted(f"/v1/batches/{job.batch_id}/cancel" for job in state.batches)
    assert all(job.status == "cancelled" for job in state.batches)
    assert state.status == "cancelled" and "Cancelled at the provider" in (state.stop_reason or "")
    assert saves.copies[-1].status == "cancelled" and not state.results


def test_cancel_while_polling_stops_a_running_thread(fake, openai_settings):
    state = two_variant_state()
    handle = start_batch_run(state, api(openai_settings), poll_interval_s=30)
    deadline = time.monotonic() + 5
    while len(state.batches) < 2 or state.batches[-1].status == "validating":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    handle.cancel.set()  # wakes the 30 s pause at once
    wait_until_done(handle, timeout=5)
    assert state.status == "cancelled" and any(r.path.endswith("/cancel") for r in fake.requests)


def test_a_resumed_run_polls_its_saved_batches_and_never_resubmits(fake, openai_settings):
    fake.enqueue(*(Scenario(text=text) for _ in range(2) for text in ANSWERS))
    restored, saves = submitted(two_variant_state(), openai_settings), Saves()
    assert len(batch_posts(fake)) == 2
    handle = start_batch_run(restored, api(openai_settings), save=saves, poll_interval_s=0.01)
    wait_until_done(handle)
    assert len(batch_posts(fake)) == 2, "a resume must not submit again"
    assert restored.status == "completed" and [s.pass_rate for s in summarize(restored)] == [0.6, 0.6]
    polled = {r.path for r in fake.requests if r.method == "GET" and r.path.startswith("/v1/batches/")}
    assert polled == {f"/v1/batches/{job.batch_id}" for job in restored.batches}
    assert saves.statuses("mini") == ["validating", "in_progress", "completed"]


def test_wake_checks_at_once_instead_of_waiting_the_interval(fake, openai_settings):
    state = two_variant_state()
    handle = start_batch_run(state, api(openai_settings), poll_interval_s=600)
    deadline = time.monotonic() + 5
    while not (len(state.batches) == 2 and all(job.status == "in_progress" for job in state.batches)):
        assert time.monotonic() < deadline, "the first check did not happen"
        time.sleep(0.02)
    handle.wake.set()  # "Check now"
    wait_until_done(handle, timeout=5)
    assert state.status == "completed" and handle.checked_at is not None


def test_a_failed_submission_cancels_what_was_sent_and_says_why(fake, openai_settings):
    state = two_variant_state()
    state.config.variants[1].messages = [{"role": "user", "content": "{{missing}}"}]
    drive_batches(RunHandle(state), api(openai_settings), poll_interval_s=0.01)
    assert state.status == "cancelled" and "was not submitted" in (state.stop_reason or "")
    assert "missing" in (state.stop_reason or "")
    assert len(batch_posts(fake)) == 1 and any(r.path.endswith("/cancel") for r in fake.requests)


def test_an_auth_failure_while_polling_leaves_the_run_resumable(fake, openai_settings):
    state = submitted(two_variant_state(), openai_settings)
    fake.api_key = openai_settings.api_key.get_secret_value()  # the fake now checks keys (reset undoes it)
    wrong = openai_settings.model_copy(update={"api_key": SecretStr("sk-wrong-key-000000")})
    drive_batches(RunHandle(state), api(wrong), poll_interval_s=0.01)
    assert state.status == "running" and "Check now tries again" in (state.stop_reason or "")
    assert all(job.status == "validating" for job in state.batches)


def test_settings_come_from_secrets_then_the_environment():
    assert load_batch_settings({}) == BatchSettings(threshold=1_000, poll_interval_s=30.0)
    env = {"PLAYGROUND_BATCH_THRESHOLD": "50", "PLAYGROUND_BATCH_POLL_SECONDS": "0.5"}
    assert load_batch_settings(env) == BatchSettings(threshold=50, poll_interval_s=0.5)
    assert load_batch_settings(env, {"batch": {"threshold": 7}}).threshold == 7
    with pytest.raises(PlaygroundError, match="PLAYGROUND_BATCH_THRESHOLD"):
        load_batch_settings({"PLAYGROUND_BATCH_THRESHOLD": "many"})
    with pytest.raises(PlaygroundError, match="PLAYGROUND_BATCH_POLL_SECONDS"):
        load_batch_settings({"PLAYGROUND_BATCH_POLL_SECONDS": "0"})
    settings = BatchSettings(threshold=10)
    assert settings.engine_for(9) == "live" and settings.engine_for(10) == "batch"


def test_the_saving_estimate_counts_prompts_at_both_tiers():
    state = two_variant_state()
    saving = estimate_batch_saving(state.config.test_set, state.config.variants)
    assert saving is not None and saving.requests == 10 and not saving.sampled and saving.prompt_tokens > 0
    # gpt-4.1-mini input $0.40 -> $0.20, gpt-4.1-nano $0.10 -> $0.05: half off either way.
    assert saving.saving_fraction == pytest.approx(0.5)
    assert saving.live_input_usd == pytest.approx(2 * saving.batch_input_usd)
    sampled = estimate_batch_saving(state.config.test_set, state.config.variants, sample_rows=2)
    assert sampled is not None and sampled.sampled
    assert sampled.prompt_tokens == pytest.approx(saving.prompt_tokens, rel=0.2)
    unknown = [Variant(id="x", model="my-local-model", messages=[{"role": "user", "content": "hi"}])]
    assert estimate_batch_saving(state.config.test_set, unknown) is None


def test_providers_say_what_to_know_before_a_batch(azure_settings, openai_settings):
    from playground.connection import ConnectionSettings
    from playground.providers import provider_for

    assert provider_for(ConnectionSettings(provider="openai")).batch_note() is None
    assert "/batches" in (provider_for(openai_settings).batch_note() or "")  # a compatible server may lack it
    standard = provider_for(azure_settings.model_copy(update={"azure_deployment_type": "global_standard"}))
    assert "Global Batch" in (standard.batch_note() or "") and "Global Standard" in (standard.batch_note() or "")
    batch = provider_for(azure_settings.model_copy(update={"azure_deployment_type": "batch"}))
    assert batch.batch_note() is None and batch.is_azure


class Recording:
    """A BatchApi that notes which calls reached it, then makes them through the real one."""

    def __init__(self, inner: SdkBatchApi) -> None:
        self.inner, self.calls = inner, []

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def call(*args, **kwargs):
            self.calls.append(name)
            return method(*args, **kwargs)

        return call


def test_each_variants_batch_goes_through_its_own_connection(fake, openai_settings):
    fake.enqueue(*(Scenario(text=text) for _ in range(2) for text in ANSWERS))
    state = two_variant_state()
    state.config.variants[1].connection = "eu"
    default, eu = Recording(api(openai_settings)), Recording(api(openai_settings))
    handle = start_batch_run(state, default, routes={"eu": BatchRoute(eu)}, poll_interval_s=0.01)
    wait_until_done(handle)
    assert state.status == "completed" and len(state.results) == 10
    # One upload and one batch each; every poll and download of a batch went where it was created.
    for recorded in (default, eu):
        assert recorded.calls.count("upload") == 1 and recorded.calls.count("create") == 1
        assert recorded.calls.count("get") >= 2 and recorded.calls.count("download") == 1
