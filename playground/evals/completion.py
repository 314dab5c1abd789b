"""One request's complete reply, collected from the client's stream, and the seams tests replace.

:class:`Completer` is what the scheduler calls for one row; :class:`ClientCompleter` is the real
one (a ``PlaygroundClient`` per connection reference). :class:`ClientJudge` drives the LLM judge
through the same client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from playground.client import (
    Finished,
    PlaygroundClient,
    RefusalDelta,
    ServedModel,
    StreamMetrics,
    StreamOpened,
    TextDelta,
    UsageReport,
)
from playground.errors import ErrorKind, PlaygroundError
from playground.evals.graders import JudgeReply
from playground.evals.variants import Variant
from playground.request import ChatParams, ChatRequest


@dataclass
class Completion:
    """A finished reply: its text, the API's usage and how long it took."""

    text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    finish_reason: str | None = None
    latency_s: float | None = None
    time_to_first_token_s: float | None = None
    served_model: str | None = None
    request_id: str | None = None
    refusal: str | None = None


class StoppedError(Exception):
    """The caller asked to stop while the reply was streaming (the partial reply is dropped)."""


def collect(
    client: PlaygroundClient,
    request: ChatRequest,
    *,
    on_text: Callable[[str], None] | None = None,
    refresh_interval_s: float = 0.0,
    should_stop: Callable[[], bool] | None = None,
) -> Completion:
    """Stream ``request`` to the end and return the reply.

    ``on_text`` gets the text so far at most once per ``refresh_interval_s`` while text arrives,
    and once more with all of it when the stream ends for any reason (so a failed stream's partial
    text reaches the caller). ``should_stop`` is checked between events (raising StoppedError).
    Raises PlaygroundError as the client does.
    """
    result = Completion()
    parts: list[str] = []
    shown = 0  # how many parts on_text has seen: the text is joined only when it is handed over
    last_shown = 0.0
    refusal: list[str] = []
    started = time.perf_counter()
    events = client.stream_chat(request)
    try:
        for event in events:
            if should_stop is not None and should_stop():
                raise StoppedError
            match event:
                case TextDelta(text=text):
                    parts.append(text)
                    if on_text is not None and (now := time.perf_counter()) - last_shown >= refresh_interval_s:
                        last_shown, shown = now, len(parts)
                        on_text("".join(parts))
                case RefusalDelta(text=text):
                    refusal.append(text)
                case StreamOpened(request_id=request_id):
                    result.request_id = request_id
                case ServedModel(name=name):
                    result.served_model = name
                case UsageReport():
                    result.prompt_tokens = event.prompt_tokens
                    result.completion_tokens = event.completion_tokens
                    result.cached_tokens = event.cached_tokens
                case Finished(reason=reason):
                    result.finish_reason = reason
                case StreamMetrics():
                    result.time_to_first_token_s = event.time_to_first_token_s
                    result.latency_s = event.total_time_s
    finally:  # closes the HTTP stream when we stop early or fail
        close = getattr(events, "close", None)
        if close is not None:
            close()
        if on_text is not None and len(parts) > shown:
            on_text("".join(parts))
    result.text = "".join(parts)
    result.refusal = "".join(refusal) or None
    if result.latency_s is None:
        result.latency_s = time.perf_counter() - started
    return result


class Completer(Protocol):
    """Sends one variant's rendered request and returns the reply (raises PlaygroundError)."""

    def __call__(
        self, variant: Variant, request: ChatRequest, should_stop: Callable[[], bool] | None = None
    ) -> Completion: ...


class ClientCompleter:
    """The real completer: ``clients`` maps a variant's ``connection`` reference to its client."""

    def __init__(self, clients: Mapping[str, PlaygroundClient]) -> None:
        self.clients = clients

    def client_for(self, variant: Variant) -> PlaygroundClient:
        try:
            return self.clients[variant.connection]
        except KeyError:
            raise PlaygroundError(
                ErrorKind.CONFIGURATION,
                f"Variant {variant.title!r} uses the connection {variant.connection!r}, which is not set up.",
            ) from None

    def __call__(
        self, variant: Variant, request: ChatRequest, should_stop: Callable[[], bool] | None = None
    ) -> Completion:
        return collect(self.client_for(variant), request, should_stop=should_stop)


class ClientJudge:
    """The LLM judge through a real client, priced from the registry (``price_tier`` or the
    provider's default tier). Asks for a JSON object at temperature 0."""

    def __init__(self, client: PlaygroundClient, *, provider: str = "openai", price_tier: str | None = None) -> None:
        self.client = client
        self.provider = provider
        self.price_tier = price_tier

    def __call__(self, model: str, messages: list[dict[str, Any]]) -> JudgeReply:
        request = ChatRequest(
            model=model, messages=messages, params=ChatParams(temperature=0.0, response_format="json_object")
        )
        reply = collect(self.client, request)
        cost, _ = self.pricing(model).cost(
            reply.prompt_tokens, reply.completion_tokens, reply.cached_tokens, served_model=reply.served_model
        )
        return JudgeReply(text=reply.text, cost_usd=cost)  # None: no price known (unknown, not $0)

    def pricing(self, model: str) -> Variant:
        """What prices the judge's replies on ``model`` (``pricing(model).price()[0]`` is None: unpriced)."""
        return Variant(id="judge", model=model, provider=self.provider, price_tier=self.price_tier)
