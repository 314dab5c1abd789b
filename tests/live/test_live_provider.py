"""Optional: one real request to the provider, only when PLAYGROUND_LIVE=1 and a key are set."""

from __future__ import annotations

import os

import pytest

from playground.chat import stream_reply
from playground.connection import settings_from_sources
from playground.conversation import Conversation, Status
from playground.request import ChatParams, ChatRequest
from playground.workspace import Workspace

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        os.environ.get("PLAYGROUND_LIVE") != "1"
        or not (os.environ.get("OPENAI_API_KEY") or os.environ.get("AZURE_OPENAI_ENDPOINT")),
        reason="live test: set PLAYGROUND_LIVE=1 and OPENAI_API_KEY (or the AZURE_OPENAI_* variables)",
    ),
]


def test_a_real_streamed_reply_has_usage_and_cost():
    workspace = Workspace(connection=settings_from_sources(os.environ))
    conversation = Conversation()
    conversation.add_user("Reply with the single word: pong")
    request = ChatRequest(
        model=workspace.connection.request_model,
        messages=conversation.to_api(),
        params=ChatParams(max_completion_tokens=5, temperature=0),
    )
    reply = conversation.start_reply(request.model)
    list(stream_reply(workspace.client(), request, reply, price_of=workspace.reply_price))
    assert reply.status is Status.COMPLETE, reply.error
    assert "pong" in reply.content.lower()
    assert reply.stats.prompt_tokens and reply.stats.cost_usd and reply.stats.request_id
