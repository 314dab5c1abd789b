"""The Compare panel's Batch API path under AppTest: the engine is chosen automatically above the
operator's threshold (or by the user), the saving is shown before the run, the 5-row regex run goes
through the fake server's Files and Batches endpoints and shows its pass rate, marked as a batch run;
a run whose thread is gone (a restart) is found in the database and Check now resumes it."""

from __future__ import annotations

import pytest

from components.batch_runs import BATCH_MARK, ENGINE_KEY
from components.compare import CompareKeys
from playground.client import PlaygroundClient
from playground.evals import RegexGrader, RunConfig, RunState, SdkBatchApi, Variant, import_csv, submit_batch
from playground.store import DATABASE_URL_VARIABLE, open_store
from tests.app.test_compare_page import CSV, compare, panel, table, wait_for_run
from tests.fakes.server import Scenario

ANSWERS = ["It is 1", "It is 2", "no idea", "It is 4", "unsure"]


@pytest.fixture
def database(tmp_path, clean_env):
    url = f"sqlite:///{tmp_path / 'compare.db'}"
    clean_env.setenv(DATABASE_URL_VARIABLE, url)
    return url


def set_up_five_rows(app) -> None:
    app.text_area(key=CompareKeys.INPUT).input("Answer: {{question}}").run()
    app.get("file_uploader")[0].set_value([("questions.csv", CSV.encode(), "text/csv")]).run()
    app.text_input(key=CompareKeys.GRADER_VALUE).input(r"\d").run()
    app.button(key=CompareKeys.ADD_GRADER).click().run()
    assert not app.exception


def engine_captions(app) -> list[str]:
    return [caption for caption in app.radio(key=ENGINE_KEY).proto.captions]


def test_choosing_the_batch_api_runs_the_test_set_as_batches_and_shows_the_pass_rate(
    app_factory, fake, database, clean_env
):
    clean_env.setenv("PLAYGROUND_BATCH_POLL_SECONDS", "0.05")
    app = compare(app_factory)
    set_up_five_rows(app)
    # 10 requests, under the default threshold of 1,000: automatic means live.
    assert "this run: 10 → live requests" in engine_captions(app)[0]
    assert any("save" in c.value and "Batch API" in c.value for c in app.caption)  # the saving, before the run
    app.radio(key=ENGINE_KEY).set_value("batch").run()
    assert app.number_input(key=CompareKeys.CONCURRENCY).disabled
    assert app.number_input(key=CompareKeys.SPEND_CAP).disabled
    fake.enqueue(*(Scenario(text=text) for _ in range(2) for text in ANSWERS))
    app.button(key=CompareKeys.RUN).click().run()
    assert not app.exception
    state = wait_for_run(panel(app).run_id)
    assert state.config.engine == "batch" and state.status == "completed", state.stop_reason
    app.run()
    assert not app.exception
    assert list(table(app, "Pass rate")["Pass rate"]) == ["60%", "60%"]
    assert any(BATCH_MARK in c.value for c in app.caption)
    assert any("completed 5/5" in p.proto.text for p in app.get("progress"))
    assert len(fake.batch_api.batches) == 2 and not fake.chat_requests()
    uploads = [r for r in fake.requests if r.method == "POST" and r.path == "/v1/files"]
    assert len(uploads) == 2
    stored = open_store(database).evals.get_run(state.id)
    assert stored.config.engine == "batch" and all(job.collected for job in stored.batches)


def test_above_the_threshold_the_batch_api_is_chosen_automatically(app_factory, fake, database, clean_env):
    clean_env.setenv("PLAYGROUND_BATCH_THRESHOLD", "10")
    clean_env.setenv("PLAYGROUND_BATCH_POLL_SECONDS", "0.05")
    app = compare(app_factory)
    set_up_five_rows(app)
    assert "this run: 10 → batch api" in engine_captions(app)[0]
    assert app.number_input(key=CompareKeys.CONCURRENCY).disabled
    app.button(key=CompareKeys.RUN).click().run()
    state = wait_for_run(panel(app).run_id)
    assert state.config.engine == "batch" and len(fake.batch_api.batches) == 2
    # The user overrides it: live requests.
    app.radio(key=ENGINE_KEY).set_value("live").run()
    app.button(key=CompareKeys.RUN).click().run()
    live = wait_for_run(panel(app).run_id)
    assert live.config.engine == "live" and len(fake.chat_requests()) == 10


def test_a_bad_setting_is_named_and_the_default_used(app_factory, fake, database, clean_env):
    clean_env.setenv("PLAYGROUND_BATCH_THRESHOLD", "lots")
    app = compare(app_factory)
    set_up_five_rows(app)
    assert any("PLAYGROUND_BATCH_THRESHOLD" in w.value for w in app.warning)
    assert "from 1,000 requests" in engine_captions(app)[0]


def test_after_a_restart_the_saved_batch_run_is_found_and_check_now_resumes_it(
    app_factory, fake, database, openai_settings, clean_env
):
    clean_env.setenv("PLAYGROUND_BATCH_POLL_SECONDS", "0.05")
    variant = Variant(id="col1", model="gpt-4.1-mini", messages=[{"role": "user", "content": "Answer: {{question}}"}])
    state = RunState(
        config=RunConfig(
            test_set=import_csv(CSV, name="questions"),
            variants=[variant],
            graders=[RegexGrader(pattern=r"\d")],
            engine="batch",
        ),
        status="running",
    )
    submit_batch(state, "col1", SdkBatchApi(PlaygroundClient(openai_settings)))
    open_store(database).evals.save_run(state)  # what the database holds when the server went down
    fake.enqueue(*(Scenario(text=text) for text in ANSWERS))
    app = compare(app_factory)
    app.selectbox(key=CompareKeys.PAST_RUN).set_value(state.id).run()
    assert not app.exception
    assert any("validating" in p.proto.text for p in app.get("progress"))
    app.button(key="run.batch_check").click().run()
    resumed = wait_for_run(state.id)
    assert resumed.status == "completed" and len(fake.batch_api.batches) == 1  # polled, not resubmitted
    app.run()
    assert list(table(app, "Pass rate")["Pass rate"]) == ["60%"]


def test_earlier_runs_say_which_went_through_the_batch_api_and_their_size(app_factory, fake, database):
    variants = [
        Variant(id=f"col{i}", model="gpt-4.1-mini", messages=[{"role": "user", "content": "Answer: {{question}}"}])
        for i in (1, 2)
    ]
    test_set = import_csv(CSV, name="questions")
    store = open_store(database)
    batch = RunState(config=RunConfig(test_set=test_set, variants=variants[:1], engine="batch"), status="completed")
    live = RunState(config=RunConfig(test_set=test_set, variants=variants), status="spend_cap")
    store.evals.save_run(batch)
    store.evals.save_run(live)
    app = compare(app_factory)
    labels = app.selectbox(key=CompareKeys.PAST_RUN).options
    assert labels[0] == "…"
    assert any(label.startswith("questions · Batch API · 5 rows × 1 variant · completed · ") for label in labels)
    assert any(label.startswith("questions · live · 5 rows × 2 variants · spend cap · ") for label in labels)
