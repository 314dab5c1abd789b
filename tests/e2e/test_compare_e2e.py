"""The Compare panel in Chromium: two variants answer one input side by side; a 5-row test set with
a regex grader runs (on its own thread, its progress redrawn by a fragment) and shows its pass rate;
the same run through the Batch API (the fake server's Files and Batches endpoints), and a batch run
found again after a server restart, where Check now goes on polling the batches it had submitted."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from components.batch_runs import BATCH_MARK, ENGINE_KEY
from components.compare import CompareKeys
from components.meter import MeterKeys
from tests.e2e.conftest import AppProcess
from tests.e2e.helpers import by_key, open_app, wait_for_app_idle
from tests.fakes.server import FakeOpenAIServer, Scenario

CAPTION = "[data-testid=stCaptionContainer]"
METRIC = "[data-testid=stMetric]"
CSV = "id,question\n" + "".join(f"r{i},question {i}\n" for i in range(1, 6))


def open_compare(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    page.get_by_role("link", name="Compare & evaluate", exact=True).click()
    wait_for_app_idle(page, expect=page.get_by_role("heading", name="Compare & evaluate"))


def type_input(page: Page, text: str) -> None:
    box = by_key(page, CompareKeys.INPUT).locator("textarea")
    box.fill(text)
    box.press("Control+Enter")
    wait_for_app_idle(page)


def import_five_rows_with_a_regex_grader(page: Page, tmp_path: Path) -> None:
    """On the Test sets & runs tab: the 5-row CSV imported and a regex grader (a digit) added."""
    csv = tmp_path / "questions.csv"
    csv.write_text(CSV)
    by_key(page, CompareKeys.UPLOAD).locator("input[type=file]").set_input_files(str(csv))
    wait_for_app_idle(page, expect=page.get_by_text("Imported 5 rows from questions.csv."))
    pattern = by_key(page, CompareKeys.GRADER_VALUE).locator("input")
    pattern.fill(r"\d")
    pattern.press("Enter")
    wait_for_app_idle(page)
    by_key(page, CompareKeys.ADD_GRADER).get_by_role("button").click()
    wait_for_app_idle(page, expect=page.get_by_text("Regex matches:"))


def choose_batch(page: Page) -> None:
    by_key(page, ENGINE_KEY).get_by_text("Batch API", exact=True).click()
    wait_for_app_idle(page)
    expect(by_key(page, CompareKeys.CONCURRENCY).locator("input")).to_be_disabled()


def test_two_variants_answer_one_input(page: Page, app_url: str, fake: FakeOpenAIServer) -> None:
    fake.enqueue(Scenario(text="Refunds take five days.", chunks=4), Scenario(text="Refunds take ten days.", chunks=4))
    open_compare(page, app_url)
    type_input(page, "How long do refunds take?")
    by_key(page, CompareKeys.SEND).get_by_role("button").click()
    stats = page.locator(CAPTION, has_text="finish: stop")
    wait_for_app_idle(page, expect=stats.nth(1))
    expect(page.get_by_text("Refunds take five days.")).to_be_visible()
    expect(page.get_by_text("Refunds take ten days.")).to_be_visible()
    expect(page.get_by_role("heading", name="Word diff")).to_be_visible()
    assert len(fake.chat_requests()) == 2
    # The two replies count in the session's cost, shown apart from the chat's; a reload keeps it.
    cost = page.locator(CAPTION, has_text="Session cost")
    expect(cost).to_have_text(re.compile(r"^Session cost: \$[0-9.]+ \(chat \$0 · compare \$[0-9.]+\)$"))
    shown = cost.inner_text()
    page.reload()
    wait_for_app_idle(page, expect=page.get_by_role("heading", name="Compare & evaluate"))
    expect(by_key(page, MeterKeys.LIVE).locator(CAPTION, has_text="Session cost")).to_have_text(shown)


def test_a_five_row_test_set_with_a_regex_grader_shows_the_pass_rate(
    page: Page, app_url: str, fake: FakeOpenAIServer, tmp_path: Path
) -> None:
    answers = ["It is 1", "It is 2", "no idea", "It is 4", "unsure"]
    fake.enqueue(*(Scenario(text=text) for text in answers for _ in range(2)))
    open_compare(page, app_url)
    type_input(page, "Answer: {{question}}")
    page.get_by_role("tab", name="Test sets & runs").click()
    import_five_rows_with_a_regex_grader(page, tmp_path)
    concurrency = by_key(page, CompareKeys.CONCURRENCY).locator("input")
    concurrency.fill("1")
    concurrency.press("Enter")
    wait_for_app_idle(page)
    by_key(page, CompareKeys.RUN).get_by_role("button").click()
    metrics = page.locator(METRIC, has_text="60%")
    expect(metrics.nth(1)).to_be_visible(timeout=30_000)
    wait_for_app_idle(page)
    assert len(fake.chat_requests()) == 10
    expect(page.locator(CAPTION, has_text="Session cost")).to_contain_text(re.compile(r"\(chat \$0 · runs \$[0-9.]+\)"))


def open_parameters(page: Page, column: int) -> None:
    page.get_by_role("button", name="Parameters").nth(column).click()
    wait_for_app_idle(page, expect=by_key(page, CompareKeys.param("seed", column)))


def set_number(page: Page, key: str, value: str) -> None:
    box = by_key(page, key).locator("input")
    box.fill(value)
    box.press("Enter")
    wait_for_app_idle(page)


def test_two_columns_with_their_own_models_and_parameters_and_an_unknown_models_cost(
    page: Page, app_url: str, fake: FakeOpenAIServer
) -> None:
    """Column 1: gpt-4.1-nano, seed 11, temperature lowered by two steps; column 2: a model the
    registry does not know (typed in), seed 22, 300 max tokens: its cost is unknown, not $0."""
    open_compare(page, app_url)
    model = by_key(page, CompareKeys.column("model", 0))
    model.locator("input").fill("gpt-4.1-nano")
    model.locator("input").press("Enter")
    wait_for_app_idle(page)
    other = by_key(page, CompareKeys.column("model", 1))
    other.locator("input").fill("mystery-9")
    other.locator("input").press("Enter")
    wait_for_app_idle(page, expect=page.get_by_text("mystery-9 is not in the registry"))
    open_parameters(page, 0)
    set_number(page, CompareKeys.param("seed", 0), "11")
    thumb = by_key(page, CompareKeys.param("temperature", 0)).get_by_role("slider")
    thumb.press("ArrowLeft")
    thumb.press("ArrowLeft")
    wait_for_app_idle(page)
    page.keyboard.press("Escape")
    open_parameters(page, 1)
    set_number(page, CompareKeys.param("seed", 1), "22")
    set_number(page, CompareKeys.param("max_completion_tokens", 1), "300")
    page.keyboard.press("Escape")
    wait_for_app_idle(page)
    type_input(page, "Pick a colour.")
    by_key(page, CompareKeys.SEND).get_by_role("button").click()
    stats = page.locator(CAPTION, has_text="finish: stop")
    wait_for_app_idle(page, expect=stats.nth(1))
    expect(page.locator(CAPTION, has_text="cost unknown")).to_have_count(1)
    by_model = {request.json["model"]: request.json for request in fake.chat_requests()}
    assert set(by_model) == {"gpt-4.1-nano", "mystery-9"}
    nano, mystery = by_model["gpt-4.1-nano"], by_model["mystery-9"]
    assert nano["seed"] == 11 and nano["temperature"] == 0.9 and "max_completion_tokens" not in nano
    assert mystery["seed"] == 22 and mystery["max_completion_tokens"] == 300 and "temperature" not in mystery
    assert all(body["messages"][-1]["content"] == "Pick a colour." for body in by_model.values())


def test_the_same_run_through_the_batch_api_shows_the_pass_rate(
    page: Page, app_url: str, fake: FakeOpenAIServer, tmp_path: Path
) -> None:
    answers = ["It is 1", "It is 2", "no idea", "It is 4", "unsure"]
    fake.enqueue(*(Scenario(text=text) for _ in range(2) for text in answers))  # batch by batch, row by row
    open_compare(page, app_url)
    type_input(page, "Answer: {{question}}")
    page.get_by_role("tab", name="Test sets & runs").click()
    import_five_rows_with_a_regex_grader(page, tmp_path)
    expect(page.locator(CAPTION, has_text="on the Batch API: you save")).to_be_visible()
    choose_batch(page)
    by_key(page, CompareKeys.RUN).get_by_role("button").click()
    metrics = page.locator(METRIC, has_text="60%")
    expect(metrics.nth(1)).to_be_visible(timeout=30_000)
    wait_for_app_idle(page)
    expect(page.get_by_text(BATCH_MARK)).to_be_visible()
    uploads = [r for r in fake.requests if r.method == "POST" and r.path == "/v1/files"]
    assert len(uploads) == 2 and len(fake.batch_api.batches) == 2
    assert not fake.chat_requests()


def test_a_batch_run_is_found_again_after_a_restart_and_check_now_goes_on(
    page: Page, fake_server: FakeOpenAIServer, fake: FakeOpenAIServer, tmp_path: Path
) -> None:
    app = AppProcess(fake_server, tmp_path)
    app.env.update(PLAYGROUND_BATCH_POLL_SECONDS="3600")  # one check after submitting, then only Check now
    app.start()
    try:
        answers = ["It is 1", "It is 2", "no idea", "It is 4", "unsure"]
        fake.enqueue(*(Scenario(text=text) for _ in range(2) for text in answers))
        open_compare(page, app.url)
        type_input(page, "Answer: {{question}}")
        page.get_by_role("tab", name="Test sets & runs").click()
        import_five_rows_with_a_regex_grader(page, tmp_path)
        choose_batch(page)
        by_key(page, CompareKeys.RUN).get_by_role("button").click()
        expect(page.get_by_text("in progress 0/5").nth(1)).to_be_visible(timeout=15_000)
        app.restart()  # the polling thread is gone; the batches go on at the provider
        open_compare(page, app.url)
        page.get_by_role("tab", name="Test sets & runs").click()
        earlier = by_key(page, CompareKeys.PAST_RUN)
        earlier.evaluate("element => element.scrollIntoView({block: 'center'})")  # room for its options
        earlier.get_by_role("button", name="Open").click()
        page.get_by_role("option", name="questions · Batch API · 5 rows × 2 variants · running").first.click()
        wait_for_app_idle(page, expect=page.get_by_text("in progress 0/5").nth(1))
        by_key(page, "run.batch_check").get_by_role("button").click()
        expect(page.locator(METRIC, has_text="60%").nth(1)).to_be_visible(timeout=30_000)
        wait_for_app_idle(page)
        assert len(fake.batch_api.batches) == 2, "the restarted server must poll, not resubmit"
    finally:
        app.stop()


def test_the_run_button_waits_while_the_run_goes_and_earlier_runs_name_the_engine(
    page: Page, app_url: str, fake: FakeOpenAIServer, tmp_path: Path
) -> None:
    fake.enqueue(*(Scenario(text="It is 1", first_byte_delay=0.4) for _ in range(10)))
    open_compare(page, app_url)
    type_input(page, "Answer: {{question}}")
    page.get_by_role("tab", name="Test sets & runs").click()
    import_five_rows_with_a_regex_grader(page, tmp_path)
    set_number(page, CompareKeys.CONCURRENCY, "1")
    run = by_key(page, CompareKeys.RUN).get_by_role("button")
    run.click()
    expect(run).to_be_disabled()  # while the run goes, a second click cannot start (and pay for) another
    expect(page.locator(METRIC, has_text="100%").nth(1)).to_be_visible(timeout=30_000)
    wait_for_app_idle(page)
    expect(run).to_be_enabled()
    assert len(fake.chat_requests()) == 10
    page.reload()  # a new session: the run is in Earlier runs, named with its engine and size
    wait_for_app_idle(page, expect=page.get_by_role("heading", name="Compare & evaluate"))
    page.get_by_role("tab", name="Test sets & runs").click()
    earlier = by_key(page, CompareKeys.PAST_RUN)
    earlier.evaluate("element => element.scrollIntoView({block: 'center'})")  # room for its options
    earlier.get_by_role("button", name="Open").click()
    label = re.compile(r"questions · live · 5 rows × 2 variants · completed")
    expect(page.get_by_role("option", name=label).first).to_be_visible()  # the app is shared: earlier tests ran too
