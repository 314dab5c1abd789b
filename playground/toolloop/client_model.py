"""The loop's model endpoint over the real client: :func:`playground.chat.stream_reply` streaming.

Errors arrive as our :class:`~playground.errors.PlaygroundError` sentences (recorded on the step),
never as SDK exceptions; the cancel token is checked at every streamed update.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from contextlib import closing
from typing import cast

from playground.chat import stream_reply
from playground.client import PlaygroundClient
from playground.conversation import Message, ReplyStats, Status
from playground.registry import Price
from playground.request import ChatParams, ChatRequest
from playground.toolloop.loop import AssistantReply, CancelToken, ModelCall, StepRequest
from playground.toolloop.timeline import StepStats


class StreamingModel:
    """Sends each loop step through ``client`` with ``params``, priced by ``price_of``
    (the Workspace's ``reply_price``). ``on_progress`` gets the partial assistant message at every
    redraw (at most once per ``refresh_interval_s``), for a live view of the streaming step.
    ``on_reply`` gets each step's reply once its stream ended, however it ended (complete, failed,
    stopped, or the caller interrupted): the Workspace records its usage, since it was paid for."""

    def __init__(
        self,
        client: PlaygroundClient,
        model: str,
        *,
        params: ChatParams | None = None,
        price_of: Callable[[ReplyStats], Price | None] | None = None,
        refresh_interval_s: float = 0.05,
        on_progress: Callable[[Message], None] | None = None,
        on_reply: Callable[[Message], None] | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.params = params or ChatParams()
        self.price_of = price_of
        self.refresh_interval_s = refresh_interval_s
        self.on_progress = on_progress
        self.on_reply = on_reply

    def complete(self, request: StepRequest, cancel: CancelToken) -> AssistantReply:
        chat_request = ChatRequest(
            model=self.model,
            messages=request.messages,
            params=self.params,
            tools=request.tools,
            tool_choice=request.tool_choice,
            parallel_tool_calls=request.parallel_tool_calls,
        )
        reply = Message(role="assistant", stats=ReplyStats(model=self.model))
        started = time.perf_counter()
        # stream_reply is a generator (typed as an Iterator): closing it closes the HTTP stream.
        updates = cast(
            Generator[Message, None, None],
            stream_reply(
                self.client, chat_request, reply, price_of=self.price_of, refresh_interval_s=self.refresh_interval_s
            ),
        )
        try:
            with closing(updates):
                for partial in updates:
                    if self.on_progress is not None:
                        self.on_progress(partial)
                    if cancel.cancelled:
                        break  # closing the generator closes the HTTP stream and marks the reply STOPPED
        finally:
            if self.on_reply is not None:
                self.on_reply(reply)
        stats = reply.stats or ReplyStats(model=self.model)
        return AssistantReply(
            content=reply.content,
            refusal=reply.refusal,
            tool_calls=[ModelCall(call.id, call.name, call.arguments) for call in reply.sent_tool_calls],
            stats=StepStats(
                prompt_tokens=stats.prompt_tokens,
                completion_tokens=stats.completion_tokens,
                cached_tokens=stats.cached_tokens,
                cost_usd=stats.cost_usd,
                latency_s=stats.total_time_s if stats.total_time_s is not None else time.perf_counter() - started,
                time_to_first_token_s=stats.time_to_first_token_s,
                finish_reason=stats.finish_reason,
                request_id=stats.request_id,
                served_model=stats.served_model,
            ),
            error=reply.error.message if reply.status is Status.FAILED and reply.error else None,
            stopped=reply.status is Status.STOPPED,
        )
