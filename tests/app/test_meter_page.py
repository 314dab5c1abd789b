"""The meter under AppTest: the Cost & context panel after real turns, and the blocked-send path."""

from __future__ import annotations

import base64
import csv
import io

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from components.chat_view import ChatKeys
from components.meter import MeterKeys
from components.state import STATE_KEY, Keys
from playground.conversation import ImageAttachment, Message
from tests.fakes.images import one_pixel_png
from tests.fakes.server import Scenario

METER_PAGE = "pages/meter.py"
FIRST = {"prompt_tokens": 1_000, "completion_tokens": 200, "prompt_tokens_details": {"cached_tokens": 400}}
SECOND = {"prompt_tokens": 2_000, "completion_tokens": 100, "prompt_tokens_details": {"cached_tokens": 1_024}}


def usage(numbers: dict) -> dict:
    return {**numbers, "total_tokens": numbers["prompt_tokens"] + numbers["completion_tokens"]}


def workspace(app):
    return app.session_state[STATE_KEY].workspace


def send(app, text):
    app.chat_input(key=Keys.CHAT_INPUT).set_value(text).run()
    assert not app.exception
    return app


def turns_table(app):
    return next(frame.value for frame in app.dataframe if "Turn" in frame.value.columns)


def session_cost_caption(app) -> str:
    return app.sidebar.caption[-1].value


@pytest.fixture
def downloads(monkeypatch):
    """The bytes behind every st.download_button, as (data, mimetype, filename)."""
    saved = []
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        saved.append((path_or_data, mimetype, filename))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return saved


@pytest.fixture
def two_turns(app_factory, fake):
    fake.enqueue(Scenario(text="First answer.", usage=usage(FIRST)), Scenario(text="Second.", usage=usage(SECOND)))
    app = send(send(app_factory(), "First question?"), "Second question?")
    return app.switch_page(METER_PAGE).run()


def test_panel_shows_every_turn_with_estimate_beside_usage(two_turns):
    app = two_turns
    assert not app.exception
    table = turns_table(app)
    assert table["Turn"].tolist() == [1, 2]
    assert table["Prompt tokens"].tolist() == [1_000, 2_000]
    assert table["Cached"].tolist() == [400, 1_024]
    assert table["Output"].tolist() == [200, 100]
    estimates = [message.stats.estimated_prompt_tokens for message in workspace(app).conversation.messages[1::2]]
    assert table["Our estimate"].tolist() == estimates
    assert table["Estimate − actual"].tolist() == [estimates[0] - 1_000, estimates[1] - 2_000]
    first_cost = (600 * 0.40 + 400 * 0.10 + 200 * 1.60) / 1e6
    assert table["Cost"].tolist()[0] == pytest.approx(first_cost)
    assert any("Accuracy of our prompt estimates" in metric.label for metric in app.metric)
    assert len(app.get("plotly_chart")) >= 5  # context breakdown, tokens, cost, fill, estimate vs actual
    assert any("Costs at **OpenAI standard**" in caption.value for caption in app.caption)


def test_changing_the_tier_recomputes_every_turn_and_the_sidebar(two_turns):
    app = two_turns
    app.selectbox(key=MeterKeys.TIER).select("openai_batch").run()
    assert workspace(app).price_tier == "openai_batch"
    table = turns_table(app)
    batch = [(1_000 * 0.20 + 200 * 0.80) / 1e6, (2_000 * 0.20 + 100 * 0.80) / 1e6]  # no cached price on batch
    assert table["Cost"].tolist() == pytest.approx(batch)
    assert table["Cumulative cost"].tolist()[-1] == pytest.approx(sum(batch))
    assert any("Costs at **OpenAI Batch API**" in caption.value for caption in app.caption)
    assert sum(batch) == pytest.approx(840e-6)
    assert "Session cost: **$0.00084**" in session_cost_caption(app)  # two significant digits, not six decimals


def test_price_override_applies_for_the_session(two_turns):
    app = two_turns
    app.number_input(key=MeterKeys.OVERRIDE_INPUT).set_value(1.0)
    app.number_input(key=MeterKeys.OVERRIDE_CACHED).set_value(0.5)
    app.number_input(key=MeterKeys.OVERRIDE_OUTPUT).set_value(2.0)
    app.button(key=MeterKeys.OVERRIDE_APPLY).click().run()
    assert not app.exception
    custom = [(600 * 1.0 + 400 * 0.5 + 200 * 2.0) / 1e6, (976 * 1.0 + 1_024 * 0.5 + 100 * 2.0) / 1e6]
    assert turns_table(app)["Cost"].tolist() == pytest.approx(custom)
    assert any("custom prices (session override)" in caption.value for caption in app.caption)
    app.button(key=MeterKeys.OVERRIDE_RESET).click().run()
    assert turns_table(app)["Cost"].tolist()[0] == pytest.approx((600 * 0.40 + 400 * 0.10 + 200 * 1.60) / 1e6)


def test_csv_download_carries_the_per_turn_usage(two_turns, downloads):
    app = two_turns.run()  # rerun with the recorder in place
    assert app.get("download_button")[0].label == "Download per-turn usage (CSV)"
    data, mimetype, _ = next(saved for saved in downloads if saved[2] == "turn_usage.csv")
    assert mimetype == "text/csv"
    records = list(csv.DictReader(io.StringIO(data.decode() if isinstance(data, bytes) else data)))
    assert [(r["turn"], r["prompt_tokens"], r["cached_tokens"], r["completion_tokens"]) for r in records] == [
        ("1", "1000", "400", "200"),
        ("2", "2000", "1024", "100"),
    ]
    assert {r["prices"] for r in records} == {"OpenAI standard"}


def test_projection_needs_a_reply_and_then_scales_the_last_one(app_factory, two_turns):
    assert not any(metric.label == "Per 1,000 replies" for metric in app_factory().switch_page(METER_PAGE).run().metric)
    app = two_turns
    app.number_input(key=MeterKeys.REQUESTS_PER_DAY).set_value(100).run()
    per_request = (976 * 0.40 + 1_024 * 0.10 + 100 * 1.60) / 1e6
    metrics = {metric.label: metric.value for metric in app.metric}
    assert per_request == pytest.approx(652.8e-6)
    assert metrics["Per reply"] == "$0.00065"
    assert metrics["Per 1,000 replies"] == "$0.65"
    assert metrics["Per 1M replies"] == "$652.80"
    assert metrics["Per month at 100/day"] == "$1.96"  # 100 a day for 30 days
    assert "Turns left in the window" in metrics
    savings = next(frame.value for frame in app.dataframe if "Saving" in frame.value.columns)
    assert any("Batch API" in saving for saving in savings["Saving"])


# --- the blocked send ----------------------------------------------------------------------------------
def words(count: int, word: str) -> str:
    return " ".join([word] * count)


@pytest.fixture
def azure_standard(app_factory, clean_env, fake):
    """An Azure 'standard' deployment: the registry caps gpt-4.1-mini's window at 128,000 tokens."""
    clean_env.setenv("AZURE_OPENAI_ENDPOINT", fake.azure_endpoint)
    clean_env.setenv("AZURE_OPENAI_API_KEY", "azure-test-key")
    clean_env.setenv("AZURE_OPENAI_DEPLOYMENT", "gpt-4.1-mini")
    app = app_factory(connected=False)
    app.sidebar.selectbox(key=Keys.DEPLOYMENT_TYPE).select("standard").run()
    assert workspace(app).model_spec().context_window == 128_000
    return app


def test_a_request_too_big_for_the_window_is_held_until_old_turns_are_dropped(azure_standard, fake):
    app = azure_standard
    app.session_state[ChatKeys.SETTINGS_OPEN] = True  # open "System prompt & parameters"
    app.run()
    app.number_input(key=Keys.MAX_TOKENS).set_value(32_768).run()  # the API must leave room for this
    conversation = workspace(app).conversation
    for turn in range(4):  # ~120,000 tokens of history + 32,768 reserved: over 128,000
        conversation.add_user(f"Question {turn}: " + words(15_000, "alpha"))
        conversation.messages.append(Message(role="assistant", content=f"Answer {turn}: " + words(15_000, "beta")))
    send(app, "The latest question")

    assert fake.chat_requests() == []  # blocked before the API
    blocked = app.error[0].value
    assert blocked.startswith("Not sent: this request needs") and "Your message is kept" in blocked
    assert conversation.messages[-1].content == "The latest question"
    assert any("Over the window by" in markdown.value for markdown in app.sidebar.markdown)
    drop = app.button(key=MeterKeys.DROP_TURNS)
    assert drop.label.startswith("Drop the 1 oldest turn") and not drop.disabled

    app.run()  # any other rerun: still held, nothing sent
    assert fake.chat_requests() == [] and app.button(key=MeterKeys.DROP_TURNS)

    drop.click().run()
    assert not app.exception
    (request,) = fake.chat_requests()
    sent = request.json["messages"]
    assert sent[0]["content"].startswith("Question 1:") and sent[-1]["content"] == "The latest question"
    assert len(sent) == 7
    assert conversation.messages[-1].role == "assistant" and conversation.messages[-1].content.startswith("Echo:")
    assert not [error for error in app.error if error.value.startswith("Not sent")]


def test_dropping_images_makes_room(azure_standard, fake):
    app = azure_standard
    app.session_state[ChatKeys.SETTINGS_OPEN] = True  # open "System prompt & parameters"
    app.run()
    app.number_input(key=Keys.MAX_TOKENS).set_value(10_000).run()
    # The meter prices the recorded size (6,636 tokens each at 2048x2048); the chat draws the real pixel.
    photo = {
        "url": "data:image/png;base64," + base64.b64encode(one_pixel_png()).decode(),
        "width": 2048,
        "height": 2048,
    }
    conversation = workspace(app).conversation
    conversation.add_user(words(106_000, "context"), [ImageAttachment(name=f"p{i}.png", **photo) for i in range(3)])
    conversation.messages.append(Message(role="assistant", content="Seen."))
    send(app, "What changed?")
    assert fake.chat_requests() == []
    drop = app.button(key=MeterKeys.DROP_IMAGES)
    assert drop.label.startswith("Drop 2 images") and not drop.disabled
    drop.click().run()
    (request,) = fake.chat_requests()
    parts = request.json["messages"][0]["content"]
    assert sum(part["type"] == "image_url" for part in parts) == 1


def test_the_override_form_shows_the_picked_tiers_prices(app_factory):
    app = app_factory(page="pages/meter.py")
    app.selectbox(key=MeterKeys.TIER).select("openai_priority").run()
    app.selectbox(key=MeterKeys.TIER).select("openai_batch").run()
    assert app.number_input(key=MeterKeys.OVERRIDE_INPUT).value == 0.20
    assert app.number_input(key=MeterKeys.OVERRIDE_CACHED).value is None  # batch: no cache discount
    assert app.number_input(key=MeterKeys.OVERRIDE_OUTPUT).value == 0.80


# --- reading the panel -----------------------------------------------------------------------------------
def sidebar_meter(app) -> str:
    return " ".join(markdown.value for markdown in app.sidebar.markdown)


def test_the_gauge_shows_the_prompt_and_the_reserved_reply_apart(app_factory):
    app = app_factory()
    gauge = sidebar_meter(app)
    # Nothing typed: the prompt is the reply priming only, the reserve is the model's max output.
    assert "Prompt: 3 tokens (<0.1% of the window)" in gauge
    assert "Reply reserved: 32,768 (3.1%)" in gauge and "Window: 1,047,576 tokens" in gauge
    assert "3% of the window" not in gauge and "Fits: 1,014,805 tokens free" in gauge
    panel = {metric.label: metric.value for metric in app.switch_page(METER_PAGE).run().metric}
    assert panel["Next prompt"] == "3" and panel["Reserved for the reply"] == "32,768"
    assert panel["Prompt share of the window"] == "<0.1%"


def test_costs_read_per_reply_and_per_thousand(two_turns):
    captions = " ".join(caption.value for caption in two_turns.sidebar.caption)
    assert "per reply (" in captions and "per 1,000 replies)" in captions
    table = turns_table(two_turns)
    assert table["Per 1,000 like it"].tolist() == pytest.approx([cost * 1_000 for cost in table["Cost"].tolist()])


def test_one_outlier_cannot_sink_the_accuracy_headline(app_factory, fake):
    fake.enqueue(*[Scenario(text=f"Answer {turn}.", usage=usage(FIRST)) for turn in range(3)])
    app = app_factory()
    for turn in range(3):
        send(app, f"Question {turn}?")
    replies = [message for message in workspace(app).conversation.messages if message.role == "assistant"]
    for reply, estimate in zip(replies, [1_000, 1_010, 10_000], strict=True):  # 0 %, 1 %, and 900 % off
        reply.stats.estimated_prompt_tokens = estimate
    app.switch_page(METER_PAGE).run()
    headline = next(metric for metric in app.metric if metric.label == "Accuracy of our prompt estimates")
    assert headline.value == "99%"  # the median error is 1 %; the mean (300 %) would read 0 %
    assert any("worst 900%" in caption.value for caption in app.caption)
