"""The schema panel's core: running the shared schema, checking the reply, the panel's state, and "view code".

- Editing: every action of the panel (builder edits, raw JSON, import, templates, fixes) is a
  method of the shared schema document, :class:`~playground.schema.document.ResponseSchema`.
- Running: a schema run is its own request (the system prompt plus a test input); it never touches
  the chat conversation. :func:`prepare_run` builds it, :func:`run_structured` streams it into a
  :class:`StructuredResult` and checks the reply against the schema when it ends.
- View code lives in :mod:`playground.snippets` (every panel uses it).

Pure Python: no Streamlit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from playground.chat import DEFAULT_REFRESH_S, stream_reply
from playground.client import PlaygroundClient
from playground.conversation import Message, ReplyStats, Status
from playground.errors import ErrorKind, PlaygroundError
from playground.registry import Price
from playground.request import ChatRequest, ensure_valid
from playground.schema import ReplyValidation, response_format_payload, validate_reply
from playground.schema.document import ResponseSchema
from playground.workspace import Workspace

RunMode = Literal["json_schema", "json_object"]
RUN_MODES: dict[str, str] = {
    "json_schema": "json_schema (structured outputs)",
    "json_object": "json_object (JSON mode)",
}
# json_object mode does not carry the schema, and the API wants the word "JSON" in the messages:
# the schema goes into the system message instead.
JSON_MODE_INSTRUCTION = "Reply with one JSON object that follows this JSON Schema:"
Verdict = Literal["pending", "valid", "invalid", "refused", "failed"]


def schema_json(schema: dict[str, Any]) -> str:
    """The schema as the JSON editor and the export show it."""
    return json.dumps(schema, indent=2, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# Running


def schema_run_request(workspace: Workspace, test_input: str, mode: RunMode = "json_schema") -> ChatRequest:
    """The request of a schema run: the system prompt and ``test_input``, with the shared schema.

    ``json_schema`` sends ``response_format`` json_schema (strict as the schema's flag says);
    ``json_object`` sends JSON mode and puts the schema into the system message (JSON mode does not
    carry a schema, and needs the word JSON in the messages). The chat conversation is not used.
    Raises PlaygroundError for an invalid schema name or out-of-bounds parameters.
    """
    target = workspace.response_schema
    schema = target.current()
    ensure_valid(workspace.request_params(), workspace.model_spec())
    system = workspace.system_prompt if workspace.system_prompt.strip() else ""
    if mode == "json_schema":
        response_format = response_format_payload(schema, target.name, strict=target.strict)
    else:
        response_format = {"type": "json_object"}
        instruction = f"{JSON_MODE_INSTRUCTION}\n{json.dumps(schema, ensure_ascii=False)}"
        system = f"{system}\n\n{instruction}" if system else instruction
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": test_input})
    return ChatRequest(
        model=workspace.connection.request_model,
        messages=messages,
        params=workspace.request_params(),
        response_format=response_format,
        store=workspace.connection.store,
    )


@dataclass
class StructuredResult:
    """One schema run: its request, the streamed reply (text, refusal, status, error, stats with
    cost and finish_reason), the schema it is checked against, and the check's outcome."""

    request: ChatRequest
    schema: dict[str, Any]
    mode: RunMode
    strict: bool
    reply: Message = field(default_factory=lambda: Message(role="assistant", status=Status.STREAMING))
    validation: ReplyValidation | None = None
    schema_problem: str | None = None
    checked: bool = False

    @property
    def text(self) -> str:
        return self.reply.content

    @property
    def refusal(self) -> str | None:
        return self.reply.refusal

    @property
    def stats(self) -> ReplyStats | None:
        return self.reply.stats

    @property
    def finish_reason(self) -> str | None:
        return self.reply.stats.finish_reason if self.reply.stats else None

    @property
    def truncated(self) -> bool:
        """The JSON was cut off: the reply hit the output limit, or it stops mid-document."""
        return self.finish_reason == "length" or bool(self.validation and self.validation.truncated)

    @property
    def verdict(self) -> Verdict:
        if self.reply.refusal:
            return "refused"
        if self.validation is None:
            return "failed" if self.reply.status is Status.FAILED else "pending"
        return "valid" if self.validation.ok else "invalid"

    def finish(self) -> None:
        """Close the run (a reply still marked streaming was interrupted) and check the reply."""
        if self.reply.status is Status.STREAMING:
            self.reply.status = Status.STOPPED
        self.checked = True
        self.validation = self.schema_problem = None
        if self.reply.refusal or (self.reply.status is Status.FAILED and not self.reply.content):
            return
        try:
            self.validation = validate_reply(self.schema, self.reply.content)
        except PlaygroundError as error:
            self.schema_problem = error.message


def prepare_run(workspace: Workspace, test_input: str, mode: RunMode = "json_schema") -> StructuredResult:
    """A schema run ready to stream (raises PlaygroundError when nothing can be sent yet)."""
    if not test_input.strip():
        raise PlaygroundError(ErrorKind.INVALID_INPUT, "Type a test input (the user message to send) first.")
    if workspace.response_schema.schema is None:
        raise PlaygroundError(ErrorKind.INVALID_INPUT, "Build or load a schema first.")
    request = schema_run_request(workspace, test_input, mode)
    reply = Message(role="assistant", status=Status.STREAMING, stats=ReplyStats(model=request.model))
    return StructuredResult(
        request=request,
        schema=json.loads(json.dumps(workspace.response_schema.current())),
        mode=mode,
        strict=workspace.response_schema.strict,
        reply=reply,
    )


def run_structured(
    client: PlaygroundClient,
    result: StructuredResult,
    *,
    price_of: Callable[[ReplyStats], Price | None] | None = None,
    refresh_interval_s: float = DEFAULT_REFRESH_S,
) -> Iterator[StructuredResult]:
    """Stream ``result``'s request into its reply, yielding ``result`` whenever the UI should redraw;
    when the stream ends, the reply is checked against the schema and ``result`` yielded once more.

    Never raises: errors end up in ``result.reply.error``. A consumer that stops early leaves a
    partial reply; call :meth:`StructuredResult.finish` to close and check it.
    """
    # stream_reply is a generator: closing it ends the HTTP stream when the consumer stops early.
    replies = stream_reply(
        client, result.request, result.reply, price_of=price_of, refresh_interval_s=refresh_interval_s
    )
    with closing(cast(Generator[Message, None, None], replies)) as stream:
        for _ in stream:
            yield result
    result.finish()
    yield result


def reply_tables(value: Any, path: str = "$") -> dict[str, list[dict[str, Any]]]:
    """Every array of objects in a parsed reply, by JSON path, as table rows (nested values as JSON)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    if isinstance(value, list):
        if value and all(isinstance(item, dict) for item in value):
            tables[path] = [
                {k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for k, v in item.items()}
                for item in value
            ]
        for index, item in enumerate(value):
            tables.update(reply_tables(item, f"{path}[{index}]"))
    elif isinstance(value, dict):
        for key, item in value.items():
            tables.update(reply_tables(item, f"{path}.{key}"))
    return tables


@dataclass
class SchemaPanel:
    """The schema panel's own state beside the shared schema (one per session).

    ``synced_json``: the schema JSON the raw editor and the builder inputs were last filled from
    (when the schema changes, both are refilled; a malformed edit leaves it, and the text, alone).
    ``errors``: the last failed action's message per area of the panel. ``notes``: what the last
    Fix changed. ``focus``: the field last added or edited (its expanders open). ``result``: the
    last run.
    """

    synced_json: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    focus: tuple[str, ...] = ()
    result: StructuredResult | None = None

    def needs_sync(self, target: ResponseSchema) -> bool:
        """True (once) when the shared schema changed since the editors were last filled."""
        text = schema_json(target.current())
        if text == self.synced_json:
            return False
        self.synced_json = text
        return True

    def settle(self) -> None:
        """Close a run that an interrupted script left unfinished (Stop): keep and check its text."""
        if self.result is not None and not self.result.checked:
            self.result.finish()
