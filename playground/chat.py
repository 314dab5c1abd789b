"""Running one chat turn: stream a reply into the conversation as it arrives.

The reply is written into its :class:`~playground.conversation.Message` event by event, so
whatever stops the run (Stop, another click, an error) leaves the partial text in place.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import closing

from playground.client import (
    ContentFilterReport,
    Finished,
    PlaygroundClient,
    RefusalDelta,
    ServedModel,
    ServerNotice,
    StreamMetrics,
    StreamOpened,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)
from playground.conversation import ErrorInfo, Message, ReplyStats, Status, ToolCall
from playground.costs import request_cost
from playground.errors import ErrorKind, PlaygroundError
from playground.registry import Price
from playground.request import ChatRequest
from playground.tokens import get_encoding

DEFAULT_REFRESH_S = 0.05


def stream_reply(
    client: PlaygroundClient,
    request: ChatRequest,
    reply: Message,
    *,
    price_of: Callable[[ReplyStats], Price | None] | None = None,
    estimated_prompt_tokens: int | None = None,
    refresh_interval_s: float = DEFAULT_REFRESH_S,
) -> Iterator[Message]:
    """Fill ``reply`` from a streamed completion, yielding it whenever the UI should redraw.

    Yields at most once per ``refresh_interval_s`` while text arrives, and once at the end. Errors
    are recorded on the message (status FAILED, partial text kept), never raised. If the consumer
    stops iterating early, the reply is marked STOPPED and the HTTP stream is closed.
    """
    stats = reply.stats or ReplyStats(model=request.model)
    stats.estimated_prompt_tokens = estimated_prompt_tokens
    reply.stats = stats
    reply.status = Status.STREAMING
    calls: dict[int, ToolCall] = {}
    # Appending is O(1) where `content += text` copies the whole reply on every token; the parts are
    # joined into reply.content at each redraw and, whatever ends the stream, in `finally`.
    text_parts = [reply.content] if reply.content else []
    last_yield = 0.0
    shown_output = False
    started = time.perf_counter()
    stats.pace_marks = []
    try:
        with closing(client.stream_chat(request)) as events:
            for event in events:
                match event:
                    case TextDelta(text=text):  # by far the most frequent event: matched first
                        text_parts.append(text)
                    case StreamOpened(request_id=request_id):
                        stats.request_id = request_id
                    case ServedModel(name=name):
                        stats.served_model = name
                    case ServerNotice(text=text):
                        stats.server_notes.append(text)
                    case RefusalDelta(text=text):
                        reply.refusal = (reply.refusal or "") + text
                    case ToolCallDelta():
                        _join_tool_call(calls, event)
                        reply.tool_calls = [calls[key] for key in sorted(calls)]
                    case UsageReport():
                        stats.prompt_tokens = event.prompt_tokens
                        stats.completion_tokens = event.completion_tokens
                        stats.cached_tokens = event.cached_tokens
                        # Priced now, not before sending: the stream has told us which model served it.
                        if price_of is not None and (price := price_of(stats)) is not None:
                            stats.cost_usd = request_cost(
                                price, event.prompt_tokens, event.completion_tokens, event.cached_tokens
                            )
                    case Finished(reason=reason):
                        stats.finish_reason = reason
                    case ContentFilterReport():
                        if event.filtered_categories:
                            stats.content_filter[event.stage] = event.filtered_categories
                    case StreamMetrics():
                        stats.time_to_first_token_s = event.time_to_first_token_s
                        stats.tokens_per_second = event.tokens_per_second
                        stats.total_time_s = event.total_time_s
                now = time.perf_counter()
                # The first visible output is drawn at once: throttling it would inflate time to first token.
                first_output = not shown_output and bool(text_parts or reply.refusal or calls)
                if first_output or now - last_yield >= refresh_interval_s:
                    last_yield = now
                    shown_output = shown_output or first_output
                    reply.content = "".join(text_parts)
                    _mark_pace(stats, now - started, reply)
                    yield reply
        reply.status = Status.COMPLETE
    except PlaygroundError as error:
        reply.status = Status.FAILED
        reply.error = ErrorInfo.from_error(error)
        stats.request_id = stats.request_id or error.request_id
    except Exception as error:  # a bug or an unforeseen library error must not take the page down
        reply.status = Status.FAILED
        reply.error = ErrorInfo(
            ErrorKind.SERVER, f"Unexpected error ({type(error).__name__}); the partial reply is kept.", retryable=True
        )
    finally:
        reply.content = "".join(text_parts)
        _mark_pace(stats, time.perf_counter() - started, reply)
        if reply.status is Status.STREAMING:
            reply.status = Status.STOPPED
        if stats.prompt_tokens is None and (reply.content or reply.refusal or reply.tool_calls):
            _estimate_usage(reply, stats, price_of)
    yield reply


def _estimate_usage(reply: Message, stats: ReplyStats, price_of: Callable[[ReplyStats], Price | None] | None) -> None:
    """No usage chunk came (a server that sends none, a stopped or broken stream): count what did
    arrive with our tokenizer, and say the figures are an estimate."""
    encoding = get_encoding()
    produced = [reply.content, reply.refusal or ""] + [call.name + call.arguments for call in reply.tool_calls]
    stats.completion_tokens = sum(len(encoding.encode(text, disallowed_special=())) for text in produced if text)
    stats.prompt_tokens = stats.estimated_prompt_tokens
    stats.usage_estimated = True
    if price_of is not None and stats.prompt_tokens is not None and (price := price_of(stats)) is not None:
        stats.cost_usd = request_cost(price, stats.prompt_tokens, stats.completion_tokens, 0)


def output_characters(reply: Message) -> int:
    """How much output a reply shows: its text, refusal and tool-call arguments (a replay's measure)."""
    return len(reply.content) + len(reply.refusal or "") + sum(len(call.arguments) for call in reply.tool_calls)


def _mark_pace(stats: ReplyStats, elapsed_s: float, reply: Message) -> None:
    """Note what the reply showed at this redraw (only at redraws: a few marks a second, not per token)."""
    shown = output_characters(reply)
    if shown > (stats.pace_marks[-1][1] if stats.pace_marks else 0):
        stats.pace_marks.append((round(elapsed_s, 3), shown))


def _join_tool_call(calls: dict[int, ToolCall], delta: ToolCallDelta) -> None:
    call = calls.get(delta.index)
    if call is None:
        calls[delta.index] = ToolCall(
            id=delta.id or f"call_{delta.index}", name=delta.name or "", arguments=delta.arguments
        )
        return
    if delta.id:
        call.id = delta.id
    if delta.name:
        call.name += delta.name
    call.arguments += delta.arguments
