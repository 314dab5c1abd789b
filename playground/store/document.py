"""The session document: everything a working session holds, as plain validated data.

One pydantic model serves the database rows, the exported files and the import check, so what is
saved, what is exported and what is accepted back are the same shape. A document never holds a
credential: the connection part lists the connection *choice* only (provider, model, deployment,
endpoint, API version), and the key stays in the user's session.

Images are referenced by the SHA-256 of their bytes; ``data`` (base64) is filled in only where the
bytes travel with the document (an export with inline images, or a conversion from a Workspace).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from playground.connection import ConnectionSettings, ProviderKind
from playground.conversation import (
    Conversation,
    ErrorInfo,
    ImageAttachment,
    Message,
    ReplyStats,
    Status,
    ToolCall,
)
from playground.errors import ErrorKind
from playground.meter import PaidCost, RunCost
from playground.registry import Price
from playground.request import ChatParams
from playground.schema.reply import ReplyValidation
from playground.toolloop import CannedMock, SandboxTool, ToolLoopSession
from playground.workspace import ResponseSchema, Workspace


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImageDoc(StrictModel):
    """An image of a message: a remote ``url``, or bytes named by ``sha256`` (``data`` when inline)."""

    id: str
    name: str
    detail: Literal["auto", "low", "high"] = "auto"
    width: int | None = None
    height: int | None = None
    sent_bytes: int | None = None
    url: str | None = Field(default=None, description="A remote image URL (uploads carry sha256 instead).")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    media_type: str | None = None
    data: str | None = Field(default=None, description="The image bytes, base64 (left out unless inline).")


class ToolCallDoc(StrictModel):
    id: str
    name: str
    arguments: str = ""


class StatsDoc(StrictModel):
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
    content_filter: dict[str, Any] = Field(default_factory=dict)
    usage_estimated: bool = False
    server_notes: list[str] = Field(default_factory=list)
    pace_marks: list[tuple[float, int]] = Field(default_factory=list)


class PaidCostDoc(StrictModel):
    """What some paid requests cost (see playground.meter.spend.PaidCost)."""

    usd: float = 0.0
    estimated: bool = False
    unpriced: int = 0
    requests: int = 0


class RunCostDoc(StrictModel):
    """A run's spend as last settled, and whether it had ended."""

    cost: PaidCostDoc = Field(default_factory=PaidCostDoc)
    done: bool = False


class ErrorDoc(StrictModel):
    kind: ErrorKind
    message: str
    request_id: str | None = None
    retryable: bool = False


class MessageDoc(StrictModel):
    id: str
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    images: list[ImageDoc] = Field(default_factory=list)
    tool_calls: list[ToolCallDoc] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    refusal: str | None = None
    status: Status = Status.COMPLETE
    error: ErrorDoc | None = None
    stats: StatsDoc | None = None
    schema_check: ReplyValidation | None = None
    replayed: bool = False


class ConnectionDoc(StrictModel):
    """The connection choice. Deliberately no key, token or other secret."""

    provider: ProviderKind = "openai"
    model: str = "gpt-4.1-mini"
    deployment: str = ""
    base_url: str = ""
    azure_endpoint: str = ""
    azure_auth: Literal["api_key", "entra_id"] = "api_key"
    azure_api_mode: Literal["deployments", "v1"] = "deployments"
    api_version: str = ""
    organization: str = ""
    project: str = ""
    registry_entry: str | None = None
    azure_deployment_type: str = "global_standard"
    store: bool = False


class SchemaDoc(StrictModel):
    name: str = "response"
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool = True
    enabled: bool = False

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)


class SessionDocument(StrictModel):
    """A whole working session (or a prompt's setup: the same shape with no stats to speak of)."""

    title: str = ""
    system_prompt: str = ""
    messages: list[MessageDoc] = Field(default_factory=list)
    params: ChatParams = Field(default_factory=ChatParams)
    connection: ConnectionDoc = Field(default_factory=ConnectionDoc)
    tools: list[dict[str, Any]] = Field(default_factory=list)
    tool_choice: str = "auto"
    parallel_tool_calls: bool = True
    tool_mock_outputs: dict[str, str] = Field(
        default_factory=dict,
        description="Legacy (before tool mocks): one canned output per tool name. Read as the default "
        "of a canned mock for a tool that has no mock; written empty.",
    )
    tool_loop: ToolLoopSession = Field(
        default_factory=ToolLoopSession,
        description="The Functions panel: the loop's prompt, each tool's mock and code, options, "
        "scenarios, the last run's timeline and the last scenario comparison.",
    )
    response_schema: SchemaDoc = Field(default_factory=SchemaDoc)
    pending_images: list[ImageDoc] = Field(default_factory=list)
    price_tier: str | None = None
    price_overrides: dict[str, Price] = Field(default_factory=dict)
    usage_ledger: dict[str, StatsDoc] = Field(default_factory=dict)
    compare_ledger: dict[str, PaidCostDoc] = Field(
        default_factory=dict, description="The Compare panel's side-by-side replies: what each cost."
    )
    run_ledger: dict[str, RunCostDoc] = Field(
        default_factory=dict, description="Test runs and migration checks of this session, by run id: their spend."
    )
    variables: dict[str, str] = Field(
        default_factory=dict, description="Values of the prompt's {{name}} variables (empty: not filled in)."
    )

    def images(self) -> list[ImageDoc]:
        """Every image the document holds (message images, then pending ones)."""
        return [image for message in self.messages for image in message.images] + list(self.pending_images)

    def header(self) -> dict[str, Any]:
        """Everything but the messages, as JSON-ready data (the session row's body)."""
        return self.model_dump(mode="json", exclude={"messages"})

    def as_setup(self) -> SessionDocument:
        """The part a prompt keeps: no costs, no pending attachments, replies without their run stats."""
        messages = [
            message.model_copy(update={"stats": None, "error": None, "schema_check": None}) for message in self.messages
        ]
        tool_loop = self.tool_loop.model_copy(update={"timeline": None, "comparison": []})
        return self.model_copy(
            update={
                "messages": messages,
                "usage_ledger": {},
                "compare_ledger": {},
                "run_ledger": {},
                "pending_images": [],
                "title": "",
                "tool_loop": tool_loop,
            }
        )


# --------------------------------------------------------------------------------------------
# Workspace -> plain records (the autosave path: no pydantic, measured in bench/bench_autosave.py)

DATA_URL_PREFIX = "data:"
MAX_CACHED_IMAGES = 256


class ImageBytes:
    """An uploaded image's digest and media type, remembered so an autosave never re-hashes an
    unchanged image (an ImageAttachment's URL string is replaced, never mutated). The bytes are
    decoded from the URL again only when they must be written."""

    __slots__ = ("media_type", "sha256", "url")

    def __init__(self, url: str, media_type: str, data: bytes) -> None:
        self.url = url
        self.media_type = media_type
        self.sha256 = hashlib.sha256(data).hexdigest()

    @property
    def data(self) -> bytes:
        parts = split_data_url(self.url)
        assert parts is not None, "an ImageBytes is made from a decodable data URL only"
        return parts[1]


def split_data_url(url: str) -> tuple[str, bytes] | None:
    """(media type, bytes) of a base64 data URL; None for anything else."""
    if not url.startswith(DATA_URL_PREFIX):
        return None
    head, _, payload = url.partition(",")
    if not head.endswith(";base64"):
        return None
    try:
        return head[len(DATA_URL_PREFIX) : -len(";base64")], base64.b64decode(payload, validate=True)
    except binascii.Error:
        return None


class ImageCache:
    """Image digests by image id, reused while the image's URL is the very same string object.

    Bounded (least recently used out first): it serves the open sessions, not every image ever seen."""

    def __init__(self, max_entries: int = MAX_CACHED_IMAGES) -> None:
        self._by_id: OrderedDict[str, ImageBytes] = OrderedDict()
        self._max_entries = max_entries

    def bytes_of(self, image: ImageAttachment) -> ImageBytes | None:
        cached = self._by_id.get(image.id)
        if cached is not None and cached.url is image.url:
            self._by_id.move_to_end(image.id)
            return cached
        parts = split_data_url(image.url)
        if parts is None:
            return None
        self._by_id[image.id] = cached = ImageBytes(image.url, *parts)
        self._by_id.move_to_end(image.id)
        while len(self._by_id) > self._max_entries:
            self._by_id.popitem(last=False)
        return cached


def image_record(image: ImageAttachment, cache: ImageCache) -> tuple[dict[str, Any], ImageBytes | None]:
    record: dict[str, Any] = {
        "id": image.id,
        "name": image.name,
        "detail": image.detail,
        "width": image.width,
        "height": image.height,
        "sent_bytes": image.sent_bytes,
    }
    blob = cache.bytes_of(image)
    record["url"] = image.url if blob is None else None
    record["sha256"] = None if blob is None else blob.sha256
    record["media_type"] = None if blob is None else blob.media_type
    record["data"] = None
    return record, blob


def stats_record(stats: ReplyStats) -> dict[str, Any]:
    return dict(vars(stats))


def message_fingerprint(message: Message) -> tuple[Any, ...]:
    """A cheap value equal for two states of a message exactly when their records are equal.

    Built from the message's own (immutable) field values, so comparing it with the fingerprint
    of the last save costs no serialisation: strings compare by identity first."""
    stats = message.stats
    return (
        message.role,
        message.content,
        message.status,
        message.refusal,
        message.tool_call_id,
        message.name,
        tuple((i.id, i.url, i.name, i.detail, i.width, i.height, i.sent_bytes) for i in message.images),
        tuple((call.id, call.name, call.arguments) for call in message.tool_calls),
        None if message.error is None else tuple(vars(message.error).values()),
        None if stats is None else _stats_fingerprint(stats),
        None if message.schema_check is None else message.schema_check.model_dump_json(),
        message.replayed,
    )


def _stats_fingerprint(stats: ReplyStats) -> tuple[Any, ...]:
    # The containers (content filter, notes, pace marks) change in place: a copy of their text keeps
    # the fingerprint frozen.
    return tuple(repr(value) if isinstance(value, dict | list) else value for value in vars(stats).values())


def message_record(message: Message, cache: ImageCache) -> tuple[dict[str, Any], list[ImageBytes]]:
    """``message`` as MessageDoc-shaped JSON data (images by digest) and the image bytes it holds."""
    images = [image_record(image, cache) for image in message.images]
    record: dict[str, Any] = {
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "images": [image for image, _ in images],
        "tool_calls": [vars(call).copy() for call in message.tool_calls],
        "tool_call_id": message.tool_call_id,
        "name": message.name,
        "refusal": message.refusal,
        "status": message.status.value,
        "error": None if message.error is None else {**vars(message.error), "kind": message.error.kind.value},
        "stats": None if message.stats is None else stats_record(message.stats),
        "schema_check": None if message.schema_check is None else message.schema_check.model_dump(mode="json"),
        "replayed": message.replayed,
    }
    return record, [blob for _, blob in images if blob is not None]


def connection_doc(settings: ConnectionSettings) -> ConnectionDoc:
    return ConnectionDoc.model_validate(settings.model_dump(include=set(ConnectionDoc.model_fields)))


def header_record(workspace: Workspace, title: str, cache: ImageCache) -> tuple[dict[str, Any], list[ImageBytes]]:
    """Everything of ``workspace`` but its messages, as SessionDocument-shaped JSON data."""
    pending = [image_record(image, cache) for image in workspace.pending_images]
    schema = workspace.response_schema
    record: dict[str, Any] = {
        "title": title,
        "system_prompt": workspace.system_prompt,
        "params": workspace.params.model_dump(mode="json"),
        "connection": connection_doc(workspace.connection).model_dump(mode="json"),
        "tools": workspace.tools,
        "tool_choice": workspace.tool_choice,
        "parallel_tool_calls": workspace.parallel_tool_calls,
        "tool_mock_outputs": {},
        "tool_loop": workspace.tool_loop.model_dump(mode="json"),
        "response_schema": {
            "name": schema.name,
            "schema": schema.schema,
            "strict": schema.strict,
            "enabled": schema.enabled,
        },
        "pending_images": [image for image, _ in pending],
        "price_tier": workspace.price_tier,
        "price_overrides": {name: price.model_dump(mode="json") for name, price in workspace.price_overrides.items()},
        "usage_ledger": {message_id: stats_record(stats) for message_id, stats in workspace.usage_ledger.items()},
        "compare_ledger": {key: vars(cost).copy() for key, cost in workspace.compare_ledger.items()},
        "run_ledger": {
            run_id: {"cost": vars(entry.cost).copy(), "done": entry.done}
            for run_id, entry in workspace.run_ledger.items()
        },
        "variables": dict(workspace.variables),
    }
    return record, [blob for _, blob in pending if blob is not None]


def session_document_from_workspace(workspace: Workspace, title: str = "") -> SessionDocument:
    """The whole of ``workspace`` as a document, image bytes inline (``data``)."""
    cache = ImageCache()
    header, blobs = header_record(workspace, title, cache)
    messages = []
    for message in workspace.conversation.messages:
        record, message_blobs = message_record(message, cache)
        messages.append(record)
        blobs += message_blobs
    document = SessionDocument.model_validate({**header, "messages": messages})
    return with_image_data(document, {blob.sha256: (blob.media_type, blob.data) for blob in blobs})


# --------------------------------------------------------------------------------------------
# Images between documents and stored bytes


def with_image_data(document: SessionDocument, blobs: dict[str, tuple[str, bytes]]) -> SessionDocument:
    """A copy of ``document`` whose images carry their bytes inline, from ``blobs`` by digest."""

    def filled(image: ImageDoc) -> ImageDoc:
        if image.sha256 is None or image.sha256 not in blobs:
            return image
        media_type, data = blobs[image.sha256]
        return image.model_copy(update={"media_type": media_type, "data": base64.b64encode(data).decode()})

    return _map_images(document, filled)


def without_image_data(document: SessionDocument) -> SessionDocument:
    """A copy of ``document`` whose images keep their digest but not their bytes."""
    return _map_images(document, lambda image: image.model_copy(update={"data": None}))


def _map_images(document: SessionDocument, change: Callable[[ImageDoc], ImageDoc]) -> SessionDocument:
    messages = [
        message.model_copy(update={"images": [change(image) for image in message.images]})
        for message in document.messages
    ]
    return document.model_copy(
        update={"messages": messages, "pending_images": [change(image) for image in document.pending_images]}
    )


def inline_image_bytes(image: ImageDoc) -> bytes | None:
    """The bytes an image document carries inline (checked against its digest), or None."""
    if image.data is None:
        return None
    try:
        data = base64.b64decode(image.data, validate=True)
    except binascii.Error:
        return None
    if image.sha256 is not None and hashlib.sha256(data).hexdigest() != image.sha256:
        return None
    return data


# --------------------------------------------------------------------------------------------
# Document -> Workspace


def _attachment(image: ImageDoc) -> ImageAttachment | None:
    if image.url:
        url = image.url
    elif (data := inline_image_bytes(image)) is not None:
        url = f"data:{image.media_type or 'application/octet-stream'};base64,{base64.b64encode(data).decode()}"
    else:
        return None  # the file left the image out and this database does not have it
    return ImageAttachment(
        name=image.name,
        url=url,
        detail=image.detail,
        width=image.width,
        height=image.height,
        sent_bytes=image.sent_bytes,
        id=image.id,
    )


def _stats(stats: StatsDoc) -> ReplyStats:
    return ReplyStats(**stats.model_dump())


def _message(doc: MessageDoc) -> Message:
    status = Status.INTERRUPTED if doc.status is Status.STREAMING else doc.status
    return Message(
        role=doc.role,
        content=doc.content,
        images=[image for image in map(_attachment, doc.images) if image is not None],
        tool_calls=[ToolCall(call.id, call.name, call.arguments) for call in doc.tool_calls],
        tool_call_id=doc.tool_call_id,
        name=doc.name,
        refusal=doc.refusal,
        status=status,
        error=None if doc.error is None else ErrorInfo(**doc.error.model_dump()),
        stats=None if doc.stats is None else _stats(doc.stats),
        schema_check=doc.schema_check,
        replayed=doc.replayed,
        id=doc.id,
    )


def missing_images(document: SessionDocument) -> int:
    """How many images of ``document`` have neither a URL nor their bytes (they load without them)."""
    return sum(1 for image in document.images() if not image.url and inline_image_bytes(image) is None)


def _tool_loop(document: SessionDocument) -> ToolLoopSession:
    """The document's loop state; a legacy canned output becomes its tool's mock if it has none."""
    tool_loop = document.tool_loop.model_copy(deep=True)
    mocked = {sandbox.name for sandbox in tool_loop.setup.tools if sandbox.mock is not None}
    legacy = {name: output for name, output in document.tool_mock_outputs.items() if name not in mocked}
    if legacy:
        kept = [sandbox for sandbox in tool_loop.setup.tools if sandbox.name not in legacy]
        by_name = {tool["function"]["name"]: tool for tool in document.tools}
        tool_loop.setup.tools = kept + [
            SandboxTool(tool=by_name[name], mock=CannedMock(default=output))
            for name, output in legacy.items()
            if name in by_name
        ]
    return tool_loop


def apply_session_document(document: SessionDocument, base: ConnectionSettings | None = None) -> Workspace:
    """A Workspace holding ``document``, its images' bytes inline (see ``with_image_data``).

    The connection choice is laid over ``base`` (the user's or the server's settings), so the key
    and operator policy come from there; a locked connection only takes the model. A reply that was
    still streaming when it was saved comes back ``Status.INTERRUPTED``, its text kept.
    """
    base = base or ConnectionSettings()
    choice = document.connection.model_dump()
    if base.locked:
        choice = {"model": choice["model"]}
    elif not choice["api_version"]:
        choice["api_version"] = base.api_version
    schema = document.response_schema
    return Workspace(
        connection=base.model_copy(update=choice),
        conversation=Conversation([_message(message) for message in document.messages]),
        system_prompt=document.system_prompt,
        params=document.params.model_copy(deep=True),
        tools=[dict(tool) for tool in document.tools],
        tool_choice=document.tool_choice,
        parallel_tool_calls=document.parallel_tool_calls,
        tool_loop=_tool_loop(document),
        response_schema=ResponseSchema(
            name=schema.name, schema=schema.schema_, strict=schema.strict, enabled=schema.enabled
        ),
        pending_images=[image for image in map(_attachment, document.pending_images) if image is not None],
        price_tier=document.price_tier,
        price_overrides=dict(document.price_overrides),
        usage_ledger={message_id: _stats(stats) for message_id, stats in document.usage_ledger.items()},
        compare_ledger={key: PaidCost(**cost.model_dump()) for key, cost in document.compare_ledger.items()},
        run_ledger={
            run_id: RunCost(PaidCost(**entry.cost.model_dump()), entry.done)
            for run_id, entry in document.run_ledger.items()
        },
        variables=dict(document.variables),
    )
