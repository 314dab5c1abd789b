"""The shared conversation: typed messages every panel reads and writes, and its edit operations.

Messages keep everything the UI needs to show a turn honestly: status (a stopped or failed reply is
kept and marked), the error that ended it, and the reply's measured stats.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from playground.errors import ErrorKind, PlaygroundError
from playground.vision.tokens import Detail, image_tokens

if TYPE_CHECKING:
    from playground.schema import ReplyValidation


def new_id() -> str:
    return uuid.uuid4().hex[:12]


class Status(StrEnum):
    COMPLETE = "complete"
    STREAMING = "streaming"
    STOPPED = "stopped"  # the user stopped it; the partial reply is kept
    FAILED = "failed"  # an error ended it; any partial reply is kept
    INTERRUPTED = "interrupted"  # the process ended while it streamed (found so on reload); text kept


@dataclass
class ImageAttachment:
    """An image carried by a user message: a normalised upload (data URL) or a remote URL."""

    name: str
    url: str
    detail: Detail = "auto"
    width: int | None = None
    height: int | None = None
    sent_bytes: int | None = None
    id: str = field(default_factory=new_id)

    @property
    def is_remote(self) -> bool:
        return not self.url.startswith("data:")

    def estimated_tokens(self, model: str) -> int | None:
        """Input tokens this image costs on ``model``; None when its size is unknown (a remote URL)."""
        if self.width is None or self.height is None:
            return None
        return image_tokens(self.width, self.height, self.detail, model)

    def payload(self) -> bytes | None:
        """The image bytes of a data URL (None for a remote URL or an undecodable one)."""
        if self.is_remote:
            return None
        try:
            return base64.b64decode(self.url.split(",", 1)[1], validate=True)
        except (IndexError, binascii.Error):
            return None

    def to_api(self) -> dict[str, Any]:
        return {"type": "image_url", "image_url": {"url": self.url, "detail": self.detail}}


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str = ""

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass
class ReplyStats:
    """What one reply cost and how fast it came. Token figures are the API's own usage."""

    model: str
    served_model: str | None = None
    prompt_tokens: int | None = None
    cached_tokens: int = 0
    completion_tokens: int | None = None
    estimated_prompt_tokens: int | None = None
    cost_usd: float | None = None
    time_to_first_token_s: float | None = None
    tokens_per_second: float | None = None
    total_time_s: float | None = None
    finish_reason: str | None = None
    request_id: str | None = None
    content_filter: dict[str, Any] = field(default_factory=dict)
    # The server sent no usage (llama.cpp, a stopped reply): the token figures are our tokenizer's.
    usage_estimated: bool = False
    # How the server handled the request, in words (a fallback, an ignored feature).
    server_notes: list[str] = field(default_factory=list)
    # (seconds since the request was sent, characters of output so far) at each redraw of the live
    # stream: what a replay follows to play the reply back at its own pace (playground.demo).
    pace_marks: list[tuple[float, int]] = field(default_factory=list)


@dataclass
class ErrorInfo:
    """A PlaygroundError frozen into the message it ended (exceptions don't belong in state)."""

    kind: ErrorKind
    message: str
    request_id: str | None = None
    retryable: bool = False

    @classmethod
    def from_error(cls, error: PlaygroundError) -> ErrorInfo:
        return cls(error.kind, error.message, error.request_id, error.retryable)


@dataclass
class Message:
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    images: list[ImageAttachment] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    refusal: str | None = None
    status: Status = Status.COMPLETE
    error: ErrorInfo | None = None
    stats: ReplyStats | None = None
    # The reply checked against the json_schema it was asked to follow (None: no schema was asked).
    schema_check: ReplyValidation | None = None
    # Played back from a recording (playground.demo), not asked of the model: nothing was sent or billed.
    replayed: bool = False
    id: str = field(default_factory=new_id)

    @property
    def is_partial(self) -> bool:
        return self.status in (Status.STOPPED, Status.FAILED, Status.INTERRUPTED)

    @property
    def is_sent(self) -> bool:
        """Whether this message goes into the next request: a stopped or failed reply counts only
        through the text it got (it was never a complete turn of the dialogue)."""
        return self.status is Status.COMPLETE or bool(self.content)

    @property
    def sent_tool_calls(self) -> list[ToolCall]:
        """Tool calls of a complete reply; a cut-off one's are partial JSON the API would reject."""
        return self.tool_calls if self.status is Status.COMPLETE else []

    def to_api(self) -> dict[str, Any]:
        """This message in Chat Completions format."""
        message: dict[str, Any] = {"role": self.role}
        if self.images:
            parts: list[dict[str, Any]] = [{"type": "text", "text": self.content}] if self.content else []
            message["content"] = parts + [image.to_api() for image in self.images]
        else:
            message["content"] = self.content
        if self.name:
            message["name"] = self.name
        if calls := self.sent_tool_calls:
            message["tool_calls"] = [call.to_api() for call in calls]
            if not self.content:
                message["content"] = None
        if self.tool_call_id:
            message["tool_call_id"] = self.tool_call_id
        return message


@dataclass
class Conversation:
    """The ordered turns shared by all panels (the system prompt lives beside it, in the store)."""

    messages: list[Message] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.messages)

    def index_of(self, message_id: str) -> int:
        for index, message in enumerate(self.messages):
            if message.id == message_id:
                return index
        raise KeyError(message_id)

    def add_user(self, text: str, images: list[ImageAttachment] | None = None) -> Message:
        message = Message(role="user", content=text, images=list(images or []))
        self.messages.append(message)
        return message

    def start_reply(self, model: str) -> Message:
        """Append the assistant message a stream will fill in."""
        reply = Message(role="assistant", status=Status.STREAMING, stats=ReplyStats(model=model))
        self.messages.append(reply)
        return reply

    def last_served_model(self) -> str | None:
        """The model the server reported for the latest reply that said so."""
        for message in reversed(self.messages):
            if message.stats is not None and message.stats.served_model:
                return message.stats.served_model
        return None

    def settle_interrupted(self) -> None:
        """Mark replies left streaming by an interrupted script run as stopped (their text is kept)."""
        for message in self.messages:
            if message.status is Status.STREAMING:
                message.status = Status.STOPPED

    def delete(self, message_id: str) -> None:
        del self.messages[self.index_of(message_id)]

    def edit_and_truncate(self, message_id: str, new_text: str) -> None:
        """Replace a user message's text and drop everything after it, ready to resend from there."""
        index = self.index_of(message_id)
        if self.messages[index].role != "user":
            raise PlaygroundError(ErrorKind.INVALID_INPUT, "Only your own messages can be edited and resent.")
        self.messages[index].content = new_text
        del self.messages[index + 1 :]

    def rewind_for_retry(self) -> None:
        """Drop the trailing assistant reply (partial, failed or complete) so the last user turn resends.

        Used by both Retry and Regenerate: the conversation then ends with the user's message.
        """
        while self.messages and self.messages[-1].role == "assistant":
            self.messages.pop()

    def ends_with_user_turn(self) -> bool:
        return bool(self.messages) and self.messages[-1].role in ("user", "tool")

    def clear(self) -> None:
        self.messages.clear()

    def to_api(self, system_prompt: str = "") -> list[dict[str, Any]]:
        """The messages a request would carry: system prompt first, then every turn.

        Failed replies with no text are left out (they were never part of the dialogue).
        """
        api_messages = [{"role": "system", "content": system_prompt}] if system_prompt.strip() else []
        api_messages.extend(message.to_api() for message in self.messages if message.is_sent)
        return api_messages
