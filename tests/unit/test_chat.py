"""stream_reply: the reply is written into the conversation as it arrives, and kept whatever happens."""

from __future__ import annotations

import json

import pytest

from playground.chat import stream_reply
from playground.client import PlaygroundClient
from playground.conversation import Conversation, Status
from playground.errors import ErrorKind
from playground.registry import Price
from playground.request import ChatRequest
from tests.fakes.server import Scenario

PRICE = Price(input=0.40, cached_input=0.10, output=1.60)


def start(openai_settings, text="Hello"):
    conversation = Conversation()
    conversation.add_user(text)
    request = ChatRequest(model="gpt-4.1-mini", messages=conversation.to_api())
    reply = conversation.start_reply("gpt-4.1-mini")
    return conversation, request, reply, PlaygroundClient(openai_settings)


def test_complete_reply_has_text_stats_and_cost(fake, openai_settings):
    fake.enqueue(Scenario(text="alpha beta", cached_tokens=2, usage=None))
    _, request, reply, client = start(openai_settings)
    list(stream_reply(client, request, reply, price_of=lambda _: PRICE, estimated_prompt_tokens=8))
    assert reply.status is Status.COMPLETE and reply.content == "alpha beta"
    stats = reply.stats
    assert stats.finish_reason == "stop" and stats.request_id.startswith("req_")
    assert stats.estimated_prompt_tokens == 8
    expected = ((stats.prompt_tokens - 2) * 0.40 + 2 * 0.10 + stats.completion_tokens * 1.60) / 1e6
    assert stats.cost_usd == pytest.approx(expected)
    assert stats.time_to_first_token_s is not None and stats.tokens_per_second


def test_yields_while_streaming_and_throttles(fake, openai_settings):
    fake.enqueue(Scenario(text=" ".join(["w"] * 40)))
    _, request, reply, client = start(openai_settings)
    every_event = list(stream_reply(client, request, reply, refresh_interval_s=0))
    assert len(every_event) > 40  # one redraw per event, plus the final one
    fake.enqueue(Scenario(text=" ".join(["w"] * 40)))
    _, request, reply, client = start(openai_settings)
    contents = [update.content for update in stream_reply(client, request, reply, refresh_interval_s=60)]
    # The stream opening, the first visible text at once (time to first token), then the final state.
    assert contents == ["", "w", " ".join(["w"] * 40)]


def test_stopping_early_keeps_partial_text_and_marks_it_stopped(fake, openai_settings):
    fake.enqueue(Scenario(text=" ".join(f"w{i}" for i in range(50)), chunk_delay=0.005))
    conversation, request, reply, client = start(openai_settings)
    updates = stream_reply(client, request, reply, refresh_interval_s=0)
    for _ in range(10):
        next(updates)
    updates.close()  # what a Stop click does to the running script
    assert reply.status is Status.STOPPED
    assert reply.content and "w49" not in reply.content
    assert conversation.messages[-1] is reply
    assert len(fake.chat_requests()) == 1


def test_error_midway_keeps_partial_reply_and_records_error(fake, openai_settings):
    fake.enqueue(Scenario(text=" ".join(f"w{i}" for i in range(30)), cut_after=6))
    conversation, request, reply, client = start(openai_settings)
    list(stream_reply(client, request, reply))
    assert reply.status is Status.FAILED and reply.content.startswith("w0")
    assert reply.error.kind is ErrorKind.STREAM_INTERRUPTED and reply.error.retryable
    assert reply.error.request_id
    assert conversation.messages[0].content == "Hello"  # the user's message is intact


def test_error_before_any_token(fake, openai_settings):
    fake.enqueue(Scenario(fault="insufficient_quota"))
    _, request, reply, client = start(openai_settings)
    list(stream_reply(client, request, reply))
    assert reply.status is Status.FAILED and reply.content == ""
    assert reply.error.kind is ErrorKind.QUOTA and not reply.error.retryable


def test_parallel_tool_calls_join_by_index(fake, openai_settings):
    calls = [
        {"name": "get_weather", "arguments": json.dumps({"city": "Paris", "unit": "celsius"})},
        {"name": "get_time", "arguments": json.dumps({"tz": "Europe/Paris"})},
    ]
    fake.enqueue(Scenario(tool_calls=calls))
    _, request, reply, client = start(openai_settings)
    list(stream_reply(client, request, reply))
    assert [call.name for call in reply.tool_calls] == ["get_weather", "get_time"]
    assert [json.loads(call.arguments) for call in reply.tool_calls] == [
        {"city": "Paris", "unit": "celsius"},
        {"tz": "Europe/Paris"},
    ]
    assert reply.stats.finish_reason == "tool_calls"
    assert reply.to_api()["tool_calls"][1]["function"]["name"] == "get_time"


def test_refusal_is_kept_apart_from_content(fake, openai_settings):
    fake.enqueue(Scenario(refusal="I can't help with that."))
    _, request, reply, client = start(openai_settings)
    list(stream_reply(client, request, reply))
    assert reply.refusal == "I can't help with that." and reply.content == ""


def test_length_finish_is_recorded(fake, openai_settings):
    fake.enqueue(Scenario(text="cut here", finish_reason="length"))
    _, request, reply, client = start(openai_settings)
    list(stream_reply(client, request, reply))
    assert reply.status is Status.COMPLETE and reply.stats.finish_reason == "length"


def test_an_unexpected_error_fails_the_reply_instead_of_the_page(openai_settings):
    class BrokenClient:
        def stream_chat(self, request):
            yield from ()
            raise RuntimeError("library bug")

    conversation = Conversation()
    conversation.add_user("hi")
    reply = conversation.start_reply("m")
    list(stream_reply(BrokenClient(), ChatRequest(model="m", messages=conversation.to_api()), reply))
    assert reply.status is Status.FAILED and "RuntimeError" in reply.error.message and reply.error.retryable


def test_a_stopped_reply_shows_the_tokens_that_arrived_as_an_estimate(fake, openai_settings):
    fake.enqueue(Scenario(text=" ".join(f"w{i}" for i in range(50)), chunk_delay=0.005))
    _, request, reply, client = start(openai_settings)
    updates = stream_reply(
        client, request, reply, price_of=lambda _: PRICE, estimated_prompt_tokens=9, refresh_interval_s=0
    )
    for _ in range(10):
        next(updates)
    updates.close()
    stats = reply.stats
    assert stats.usage_estimated and stats.prompt_tokens == 9
    assert 0 < stats.completion_tokens < 50 and stats.cost_usd > 0


def test_a_server_without_usage_gets_our_estimate_labelled(fake, openai_settings):
    fake.configure(mode="llama_cpp")
    _, request, reply, client = start(openai_settings, "count these words")
    list(stream_reply(client, request, reply, estimated_prompt_tokens=11))
    assert reply.status is Status.COMPLETE and reply.stats.usage_estimated
    assert reply.stats.completion_tokens == len(client_tokens(reply.content))


def test_usage_from_the_server_is_not_an_estimate(fake, openai_settings):
    _, request, reply, client = start(openai_settings)
    list(stream_reply(client, request, reply, estimated_prompt_tokens=11))
    assert not reply.stats.usage_estimated and reply.stats.server_notes == []


def client_tokens(text):
    from playground.tokens import get_encoding

    return get_encoding().encode(text)
