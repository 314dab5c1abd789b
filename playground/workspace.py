"""Everything one browser session works on, in pure Python: the panels' shared state and actions.

``components/state.py`` keeps exactly one Workspace per Streamlit session; pages call its methods.
The session's client lives here too, so two sessions never share a client or a key.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from playground.chat import stream_reply
from playground.client import PlaygroundClient
from playground.connection import ConnectionSettings
from playground.conversation import Conversation, ImageAttachment, Message, ReplyStats, Status
from playground.costs import price_for
from playground.errors import ErrorKind, PlaygroundError
from playground.meter import prompt_breakdown
from playground.registry import ModelSpec, Price, azure_deployment_types, default_tier, resolve_model
from playground.request import ChatParams, ChatRequest, ensure_valid
from playground.schema import validate_reply
from playground.schema.document import ResponseSchema
from playground.tools import answer_calls, parallel_tool_calls_to_send, unanswered_calls

if TYPE_CHECKING:
    from playground.meter import MessageCounter


@dataclass
class Workspace:
    connection: ConnectionSettings = field(default_factory=ConnectionSettings)
    conversation: Conversation = field(default_factory=Conversation)
    system_prompt: str = ""
    params: ChatParams = field(default_factory=ChatParams)
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str = "auto"  # "auto", "none", "required", or one tool's name
    parallel_tool_calls: bool = True
    tool_mock_outputs: dict[str, str] = field(default_factory=dict)  # canned output per tool name
    response_schema: ResponseSchema = field(default_factory=ResponseSchema)
    pending_images: list[ImageAttachment] = field(default_factory=list)
    price_tier: str | None = None
    price_overrides: dict[str, Price] = field(default_factory=dict)
    # Every reply with usage, by message id, kept when the conversation drops it: the session paid for it.
    usage_ledger: dict[str, ReplyStats] = field(default_factory=dict)
    awaiting_reply: bool = False
    available_models: list[str] = field(default_factory=list)
    # Token counts cached per model for this session only (see playground.meter.message_counter).
    message_counters: dict[str, MessageCounter] = field(default_factory=dict, repr=False)
    _client: PlaygroundClient | None = field(default=None, repr=False)
    _client_fingerprint: str = field(default="", repr=False)

    # --- model, price, client -----------------------------------------------------------------
    def model_spec(self) -> ModelSpec:
        """The registry entry whose limits and prices apply to the current connection."""
        settings = self.connection
        spec = resolve_model(settings.request_model, settings.registry_entry, self.conversation.last_served_model())
        if settings.provider == "azure":
            deployment_type = azure_deployment_types().get(settings.azure_deployment_type)
            spec = spec.with_context_cap(deployment_type.context_cap if deployment_type else None)
        return spec

    def tier(self) -> str:
        return self.price_tier or default_tier(self.connection.provider)

    def price(self) -> Price | None:
        return price_for(self.model_spec(), self.tier(), self.price_overrides)

    def reply_price(self, stats: ReplyStats) -> Price | None:
        """The price of one reply: that of the model which served it, at the tier that applies now."""
        spec = resolve_model(stats.model, self.connection.registry_entry, stats.served_model)
        return price_for(spec, self.tier(), self.price_overrides)

    def client(self) -> PlaygroundClient:
        """This session's client, rebuilt only when the connection settings change."""
        fingerprint = self.connection.fingerprint()
        if self._client is None or fingerprint != self._client_fingerprint:
            self._client = PlaygroundClient(self.connection)
            self._client_fingerprint = fingerprint
        return self._client

    # --- requests -----------------------------------------------------------------------------
    def api_messages(self, draft: str = "") -> list[dict[str, Any]]:
        """The next message's request as the meter sees it: the conversation, plus the message
        being drafted (``draft`` and the pending images) when there is one."""
        messages = self.conversation.to_api(self.system_prompt)
        if draft or self.pending_images:
            messages.append(Message(role="user", content=draft, images=self.pending_images).to_api())
        return messages

    def estimate_prompt_tokens(self, draft: str = "", *, with_next_message: bool = True) -> int:
        """Prompt tokens of the next request (the meter's one counting path; see playground.meter).

        ``with_next_message=False`` estimates the request a reply would be asked with now.
        """
        return prompt_breakdown(self, draft, with_next_message=with_next_message).total

    def build_request(self) -> ChatRequest:
        """The request for the next reply; raises PlaygroundError if a parameter is out of bounds."""
        ensure_valid(self.params, self.model_spec())
        return ChatRequest(
            model=self.connection.request_model,
            # Exactly the conversation: pending images belong to the next message the user sends.
            messages=self.conversation.to_api(self.system_prompt),
            params=self.params.model_copy(deep=True),
            tools=list(self.tools),
            tool_choice=self._tool_choice_payload(),
            parallel_tool_calls=parallel_tool_calls_to_send(
                self.connection.provider, self.tools, self.parallel_tool_calls
            ),
            response_format=self.response_schema.response_format(),
            store=self.connection.store,
        )

    def stream_next_reply(self) -> Iterator[Message]:
        """Ask for the reply the conversation is waiting for; returns the stream of its updates.

        Raises PlaygroundError before anything is sent when a parameter is out of bounds. From here
        on nothing re-sends on its own: ``awaiting_reply`` is cleared before the request goes out.
        """
        self.awaiting_reply = False
        request = self.build_request()
        estimate = self.estimate_prompt_tokens(with_next_message=False)
        reply = self.conversation.start_reply(request.model)
        updates = stream_reply(
            self.client(), request, reply, price_of=self.reply_price, estimated_prompt_tokens=estimate
        )
        if request.response_format and request.response_format.get("type") == "json_schema":
            return _checked_when_complete(updates, reply, request.response_format["json_schema"]["schema"])
        return updates

    def _tool_choice_payload(self) -> str | dict[str, Any] | None:
        if not self.tools or self.tool_choice == "auto":
            return None
        if self.tool_choice in ("none", "required"):
            return self.tool_choice
        return {"type": "function", "function": {"name": self.tool_choice}}

    # --- conversation actions (each leaves the conversation ready for the next reply) ----------
    def submit(self, text: str) -> Message:
        """Add the user's message, with the images attached so far, and ask for a reply."""
        if not text.strip() and not self.pending_images:
            raise PlaygroundError(ErrorKind.INVALID_INPUT, "Type a message (or attach an image) first.")
        if waiting := unanswered_calls(self.conversation):
            names = ", ".join(sorted({call.name for call in waiting}))
            raise PlaygroundError(
                ErrorKind.INVALID_INPUT,
                f"The model is waiting for the output of {names}: send the tool output(s) first "
                "(or delete that reply). The API refuses a new message after unanswered tool calls.",
            )
        message = self.conversation.add_user(text, self.pending_images)
        self.pending_images = []
        self.awaiting_reply = True
        return message

    def retry(self) -> None:
        """Resend the last user turn, dropping the reply it got (Retry after an error, or Regenerate)."""
        self.conversation.rewind_for_retry()
        self.awaiting_reply = self.conversation.ends_with_user_turn()

    def edit_and_resend(self, message_id: str, text: str) -> None:
        self.conversation.edit_and_truncate(message_id, text)
        self.awaiting_reply = True

    def answer_tool_calls(self, outputs: dict[str, str]) -> None:
        """Record the outputs of the model's pending tool calls and ask for the next reply."""
        answer_calls(self.conversation, outputs)
        self.awaiting_reply = True

    def clear_chat(self) -> None:
        self.conversation.clear()
        self.awaiting_reply = False


def _checked_when_complete(updates: Iterator[Message], reply: Message, schema: dict[str, Any]) -> Iterator[Message]:
    """Pass the stream through; once the reply is complete, check it against the schema it was
    asked to follow (once, so a rerun only reads the verdict)."""
    yield from updates
    if reply.status is Status.COMPLETE and not reply.refusal:
        with suppress(PlaygroundError):  # a schema the validator cannot use: no verdict
            reply.schema_check = validate_reply(schema, reply.content)
            yield reply
