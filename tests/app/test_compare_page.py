"""The Compare panel under AppTest: two variants answer one input side by side (each with its stats,
a word diff between them, the better one saved as a prompt version); a 5-row test set with a regex
grader runs on a thread and shows its pass rate; the run is stored, so a new session finds it."""

from __future__ import annotations

import time

import pytest

from components import format as fmt
from components.compare import COMPARE_PAGE, CompareKeys
from components.state import STATE_KEY
from playground.evals import RegexGrader, RunState, TestRow, TestSet
from playground.evals.background import live_run
from playground.store import DATABASE_URL_VARIABLE, open_store
from tests.fakes.server import Scenario

CSV = "id,question,expected\n" + "".join(f"r{i},question {i},{i}\n" for i in range(1, 6))


@pytest.fixture
def database(tmp_path, clean_env):
    url = f"sqlite:///{tmp_path / 'compare.db'}"
    clean_env.setenv(DATABASE_URL_VARIABLE, url)
    return url


def compare(app_factory):
    app = app_factory(page=COMPARE_PAGE)
    assert not app.exception
    return app


def panel(app):
    return app.session_state[STATE_KEY].compare_panel


def test_two_variants_answer_one_input_side_by_side(app_factory, fake, database):
    fake.enqueue(Scenario(text="Refunds take five days."), Scenario(text="Refunds take ten days."))
    app = compare(app_factory)
    app.selectbox(key=CompareKeys.column("model", 1)).set_value("gpt-4.1-nano").run()
    app.text_area(key=CompareKeys.INPUT).input("How long do refunds take?").run()
    app.button(key=CompareKeys.SEND).click().run()
    assert not app.exception
    sent = sorted(request.json["model"] for request in fake.chat_requests())
    assert sent == ["gpt-4.1-mini", "gpt-4.1-nano"]
    assert all(r.json["messages"][-1]["content"] == "How long do refunds take?" for r in fake.chat_requests())
    outputs = {m.value for m in app.markdown}
    assert {"Refunds take five days.", "Refunds take ten days."} <= outputs
    stats = [c.value for c in app.caption if c.value.startswith("in ")]
    assert len(stats) == 2 and all("finish: stop" in s and "$" in s for s in stats)
    diff = next(m.value for m in app.markdown if "red-background" in m.value)
    # Replies are handed out in arrival order (the columns run in parallel): read which got which.
    first, second = (output.text.split()[2] for output in panel(app).outputs)
    assert {first, second} == {"five", "ten"}
    assert f":red-background[~~{first}~~]" in diff and f":green-background[{second}]" in diff
    app.selectbox(key=CompareKeys.SAVE_COLUMN).set_value(1).run()
    app.text_input(key=CompareKeys.SAVE_NAME).input("refunds").run()
    app.button(key=CompareKeys.SAVE).click().run()
    assert any("Saved refunds version 1." in s.value for s in app.success)
    store = open_store(database)
    saved = store.prompts.get("refunds").setup
    assert saved.connection.model == "gpt-4.1-nano"


def session_cost(app) -> str:
    return next(c.value for c in app.sidebar.caption if c.value.startswith("Session cost"))


def test_side_by_side_replies_count_in_the_sidebars_session_cost(app_factory, fake, database):
    usage = {"prompt_tokens": 200_000, "completion_tokens": 10_000, "total_tokens": 210_000}
    fake.enqueue(Scenario(text="Five days.", usage=usage), Scenario(text="Ten days.", usage=usage))
    app = compare(app_factory)
    assert session_cost(app) == "Session cost: **$0**"  # nothing spent: no breakdown
    app.selectbox(key=CompareKeys.column("model", 1)).set_value("gpt-4.1-nano").run()
    app.text_area(key=CompareKeys.INPUT).input("How long do refunds take?").run()
    app.button(key=CompareKeys.SEND).click().run()
    assert not app.exception
    costs = [output.cost_usd for output in panel(app).outputs]
    assert all(cost is not None and cost > 0 for cost in costs)
    spent = fmt.money(sum(costs))
    assert session_cost(app) == f"Session cost: **{spent}** (chat $0 · compare {spent})"
    app.run()  # drawing the sidebar again records nothing
    assert session_cost(app) == f"Session cost: **{spent}** (chat $0 · compare {spent})"
    assert len(app.session_state[STATE_KEY].workspace.compare_ledger) == 2
    app.switch_page("pages/meter.py").run()  # the chat's table there says the Compare spend beside it
    assert not app.exception
    assert f"The table covers the chat. Session cost: **{spent}** (chat $0 · compare {spent})." in [
        c.value for c in app.main.caption
    ]


def test_a_missing_variable_sends_nothing(app_factory, fake, database):
    app = compare(app_factory)
    app.text_area(key=CompareKeys.INPUT).input("About {{product}}").run()
    app.button(key=CompareKeys.SEND).click().run()
    assert any("product" in e.value and "Nothing was sent" in e.value for e in app.error)
    assert fake.chat_requests() == []


def table(app, column):
    """The first table with ``column``."""
    return next(frame.value for frame in app.dataframe if column in frame.value.columns)


def wait_for_run(run_id: str, timeout: float = 20.0) -> RunState:
    deadline = time.monotonic() + timeout
    while (handle := live_run(run_id)) is None or handle.alive:
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.05)
    return handle.state


def test_a_five_row_test_set_with_a_regex_grader_shows_its_pass_rate(app_factory, fake, database):
    app = compare(app_factory)
    app.text_area(key=CompareKeys.INPUT).input("Answer: {{question}}").run()
    upload = app.get("file_uploader")[0]
    upload.set_value([("questions.csv", CSV.encode(), "text/csv")]).run()
    assert not app.exception
    assert any("Imported 5 rows" in s.value for s in app.success)
    app.selectbox(key=CompareKeys.GRADER_KIND).set_value("regex").run()
    app.text_input(key=CompareKeys.GRADER_VALUE).input(r"\d").run()
    app.button(key=CompareKeys.ADD_GRADER).click().run()
    assert panel(app).graders == [RegexGrader(pattern=r"\d")]
    app.number_input(key=CompareKeys.CONCURRENCY).set_value(1).run()
    app.button(key=CompareKeys.SAVE_SET).click().run()
    assert any("Saved questions version 1." in s.value for s in app.success)
    # One at a time, row by row, both columns each: three rows answer with a number, two do not.
    answers = ["It is 1", "It is 2", "no idea", "It is 4", "unsure"]
    fake.enqueue(*(Scenario(text=text) for text in answers for _ in range(2)))
    app.button(key=CompareKeys.RUN).click().run()
    assert not app.exception
    state = wait_for_run(panel(app).run_id)
    assert state.status == "completed" and len(state.results) == 10
    app.run()
    summary = table(app, "Pass rate")
    assert list(summary["Pass rate"]) == ["60%", "60%"]
    assert session_cost(app).endswith(f"(chat $0 · runs {fmt.money(state.spent_usd)})") and state.spent_usd > 0
    grid = table(app, "Outcome")
    assert list(grid["Outcome"])[:4] == ["fail"] * 4  # failing rows first
    sent = [r.json["messages"][-1]["content"] for r in fake.chat_requests()]
    assert "Answer: question 3" in sent and not any("{{" in text for text in sent)
    # Stored: another session (a reload) opens the same run.
    stored = open_store(database).evals.get_run(state.id)
    assert stored.status == "completed" and len(stored.results) == 10
    other = compare(app_factory)
    other.selectbox(key=CompareKeys.PAST_RUN).set_value(state.id).run()
    assert not other.exception
    assert list(table(other, "Pass rate")["Pass rate"]) == ["60%", "60%"]


def test_check_on_another_model_shows_where_verdicts_differ_and_a_summary(app_factory, fake, database):
    store = open_store(database)
    rows = [TestRow(id=f"r{i}", variables={"question": f"q{i}"}) for i in range(1, 4)]
    store.evals.save_test_set(TestSet(name="faq", rows=rows), [RegexGrader(pattern=r"\d")])
    app = compare(app_factory)
    app.text_area(key=CompareKeys.INPUT).input("Answer: {{question}}").run()
    app.selectbox(key=CompareKeys.MIGRATE_SET).set_value("faq").run()
    app.selectbox(key=CompareKeys.MIGRATE_MODEL).set_value("gpt-4.1-nano").run()
    # Concurrency 4 over 6 requests: replies by model, whatever the order they are asked in.
    fake.enqueue(*(Scenario(text="It is 1") for _ in range(6)))
    app.button(key=CompareKeys.MIGRATE).click().run()
    state = wait_for_run(panel(app).migration_run_id)
    assert [v.model for v in state.config.variants] == ["gpt-4.1-mini", "gpt-4.1-nano"]
    assert state.status == "completed" and len(state.results) == 6
    app.run()
    assert not app.exception
    summary = next(s.value for s in app.success if "passes" in s.value)
    assert "gpt\\-4.1\\-nano passes 100%" in summary or "gpt-4.1-nano passes 100%" in summary
    assert any("same verdict on both models" in c.value for c in app.caption)
    models = {r.json["model"] for r in fake.chat_requests()}
    assert models == {"gpt-4.1-mini", "gpt-4.1-nano"}


def test_a_column_on_a_named_connection_sends_there_with_its_own_parameters(clean_env, fake, database, tmp_path):
    """Column 1: the sidebar's connection on an operator's reasoning model (no temperature, an effort);
    column 2: the operator's named Azure connection, its deployment, at temperature 0.2."""
    from streamlit.testing.v1 import AppTest

    from playground.registry import MODELS_FILE_SETTING
    from tests.app.conftest import APP_PATH
    from tests.fakes.operator_models import OPERATOR_TOML

    models = tmp_path / "models.toml"
    models.write_text(OPERATOR_TOML)
    clean_env.setenv(MODELS_FILE_SETTING, str(models))
    clean_env.setenv("OPENAI_BASE_URL", fake.base_url)
    clean_env.setenv("OPENAI_API_KEY", "sk-server-side-key")
    app = AppTest.from_file(APP_PATH, default_timeout=30)
    app.secrets["connections"] = {
        "azure-eu": {
            "endpoint": fake.azure_endpoint,
            "api_key": "az-eu-key",
            "deployment": "eu-mini",
            "registry_entry": "gpt-4.1-mini",
        }
    }
    app.run()
    app.switch_page(COMPARE_PAGE).run()
    assert not app.exception
    connection = app.selectbox(key=CompareKeys.column("connection", 1))
    assert connection.options == ["Sidebar", "azure-eu"]
    connection.set_value("azure-eu").run()
    assert any(c.value.startswith("Azure OpenAI · priced as gpt-4.1-mini · temperature 1") for c in app.caption)
    assert app.text_input(key=CompareKeys.column("deployment@azure-eu", 1)).value == "eu-mini"
    app.slider(key=CompareKeys.param("temperature", 1)).set_value(0.2).run()
    app.selectbox(key=CompareKeys.column("model", 0)).set_value("reasoner-mini").run()
    assert not [s for s in app.slider if s.key == CompareKeys.param("temperature", 0)]
    assert any("reasoner-mini does not take temperature, top_p." in c.value for c in app.caption)
    app.selectbox(key=CompareKeys.param("reasoning_effort", 0)).set_value("high").run()
    app.text_area(key=CompareKeys.INPUT).input("Which is better?").run()
    app.button(key=CompareKeys.SEND).click().run()
    assert not app.exception
    by_path = {request.path: request for request in fake.chat_requests()}
    assert set(by_path) == {"/v1/chat/completions", "/openai/deployments/eu-mini/chat/completions"}
    azure = by_path["/openai/deployments/eu-mini/chat/completions"]
    assert azure.headers["api-key"] == "az-eu-key" and azure.json["temperature"] == 0.2
    assert "reasoning_effort" not in azure.json
    reasoning = by_path["/v1/chat/completions"].json
    assert reasoning["model"] == "reasoner-mini" and reasoning["reasoning_effort"] == "high"
    assert "temperature" not in reasoning
    assert [v.connection for v in panel(app).variants] == ["default", "azure-eu"]
    assert "sk-server-side-key" not in repr(panel(app).variants) and "az-eu-key" not in repr(panel(app).variants)
    stats = [c.value for c in app.caption if c.value.startswith("in ")]
    assert len(stats) == 2 and any("est." in s for s in stats)  # the deployment is priced as gpt-4.1-mini


def test_a_model_the_server_lists_with_no_registry_entry_has_an_unknown_cost(app_factory, fake, database):
    from components.state import Keys

    fake.models = [*fake.models, {"id": "mystery-9", "object": "model", "created": 0, "owned_by": "lab"}]
    app = compare(app_factory)
    app.sidebar.button(key=Keys.LIST_MODELS).click().run()
    app.selectbox(key=CompareKeys.column("model", 1)).set_value("mystery-9").run()
    assert any(
        "mystery\\-9 is not in the registry" in c.value or "mystery-9 is not in the registry" in c.value
        for c in app.caption
    )
    app.text_area(key=CompareKeys.INPUT).input("Answer: {{question}}").run()
    upload = app.get("file_uploader")[0]
    upload.set_value([("questions.csv", CSV.encode(), "text/csv")]).run()
    app.selectbox(key=CompareKeys.GRADER_KIND).set_value("regex").run()
    app.text_input(key=CompareKeys.GRADER_VALUE).input(r"\d").run()
    app.button(key=CompareKeys.ADD_GRADER).click().run()
    app.button(key=CompareKeys.RUN).click().run()
    assert not app.exception
    state = wait_for_run(panel(app).run_id)
    assert state.status == "completed"
    app.run()
    summary = table(app, "Pass rate")
    first, second = summary["Cost"]
    assert second == "unknown" and first.startswith("$")
    rows = table(app, "Outcome")
    assert "unknown" in set(rows["Cost"]) and not any(cost == "$0" for cost in rows["Cost"])
    # Side by side too: the column's stats say unknown, never $0.
    app.text_area(key=CompareKeys.INPUT).input("Hello").run()
    app.button(key=CompareKeys.SEND).click().run()
    stats = [c.value for c in app.caption if c.value.startswith("in ")]
    assert len(stats) == 2 and sum("cost unknown" in s for s in stats) == 1


def test_a_connection_added_for_the_session_is_used_by_its_column_and_never_stored(app_factory, fake, database):
    app = compare(app_factory)
    app.selectbox(key=CompareKeys.NEW_PROVIDER).set_value("compatible").run()
    app.text_input(key=CompareKeys.NEW_NAME).input("staging").run()
    app.text_input(key="compare.new_connection.base_url").input("http://169.254.169.254/v1").run()
    app.text_input(key="compare.new_connection.model").input("gpt-4.1-nano").run()
    app.text_input(key=CompareKeys.NEW_KEY).input("sk-visitor-key").run()
    app.button(key=CompareKeys.NEW_ADD).click().run()
    assert any("Not added" in e.value and "link-local" in e.value for e in app.error)  # the sidebar's guard
    assert panel(app).connections == {}
    app.text_input(key="compare.new_connection.base_url").input(fake.base_url).run()
    app.button(key=CompareKeys.NEW_ADD).click().run()
    assert any("Added the connection staging" in s.value for s in app.success)
    assert list(panel(app).connections) == ["staging"]
    app.selectbox(key=CompareKeys.column("connection", 1)).set_value("staging").run()
    assert app.selectbox(key=CompareKeys.column("model@staging", 1)).value == "gpt-4.1-nano"
    app.text_area(key=CompareKeys.INPUT).input("Hello").run()
    app.button(key=CompareKeys.SEND).click().run()
    assert not app.exception
    keys = sorted(request.headers["authorization"] for request in fake.chat_requests())
    assert keys == ["Bearer sk-server-side-key", "Bearer sk-visitor-key"]
    variants = panel(app).variants
    assert [v.connection for v in variants] == ["default", "staging"]
    assert "sk-visitor-key" not in repr(variants) and "sk-visitor-key" not in str(variants[1].model_dump())


def test_a_locked_operator_connection_offers_no_session_connection(app_factory, clean_env, database):
    clean_env.setenv("PLAYGROUND_LOCK_CONNECTION", "1")
    app = compare(app_factory)
    assert not [e for e in app.expander if e.label == "Add a connection for this session"]
    assert not [t for t in app.text_input if t.key == CompareKeys.NEW_NAME]


def set_up_five_rows(app, kind="regex", value=r"\d", extra=None) -> None:
    app.text_area(key=CompareKeys.INPUT).input("Answer: {{question}}").run()
    app.get("file_uploader")[0].set_value([("questions.csv", CSV.encode(), "text/csv")]).run()
    app.selectbox(key=CompareKeys.GRADER_KIND).set_value(kind).run()
    app.text_input(key=CompareKeys.GRADER_VALUE).input(value).run()
    if extra is not None:
        app.text_input(key=CompareKeys.GRADER_EXTRA).input(extra).run()
    app.button(key=CompareKeys.ADD_GRADER).click().run()
    assert not app.exception


def test_a_judge_model_with_no_price_makes_the_judge_cost_unknown_not_zero(app_factory, fake, database):
    app = compare(app_factory)
    set_up_five_rows(app, "llm_judge", "Says pass", "judge-local-7b")
    verdict = '{"verdict": "pass", "reason": "ok"}'  # replies and judgements alike: any order works
    fake.enqueue(*(Scenario(text=verdict) for _ in range(20)))
    app.button(key=CompareKeys.RUN).click().run()
    assert not app.exception
    state = wait_for_run(panel(app).run_id)
    assert state.status == "completed" and {r.json["model"] for r in fake.chat_requests()} >= {"judge-local-7b"}
    app.run()
    summary = table(app, "Judge cost")
    assert list(summary["Judge cost"]) == ["unknown", "unknown"] and list(summary["Pass rate"]) == ["100%", "100%"]
    assert all(cost.startswith("$") for cost in summary["Cost"])  # the replies themselves are priced
    replies = fmt.money(state.paid().usd)
    assert any(c.value.startswith(f"10/10 done · spent {replies} + unknown (10 requests") for c in app.caption)
    assert session_cost(app).endswith("; 10 paid requests not included (no price for their model)")


def test_a_spend_cap_with_an_unpriced_variant_refuses_to_start_and_says_why(app_factory, fake, database):
    from components.state import Keys

    fake.models = [*fake.models, {"id": "mystery-9", "object": "model", "created": 0, "owned_by": "lab"}]
    app = compare(app_factory)
    app.sidebar.button(key=Keys.LIST_MODELS).click().run()
    app.selectbox(key=CompareKeys.column("model", 1)).set_value("mystery-9").run()
    set_up_five_rows(app)
    app.number_input(key=CompareKeys.SPEND_CAP).set_value(0.5).run()
    app.button(key=CompareKeys.RUN).click().run()
    assert not app.exception
    (error,) = [e.value for e in app.error]
    assert "Not started" in error and "mystery" in error and "Prices and limits from" in error
    assert "clear the spend cap" in error and "1: Current setup" not in error
    assert [e.value for e in app.tabs[1].error] == [error]  # by the Run button, not at the top of the page
    assert panel(app).run_id is None and fake.chat_requests() == []
    # Priced through another entry, the cap can count it: the run starts.
    app.selectbox(key=CompareKeys.column("entry", 1)).set_value("gpt-4.1-nano").run()
    app.button(key=CompareKeys.RUN).click().run()
    assert not app.exception and not app.error
    state = wait_for_run(panel(app).run_id)
    assert state.status == "completed" and state.config.spend_cap_usd == 0.5


def test_the_run_button_is_disabled_while_the_panels_run_is_going(app_factory, fake, database):
    app = compare(app_factory)
    set_up_five_rows(app)
    app.number_input(key=CompareKeys.CONCURRENCY).set_value(1).run()
    fake.enqueue(*(Scenario(text="It is 1", first_byte_delay=0.3) for _ in range(10)))
    assert not app.button(key=CompareKeys.RUN).disabled
    app.button(key=CompareKeys.RUN).click().run()
    run_id = panel(app).run_id
    assert live_run(run_id).alive
    button = app.button(key=CompareKeys.RUN)
    assert button.disabled and "A run is going" in button.proto.help
    wait_for_run(run_id)
    app.run()
    assert not app.button(key=CompareKeys.RUN).disabled and not app.button(key=CompareKeys.RUN).proto.help
    assert len(fake.chat_requests()) == 10  # one run, not two
