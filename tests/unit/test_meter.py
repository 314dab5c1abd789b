"""The meter's arithmetic, without UI: one counting path, costs per tier, projections, making room."""

from __future__ import annotations

import csv
import io
import json

import pytest

from playground.connection import ConnectionSettings
from playground.conversation import ImageAttachment, Message, ReplyStats, Status, ToolCall
from playground.costs import batch_tier_for, tier_prices
from playground.meter import (
    CSV_COLUMNS,
    DAYS_PER_MONTH,
    FILL_FULL,
    FILL_NEAR,
    FillLevel,
    MessageCounter,
    context_categories,
    growth_per_turn,
    next_request_cost,
    project,
    running_accuracy,
    turns_left,
    usage_csv,
)
from playground.registry import Price, resolve_model
from playground.tokens import count_chat_tokens
from playground.workspace import ResponseSchema, Workspace
from tests.unit.test_tokens import CORPORATE_JARGON, WEATHER_MESSAGES, WEATHER_TOOLS

# A data URL is never decoded by the meter: only the attachment's recorded size matters.
DATA_URL = "data:image/png;base64,iVBORw0KGgo="
AZURE_STANDARD = ConnectionSettings(
    provider="azure",
    azure_endpoint="https://example.openai.azure.com",
    deployment="gpt-4.1-mini",
    azure_deployment_type="standard",  # caps the window at 128,000 (registry data)
)


def words(count: int, word: str = "alpha") -> str:
    """Text of exactly ``count`` o200k tokens."""
    return " ".join([word] * count)


def image(width: int | None = 1024, height: int | None = 1024, url: str = DATA_URL) -> ImageAttachment:
    return ImageAttachment(name="picture.png", url=url, width=width, height=height)


def reply(content: str, prompt: int, completion: int, cached: int = 0, estimate: int | None = None) -> Message:
    stats = ReplyStats(
        model="gpt-4.1-mini",
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        estimated_prompt_tokens=estimate,
        finish_reason="stop",
    )
    return Message(role="assistant", content=content, stats=stats)


def chatted(*turns: tuple[str, Message], **workspace_fields) -> Workspace:
    workspace = Workspace(**workspace_fields)
    for question, answer in turns:
        workspace.conversation.add_user(question)
        workspace.conversation.messages.append(answer)
    return workspace


# --- one counting path ----------------------------------------------------------------------------
def test_corporate_jargon_vector_is_124_through_the_breakdown():
    workspace = Workspace(system_prompt=CORPORATE_JARGON[0]["content"])
    for message in CORPORATE_JARGON[1:]:
        workspace.conversation.messages.append(
            Message(role=message["role"], content=message["content"], name=message.get("name"))
        )
    breakdown = workspace.breakdown()
    assert breakdown.total == 124
    assert workspace.estimate_prompt_tokens() == 124  # the workspace delegates to the same path
    assert not breakdown.is_estimate
    assert [part.kind for part in breakdown.parts] == ["priming", "system"] + ["message"] * 5


def test_weather_tools_vector_is_101_and_flagged_as_an_estimate():
    workspace = Workspace(system_prompt=WEATHER_MESSAGES[0]["content"], tools=WEATHER_TOOLS)
    workspace.conversation.add_user(WEATHER_MESSAGES[1]["content"])
    breakdown = workspace.breakdown()
    assert breakdown.total == 101
    assert breakdown.tokens_of("tools") > 0
    assert breakdown.is_estimate and "tool definitions are estimated" in breakdown.estimate_notes


def test_breakdown_agrees_with_count_chat_tokens_on_what_is_sent():
    workspace = Workspace(system_prompt="Be brief.")
    workspace.conversation.add_user("What is the weather?")
    workspace.conversation.messages.append(
        Message(role="assistant", tool_calls=[ToolCall(id="call_1", name="weather", arguments='{"city":"Oslo"}')])
    )
    workspace.conversation.messages.append(Message(role="tool", content='{"temp": 3}', tool_call_id="call_1"))
    workspace.conversation.messages.append(Message(role="assistant", status=Status.FAILED))  # never sent
    for draft in ("", "and tomorrow?"):
        expected = count_chat_tokens(workspace.api_messages(draft))
        assert workspace.breakdown(draft).total == expected


def test_draft_is_its_own_part():
    workspace = chatted(("hello", reply("hi", 10, 2)))
    breakdown = workspace.breakdown(words(50))
    assert breakdown.tokens_of("draft") == 3 + 1 + 50  # per-message overhead, role, text
    assert breakdown.total == workspace.breakdown().total + 54
    assert ("Draft", 54) in context_categories(breakdown)


def test_images_are_counted_for_the_model_and_unknown_sizes_make_a_lower_bound():
    workspace = Workspace()
    workspace.conversation.add_user("Compare these", [image(1024, 1024), image(512, 512)])
    breakdown = workspace.breakdown()
    assert breakdown.image_tokens == 1_659 + 415  # FACTS section 4, gpt-4.1-mini
    assert not breakdown.is_lower_bound and not breakdown.is_estimate

    workspace.pending_images = [image(None, None, url="https://example.com/cat.png")]
    breakdown = workspace.breakdown()
    assert breakdown.unknown_images == 1 and breakdown.is_lower_bound and breakdown.is_estimate
    assert breakdown.image_tokens == 1_659 + 415
    assert any("unknown size" in note for note in breakdown.estimate_notes)


def test_response_schema_tokens_are_the_tokens_of_its_json():
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    workspace = Workspace(response_schema=ResponseSchema(name="place", schema=schema, enabled=True))
    breakdown = workspace.breakdown()
    expected = MessageCounter(resolve_model("gpt-4.1-mini")).count_json(
        workspace.response_schema.response_format()["json_schema"]
    )
    assert breakdown.tokens_of("schema") == expected > len(json.dumps(schema)) // 8
    assert breakdown.is_estimate
    workspace.response_schema.enabled = False
    assert workspace.breakdown().tokens_of("schema") == 0


def test_unknown_model_is_an_estimate():
    workspace = Workspace(connection=ConnectionSettings(provider="compatible", model="my-local-llama"))
    breakdown = workspace.breakdown()
    assert breakdown.model_is_guess and breakdown.is_estimate and breakdown.model == "gpt-4.1-mini"


def test_window_reserved_output_and_fill_levels():
    workspace = Workspace()
    breakdown = workspace.breakdown()
    assert breakdown.window == 1_047_576 and breakdown.reserved_output == 32_768  # registry figures
    workspace.params.max_completion_tokens = 1_000
    assert workspace.breakdown().reserved_output == 1_000
    assert Workspace(connection=AZURE_STANDARD).breakdown().window == 128_000

    workspace = Workspace(connection=AZURE_STANDARD)
    workspace.params.max_completion_tokens = 1_000
    base = workspace.breakdown().used
    assert workspace.breakdown().output_limit_set
    for fraction, level in [(0.5, FillLevel.OK), (FILL_NEAR, FillLevel.NEAR), (FILL_FULL, FillLevel.FULL)]:
        breakdown = workspace.breakdown(words(int(128_000 * fraction) - base - 4))
        assert breakdown.level is level and breakdown.fits
    breakdown = workspace.breakdown(words(128_000))
    assert breakdown.level is FillLevel.OVER and not breakdown.fits
    assert breakdown.overflow == breakdown.used - 128_000 and breakdown.free == 0


# --- incremental ------------------------------------------------------------------------------
def test_each_message_is_counted_once_per_content(monkeypatch):
    workspace = Workspace()
    workspace.conversation.add_user("first " * 100, [image()])
    workspace.conversation.messages.append(Message(role="assistant", content="second " * 100))
    counter = MessageCounter(resolve_model("gpt-4.1-mini"))
    workspace.message_counters["gpt-4.1-mini"] = counter
    calls = []
    original = MessageCounter._count
    monkeypatch.setattr(MessageCounter, "_count", lambda self, m: calls.append(m.id) or original(self, m))

    first = workspace.breakdown()
    assert len(calls) == 2
    for _ in range(5):
        assert workspace.breakdown() == first
    assert len(calls) == 2  # reruns: lookups only, no tiktoken, no image arithmetic

    workspace.conversation.messages[-1].content += " more"  # a streamed delta or an edit
    workspace.conversation.messages[0].images[0].detail = "low"
    workspace.breakdown()
    assert len(calls) == 4


# --- costs per tier -----------------------------------------------------------------------------
# One reply: 1,000 prompt tokens of which 400 cached, 200 output tokens (USD per 1M, FACTS section 2).
TIER_COSTS = {
    "openai_standard": (600 * 0.40 + 400 * 0.10 + 200 * 1.60) / 1e6,
    "openai_batch": (1000 * 0.20 + 200 * 0.80) / 1e6,  # no cache discount: cached tokens are input
    "openai_priority": (600 * 0.70 + 400 * 0.175 + 200 * 2.80) / 1e6,
    "azure_global": (600 * 0.40 + 400 * 0.10 + 200 * 1.60) / 1e6,
    "azure_data_zone": (600 * 0.44 + 400 * 0.11 + 200 * 1.76) / 1e6,
}


@pytest.mark.parametrize(("tier", "expected"), TIER_COSTS.items())
def test_costs_are_recomputed_per_tier_and_cached_tokens_are_charged_once(tier, expected):
    workspace = chatted(("q", reply("a", prompt=1_000, completion=200, cached=400)), price_tier=tier)
    (row,) = workspace.usage_rows()
    assert row.cost_usd == pytest.approx(expected)
    assert workspace.session_cost() == pytest.approx(expected)
    assert row.cached_tokens == 400 and row.uncached_text_tokens == 600


def test_price_override_applies_to_every_turn_and_can_be_removed():
    workspace = chatted(("q1", reply("a1", 1_000, 100)), ("q2", reply("a2", 2_000, 100, cached=1_000)))
    workspace.set_price_override(Price(input=1.0, output=2.0, cached_input=0.5))
    assert workspace.applied_price_label() == "custom prices (session override)"
    rows = workspace.usage_rows()
    assert [row.cost_usd for row in rows] == pytest.approx([1_200 / 1e6, (1_000 + 500 + 200) / 1e6])
    assert rows[-1].cumulative_cost_usd == pytest.approx(2_900 / 1e6)
    workspace.set_price_override(None)
    assert workspace.applied_price_label() == "OpenAI standard"
    assert workspace.usage_rows()[0].cost_usd == pytest.approx((1_000 * 0.4 + 100 * 1.6) / 1e6)


def test_session_cost_keeps_replies_the_conversation_no_longer_has():
    workspace = chatted(("q1", reply("a1", 1_000, 100)), ("q2", reply("a2", 2_000, 100)))
    both = workspace.session_cost()
    assert both == pytest.approx((3_000 * 0.4 + 200 * 1.6) / 1e6)
    workspace.retry()  # regenerate: the second reply leaves the conversation, but it was paid for
    assert len(workspace.usage_rows()) == 1 and workspace.session_cost() == pytest.approx(both)
    workspace.clear_chat()
    assert workspace.usage_rows() == [] and workspace.session_cost() == pytest.approx(both)
    workspace.price_tier = "openai_batch"  # the ledger is re-priced like the table
    assert workspace.session_cost() == pytest.approx((3_000 * 0.2 + 200 * 0.8) / 1e6)


def test_a_tier_without_a_price_for_the_model_costs_nothing_known():
    workspace = chatted(("q", reply("a", 1_000, 100)), price_tier="openai_priority")
    workspace.conversation.messages[-1].stats.model = "gpt-4o"  # gpt-4o has no priority price in the registry
    (row,) = workspace.usage_rows()
    assert row.cost_usd is None and workspace.session_cost() == 0


def test_tier_prices_come_from_the_registry():
    tiers = {tier: price for tier, _, price in tier_prices(resolve_model("gpt-4.1-mini"))}
    assert tiers["openai_standard"] == Price(input=0.40, cached_input=0.10, output=1.60)
    assert tiers["openai_batch"].cached_input is None
    assert tiers["azure_data_zone"] == Price(input=0.44, cached_input=0.11, output=1.76)


def test_batch_tier_matches_the_provider():
    mini, gpt4o = resolve_model("gpt-4.1-mini"), resolve_model("gpt-4o")
    assert batch_tier_for(mini, "openai_standard") == "openai_batch"
    assert batch_tier_for(mini, "openai_priority") == "openai_batch"
    assert batch_tier_for(mini, "azure_global") == "azure_global_batch"
    assert batch_tier_for(mini, "azure_data_zone") == "azure_data_zone_batch"
    assert batch_tier_for(gpt4o, "azure_global") is None


def test_next_request_cost_says_input_reserved_and_expected_output():
    workspace = chatted(("q1", reply("a1", 1_000, 100)), ("q2", reply("a2", 2_000, 300)))
    workspace.params.max_completion_tokens = 1_000
    breakdown = workspace.breakdown("next one")
    cost = next_request_cost(breakdown, workspace.price(), workspace.usage_rows())
    assert cost.input_usd == pytest.approx(breakdown.total * 0.40 / 1e6)
    assert cost.reserved_output_usd == pytest.approx(1_000 * 1.60 / 1e6)
    assert cost.expected_output_tokens == 200
    assert cost.expected_usd == pytest.approx(cost.input_usd + 200 * 1.60 / 1e6)
    assert cost.max_usd > cost.expected_usd
    assert next_request_cost(breakdown, workspace.price(), []).expected_usd is None


# --- estimates vs actual --------------------------------------------------------------------------
def test_estimate_error_and_running_accuracy():
    workspace = chatted(
        ("q1", reply("a1", 1_000, 10, estimate=1_010)),
        ("q2", reply("a2", 2_000, 10)),  # no estimate: left out of the accuracy
        ("q3", reply("a3", 2_000, 10, estimate=1_970)),
    )
    rows = workspace.usage_rows()
    assert [row.estimate_error for row in rows] == [10, None, -30]
    assert rows[0].estimate_error_fraction == pytest.approx(0.01)
    series = running_accuracy(rows)
    assert series[0].replies == 1 and series[0].accuracy == pytest.approx(0.99)
    assert series[1] == series[0]
    assert series[2].replies == 2
    assert series[2].mean_abs_error == pytest.approx(20)
    assert series[2].accuracy == pytest.approx(1 - (0.01 + 0.015) / 2)
    assert running_accuracy([]) == []


def test_images_of_the_history_are_attributed_to_every_later_turn():
    workspace = Workspace()
    workspace.conversation.add_user("look", [image(1024, 1024)])
    workspace.conversation.messages.append(reply("seen", 1_700, 10, cached=0))
    workspace.conversation.add_user("again")
    workspace.conversation.messages.append(reply("still", 1_800, 10, cached=1_024))
    first, second = workspace.usage_rows()
    assert first.image_tokens == second.image_tokens == 1_659
    assert first.uncached_image_tokens == 1_659 and first.uncached_text_tokens == 41
    assert second.uncached_image_tokens == 776  # what is left after the cached prefix
    assert second.uncached_text_tokens == 0


# --- projections ----------------------------------------------------------------------------------
def test_projection_scales_the_last_request_and_prices_caching_and_batch():
    workspace = chatted(("q1", reply("a1", 1_000, 200)), ("q2", reply("a2", 2_000, 200, cached=1_024)))
    rows = workspace.usage_rows()
    standard = workspace.price()
    batch = resolve_model("gpt-4.1-mini").price("openai_batch")
    projection = project(rows, standard, batch, "openai_batch", requests_per_day=500)
    per_request = (976 * 0.40 + 1_024 * 0.10 + 200 * 1.60) / 1e6
    assert projection.per_request == pytest.approx(per_request)
    assert projection.per_thousand == pytest.approx(per_request * 1_000)
    assert projection.per_million == pytest.approx(per_request * 1_000_000)
    assert projection.per_month == pytest.approx(per_request * 500 * DAYS_PER_MONTH)
    assert projection.caching_saved == pytest.approx(1_024 * 0.30 / 1e6)
    # The repeated prefix is the previous request and its reply: 1,200 tokens.
    assert projection.caching_could_save == pytest.approx(1_200 * 0.30 / 1e6)
    assert projection.batch_saves == pytest.approx(per_request - (2_000 * 0.20 + 200 * 0.80) / 1e6)
    assert project([], standard, batch, "openai_batch", 500) is None
    assert project(rows, standard, None, None, 500).batch_saves is None


def test_turns_left_at_the_current_growth_rate():
    workspace = chatted(
        (words(996), Message(role="assistant", content=words(996))),  # 1,000 each with overhead and role
        (words(996), Message(role="assistant", content=words(996))),
        connection=AZURE_STANDARD,
    )
    workspace.params.max_completion_tokens = 1_000
    breakdown = workspace.breakdown()
    assert growth_per_turn(breakdown) == 2_000
    assert breakdown.free == 128_000 - 1_000 - 4_003
    assert turns_left(breakdown) == (128_000 - 1_000 - 4_003) // 2_000
    assert turns_left(Workspace().breakdown()) is None


# --- making room -----------------------------------------------------------------------------------
def long_chat(exchanges: int, tokens: int, **fields) -> Workspace:
    """``exchanges`` user/assistant pairs of ``tokens`` tokens each, then an unanswered question."""
    workspace = chatted(
        *[(words(tokens), Message(role="assistant", content=words(tokens, "beta"))) for _ in range(exchanges)],
        connection=AZURE_STANDARD,
        system_prompt="Keep me.",
        **fields,
    )
    workspace.params.max_completion_tokens = 32_768  # asked for explicitly: the API needs that room
    workspace.submit("And the latest question?")
    return workspace


def test_without_an_output_limit_only_the_prompt_must_fit():
    workspace = long_chat(4, 15_000)
    workspace.params.max_completion_tokens = None  # the API then shortens the reply instead of refusing
    breakdown = workspace.breakdown()
    assert breakdown.fits and breakdown.used > breakdown.window  # shown as full, but sendable
    assert workspace.hold_oversized_request() is None and workspace.awaiting_reply
    workspace.conversation.add_user(words(10_000))
    assert not workspace.breakdown().fits and workspace.hold_oversized_request() is not None


def test_the_gate_counts_the_request_as_sent_not_the_pending_images():
    workspace = long_chat(1, 100)
    workspace.pending_images = [ImageAttachment(name="a.png", url="data:,", width=1024, height=1024)]
    next_message = workspace.breakdown().total - workspace.breakdown(with_next_message=False).total
    assert next_message == 1_659 + 3 + 1  # the image, per-message overhead, role


def test_drop_oldest_turns_makes_the_request_fit_and_queues_it():
    workspace = long_chat(4, 15_000)  # ~120k tokens + 32,768 reserved > 128,000
    dropped_reply = workspace.conversation.messages[1]
    dropped_reply.stats = ReplyStats(model="gpt-4.1-mini", prompt_tokens=15_010, completion_tokens=15_004)
    assert not workspace.breakdown().fits
    held = workspace.hold_oversized_request()
    assert held is not None and not workspace.awaiting_reply  # blocked, the message kept
    assert workspace.conversation.messages[-1].content == "And the latest question?"

    plan = workspace.plan_room("turns")
    assert plan is not None and plan.fits and plan.count == 1 and plan.messages == 2
    assert workspace.make_room("turns") == plan
    breakdown = workspace.breakdown()
    assert breakdown.fits and breakdown.tokens_of("system") > 0
    assert len(workspace.conversation.messages) == 7
    assert workspace.conversation.messages[-1].content == "And the latest question?"
    assert workspace.awaiting_reply  # sent on the next run
    assert dropped_reply.id in workspace.usage_ledger  # dropped, but paid for: still in the session cost
    assert workspace.hold_oversized_request() is None


def test_dropping_turns_keeps_tool_results_with_their_calls():
    workspace = long_chat(3, 20_000)
    first_reply = workspace.conversation.messages[1]
    first_reply.tool_calls = [ToolCall(id="c1", name="lookup", arguments="{}")]
    workspace.conversation.messages.insert(2, Message(role="tool", content="result", tool_call_id="c1"))
    plan = workspace.make_room("turns")
    assert plan.messages == 3  # user, assistant with the call, and the tool result
    assert workspace.conversation.messages[0].role == "user"


def test_when_dropping_every_old_turn_is_not_enough_the_plan_says_so():
    workspace = Workspace(connection=AZURE_STANDARD)
    workspace.conversation.add_user(words(1_000))
    workspace.conversation.messages.append(Message(role="assistant", content="ok"))
    workspace.params.max_completion_tokens = 32_768
    workspace.submit(words(100_000))  # with the reply's room, the latest message alone is too big
    plan = workspace.plan_room("turns")
    assert plan is not None and not plan.fits and plan.count == 1
    assert workspace.plan_room("images") is None  # nothing to drop
    assert Workspace().plan_room("turns") is None  # fits already


def test_drop_images_oldest_first_until_it_fits():
    workspace = Workspace(connection=AZURE_STANDARD)
    workspace.params.max_completion_tokens = 10_000
    oldest, middle = image(2048, 2048), image(2048, 2048)
    remote = image(None, None, url="https://example.com/x.png")  # unknown size: frees nothing, kept
    workspace.conversation.add_user(words(112_600), [oldest, remote])
    workspace.conversation.messages.append(Message(role="assistant", content="seen"))
    workspace.conversation.add_user("and this one", [middle])
    workspace.pending_images = [image(2048, 2048)]  # waits for the next message: not in the held request
    over = workspace.breakdown(with_next_message=False).overflow
    assert 6_636 < over <= 2 * 6_636  # both of the request's 6,636-token images must go
    plan = workspace.make_room("images")
    assert plan.count == 2 and plan.fits and plan.freed_tokens == 2 * 6_636
    assert workspace.conversation.messages[0].images == [remote]
    assert workspace.conversation.messages[2].images == []
    assert len(workspace.pending_images) == 1  # never dropped: it frees nothing in this request
    assert workspace.breakdown(with_next_message=False).fits


# --- export -----------------------------------------------------------------------------------------
def test_usage_csv_has_one_row_per_reply():
    workspace = chatted(("q1", reply("a1", 1_000, 200, cached=400, estimate=990)), ("q2", reply("a2", 1_500, 50)))
    text = usage_csv(workspace.usage_rows(), "OpenAI standard")
    records = list(csv.DictReader(io.StringIO(text)))
    assert tuple(records[0]) == CSV_COLUMNS
    assert [record["turn"] for record in records] == ["1", "2"]
    assert records[0]["prompt_tokens"] == "1000" and records[0]["cached_tokens"] == "400"
    assert records[0]["estimated_prompt_tokens"] == "990" and records[0]["estimate_error"] == "-10"
    assert records[1]["estimated_prompt_tokens"] == "" and records[1]["estimate_error"] == ""
    assert float(records[0]["cost_usd"]) == pytest.approx(TIER_COSTS["openai_standard"])
    assert float(records[1]["cumulative_cost_usd"]) == pytest.approx(
        TIER_COSTS["openai_standard"] + (1_500 * 0.4 + 50 * 1.6) / 1e6
    )
    assert {record["prices"] for record in records} == {"OpenAI standard"}


def test_token_caches_belong_to_the_session():
    first, second = Workspace(), Workspace()
    first.conversation.add_user("private to the first session")
    first.breakdown()
    assert set(first.message_counters) == {"gpt-4.1-mini"}
    assert second.message_counters == {}
    second.breakdown()
    assert second.message_counters["gpt-4.1-mini"] is not first.message_counters["gpt-4.1-mini"]


def test_pending_images_do_not_make_drop_oldest_drop_more():
    without = long_chat(4, 15_000).plan_room("turns")
    workspace = long_chat(4, 15_000)
    workspace.pending_images = [image(2048, 2048) for _ in range(5)]
    assert workspace.plan_room("turns") == without and without.count == 1


def test_one_outlier_cannot_sink_the_accuracy_headline():
    workspace = chatted(
        ("q1", reply("a1", 1_000, 10, estimate=1_010)),  # 1% off
        ("q2", reply("a2", 1_000, 10, estimate=990)),  # 1% off
        ("q3", reply("a3", 100, 10, estimate=1_000)),  # 900% off: an image of unknown size, say
    )
    accuracy = running_accuracy(workspace.usage_rows())[-1]
    assert accuracy.mean_abs_error_fraction == pytest.approx((0.01 + 0.01 + 9.0) / 3)  # the mean would read 0 %
    assert accuracy.median_abs_error_fraction == pytest.approx(0.01)
    assert accuracy.accuracy == pytest.approx(0.99)
    assert accuracy.worst_abs_error_fraction == pytest.approx(9.0)


def test_the_ledger_and_the_conversation_are_counted_once():
    workspace = chatted(("q1", reply("a1", 1_000, 100)), ("q2", reply("a2", 2_000, 100)))
    expected = (3_000 * 0.4 + 200 * 1.6) / 1e6
    workspace.record_usage()
    assert workspace.session_cost() == pytest.approx(expected) and workspace.paid_reply_count() == 2
    workspace.delete_message(workspace.conversation.messages[-1].id)
    assert workspace.session_cost() == pytest.approx(expected) and len(workspace.usage_rows()) == 1


def test_tier_and_override_go_through_the_workspace():
    workspace = chatted(("q", reply("a", 1_000, 100)))
    workspace.set_price_tier("openai_batch")
    assert workspace.applied_price_label() == "OpenAI Batch API"
    assert workspace.usage_rows()[0].cost_usd == pytest.approx((1_000 * 0.2 + 100 * 0.8) / 1e6)
