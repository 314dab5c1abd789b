"""A fake Chat Completions server on loopback: the test double for OpenAI, Azure OpenAI and
OpenAI-compatible providers.

It is a real HTTP/1.1 server (standard library only, starts in milliseconds) so the real ``openai``
SDK and its ``httpx2`` transport are exercised end to end: streaming (SSE over chunked transfer
encoding, flushed per event), retries, timeouts and dropped connections.

Routes
------
- ``POST /v1/chat/completions``                                   OpenAI / compatible
- ``POST /openai/deployments/{deployment}/chat/completions``      Azure legacy (needs ``?api-version=``)
- ``POST /openai/v1/chat/completions``                            Azure v1 API
- ``GET /v1/models``, ``GET /openai/v1/models``, ``GET /openai/models?api-version=``
- Files and Batches (OpenAI ``/v1``, Azure ``/openai`` and ``/openai/v1``): ``POST /files`` (multipart,
  ``purpose=batch``), ``GET /files/{id}``, ``GET /files/{id}/content``, ``POST /batches``,
  ``GET /batches/{id}`` (each poll moves validating -> in_progress -> completed; on completion every
  input line is answered like a non-streaming chat completion, taking the next :class:`Scenario`,
  output lines in reverse order; a ``fault`` scenario puts the line in the error file),
  ``POST /batches/{id}/cancel`` (cancelling, then cancelled on the next poll).
- Control API (never needs auth): ``POST /_fake/scenarios`` (a JSON list of :class:`Scenario` dicts,
  or one dict), ``GET /_fake/requests``, ``POST /_fake/reset``, ``POST /_fake/models`` (a JSON list),
  ``POST /_fake/config`` (``{"mode": "openai" | "llama_cpp"}``; reset goes back to "openai").

Modes: ``"openai"`` (default) behaves like api.openai.com / Azure. ``"llama_cpp"`` behaves like a
llama.cpp server (llama-cpp-python): a ``json_schema`` response format is refused with HTTP 500 and
a validation message (it takes ``text``, or ``json_object`` with an optional ``schema``; the
refusal uses up no scenario), tool
definitions are ignored (scenario tool calls are dropped: the reply is text), and streams carry no
usage chunk even when ``stream_options.include_usage`` asks for one.

Replies come from a FIFO queue of :class:`Scenario` objects; each answers ``repeat`` chat requests,
then the next one (or :attr:`FakeOpenAIServer.default_scenario` when the queue is empty) takes over.

Example::

    with FakeOpenAIServer() as server:
        server.enqueue(Scenario(fault="rate_limit", retry_after=0.05), Scenario(text="Hi there"))
        client = openai.OpenAI(base_url=server.base_url, api_key="test")
        ...

CLI: ``python -m tests.fakes.server --port 8765 [--api-key K]`` serves in the foreground.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import re
import socket
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "DEFAULT_MODELS",
    "FAULTS",
    "FakeOpenAIServer",
    "RecordedRequest",
    "Scenario",
]

CONTEXT_WINDOW = 1_047_576  # gpt-4.1-mini; used in the context_length_exceeded message
FILTER_CATEGORIES = ("hate", "jailbreak", "self_harm", "sexual", "violence")
FAULTS = (
    "rate_limit",
    "insufficient_quota",
    "server_error",
    "context_length_exceeded",
    "content_filter",
    "auth",
    "permission_denied",
    "deployment_not_found",
    "model_not_found",
    "bad_request",
)
LAYOUTS = ("compact", "openai")
MODES = ("openai", "llama_cpp")
# llama-cpp-python's answer to response_format json_schema: a pydantic validation error, as HTTP 500.
LLAMA_CPP_RESPONSE_FORMAT_ERROR = (
    "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}]"
)

_CREATED = 1_744_588_800  # fixed "created" timestamps keep recorded output deterministic
DEFAULT_MODELS: list[dict[str, Any]] = [
    {"id": "gpt-4.1-mini", "object": "model", "created": _CREATED, "owned_by": "system"},
    {"id": "gpt-4.1-mini-2025-04-14", "object": "model", "created": _CREATED, "owned_by": "system"},
    {"id": "gpt-4o-mini", "object": "model", "created": 1_721_172_741, "owned_by": "system"},
]

_AZURE_DEPLOYMENT_PATH = re.compile(r"^/openai/deployments/([^/]+)/chat/completions/?$")
_AZURE_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$|^(preview|latest|v1)$")


@dataclass
class Scenario:
    """How the server answers one (or ``repeat``) chat completion request(s). JSON-serialisable.

    - ``text``: the reply. ``None`` = ``"Echo: "`` + the text of the last user message (text parts joined
      with a space), followed by ``" [N image(s), detail=D]"`` when it had image parts.
    - ``chunks``: number of content deltas; ``None`` = one per word (each delta keeps its leading
      whitespace, the last one any trailing whitespace, so the deltas join to exactly ``text``).
    - ``chunk_delay`` (s) between SSE events; ``first_byte_delay`` (s) before the status line.
    - ``tool_calls``: ``[{"name", "arguments": "<json string>", "id"?}]``; several = parallel calls.
      Streamed like the API: first delta per call has index/id/type/name and ``arguments: ""``, then
      argument fragments (``chunks`` of them, else ~8 characters each) with only index + arguments.
      If ``text`` is also given, the content is streamed first.
    - ``refusal``: streamed as ``delta.refusal`` fragments (``message.refusal`` when not streaming).
    - ``finish_reason``: ``None`` = ``"tool_calls"`` with tool calls, else ``"stop"``. ``"length"`` and
      ``"content_filter"`` (Azure paths then mark ``filter_category`` as filtered) are passed through.
    - ``usage``: full override. Default: prompt_tokens is a ROUGH deterministic estimate (characters of
      all message text // 4 + 3 per message + 3, + 85 per image part; NOT a tokenizer), completion_tokens
      = number of content / refusal / tool-argument deltas, ``cached_tokens`` reported in
      ``prompt_tokens_details``.
    - ``fault``: answer with an error instead (see ``FAULTS``). ``retry_after`` (s) adds ``retry-after``
      and ``retry-after-ms`` headers to the error (0 = none: the SDK then backs off 0.5 s, 1 s, ...);
      ``should_retry`` adds ``x-should-retry: true/false``, which the SDK obeys over the status code.
      ``error_message`` overrides the error message. On ``/openai/...`` paths ``auth``, ``rate_limit``,
      ``server_error`` use Azure's real bodies (``code`` "401" / "429" / "InternalServerError").
    - ``cut_after``: stream that many SSE events (Azure's prompt-filter chunk counts), then close the
      socket without the terminating chunk or ``[DONE]``. Only applies to ``stream: true``.
    - ``layout``: ``"compact"`` puts ``role`` on the first content delta and ``finish_reason`` on the
      last one; ``"openai"`` mimics api.openai.com: a role chunk (``content: ""``), the content deltas,
      then a separate chunk with an empty delta and the ``finish_reason``.
    - ``model``: the model name to report (default: the requested model; the deployment on Azure legacy).
    - ``echo_tool_results``: reply ``"Tool results: "`` + the contents of the tool messages that follow the
      last assistant message, joined with ``" | "`` (a final answer that depends on the tool results).
    """

    text: str | None = None
    chunks: int | None = None
    chunk_delay: float = 0.0
    first_byte_delay: float = 0.0
    tool_calls: list[dict[str, Any]] | None = None
    refusal: str | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    cached_tokens: int = 0
    fault: str | None = None
    retry_after: float = 0.0
    should_retry: bool | None = None
    error_message: str | None = None
    filter_category: str = "violence"
    cut_after: int | None = None
    layout: str = "compact"
    model: str | None = None
    repeat: int = 1
    echo_tool_results: bool = False

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; expected one of {FAULTS}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown layout {self.layout!r}; expected one of {LAYOUTS}")
        if self.filter_category not in FILTER_CATEGORIES:
            raise ValueError(f"unknown filter_category {self.filter_category!r}")
        if self.repeat < 1:
            raise ValueError("repeat must be >= 1")
        if self.chunks is not None and self.chunks < 1:
            raise ValueError("chunks must be >= 1")
        for call in self.tool_calls or []:
            if not isinstance(call, dict) or "name" not in call:
                raise ValueError("each tool call needs at least a 'name'")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown Scenario fields: {sorted(unknown)}")
        return cls(**data)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case keys
    json: Any  # parsed body, or None (no body / not JSON)
    body_text: str | None = None  # raw body, only kept when it was not valid JSON
    request_id: str = ""
    timestamp: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class _ClientGone(Exception):
    """The client closed the connection (timeout, stop button, ...)."""


# ---------------------------------------------------------------------------------------------
# Building the reply content
# ---------------------------------------------------------------------------------------------


def _part_texts(content: Any) -> tuple[list[str], list[str]]:
    """(text parts, image details) of a message's content (a string or a list of parts)."""
    if isinstance(content, str):
        return [content], []
    texts: list[str] = []
    details: list[str] = []
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif part.get("type") == "image_url":
                image = part.get("image_url") or {}
                details.append(str(image.get("detail") or "auto") if isinstance(image, dict) else "auto")
    return texts, details


def tool_results_text(messages: list[Any]) -> str:
    """``Tool results: a | b``: the tool messages after the last assistant message, in order."""
    results: list[str] = []
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") == "assistant":
            break
        if message.get("role") == "tool":
            results.insert(0, " ".join(_part_texts(message.get("content"))[0]))
    return "Tool results: " + " | ".join(results)


def echo_text(messages: list[Any]) -> str:
    """The default reply: ``Echo: <last user text>`` plus an image summary."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            texts, details = _part_texts(message.get("content"))
            reply = "Echo: " + " ".join(texts)
            if details:
                unique = "/".join(sorted(set(details)))
                reply += f" [{len(details)} image(s), detail={unique}]"
            return reply
    return "Echo: "


def estimate_prompt_tokens(messages: list[Any]) -> int:
    """A ROUGH, deterministic token count: chars // 4 + 3 per message + 3 + 85 per image part."""
    chars = 0
    images = 0
    for message in messages:
        if not isinstance(message, dict):
            continue
        texts, details = _part_texts(message.get("content"))
        chars += sum(len(t) for t in texts)
        images += len(details)
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict):
                function = call.get("function") or {}
                chars += len(str(function.get("name", ""))) + len(str(function.get("arguments", "")))
    return chars // 4 + 3 * len(messages) + 3 + 85 * images


def split_words(text: str) -> list[str]:
    """One piece per word, each with its leading whitespace; joins back to exactly ``text``."""
    pieces = re.findall(r"\s*\S+", text)
    if not pieces:
        return [text]
    rest = text[len("".join(pieces)) :]
    pieces[-1] += rest
    return pieces


def split_even(text: str, n: int) -> list[str]:
    """``n`` nearly equal slices (fewer if the text is shorter); joins back to exactly ``text``."""
    n = max(1, min(n, len(text)))
    size, extra = divmod(len(text), n)
    pieces, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces


def _split_text(text: str, chunks: int | None) -> list[str]:
    return split_even(text, chunks) if chunks else split_words(text)


def _split_arguments(arguments: str, chunks: int | None) -> list[str]:
    if chunks:
        return split_even(arguments, chunks)
    if not arguments:
        return [""]
    return [arguments[i : i + 8] for i in range(0, len(arguments), 8)]


def _filter_results(filtered_category: str | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for category in FILTER_CATEGORIES:
        hit = category == filtered_category
        if category == "jailbreak":
            results[category] = {"filtered": hit, "detected": hit}
        else:
            results[category] = {"filtered": hit, "severity": "high" if hit else "safe"}
    return results


def _completion_filter_results(filtered_category: str | None = None) -> dict[str, Any]:
    # Azure does not report jailbreak on completions (it is a prompt shield).
    results = _filter_results(filtered_category)
    results.pop("jailbreak", None)
    if filtered_category == "jailbreak":
        results["violence"] = {"filtered": True, "severity": "high"}
    return results


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeOpenAIServer


class FakeOpenAIServer:
    """A loopback server speaking the Chat Completions protocol. See the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None) -> None:
        self.host = host
        self.port = port
        self.api_key = api_key
        self._configured_api_key = api_key
        self.mode = "openai"
        self.default_scenario = Scenario()
        self.models: list[dict[str, Any]] = [dict(m) for m in DEFAULT_MODELS]
        self._lock = threading.Lock()
        self._queue: deque[list[Any]] = deque()  # [scenario, remaining answers]
        self._requests: list[RecordedRequest] = []
        self._counter = itertools.count(1)
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.batch_api = _FilesAndBatches()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _Server((self.host, self.port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping in delays
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # ends keep-alive handler threads
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def azure_endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- scenarios and recordings ------------------------------------------------------------

    def enqueue(self, *scenarios: Scenario) -> None:
        with self._lock:
            for scenario in scenarios:
                if isinstance(scenario, dict):
                    scenario = Scenario.from_dict(scenario)
                self._queue.append([scenario, scenario.repeat])

    def configure(self, *, mode: str) -> None:
        """Switch the server's behaviour (see ``MODES`` in the module docstring) until the next reset."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        with self._lock:
            self.mode = mode

    def reset(self) -> None:
        """Back to a fresh server: no queue, no recordings, the default echo reply and models, the
        API key it was started with."""
        with self._lock:
            self.api_key = self._configured_api_key
            self.mode = "openai"
            self._queue.clear()
            self._requests.clear()
            self.default_scenario = Scenario()
            self.models = [dict(model) for model in DEFAULT_MODELS]
            self.batch_api = _FilesAndBatches()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every recorded request (control and models requests included)."""
        with self._lock:
            return list(self._requests)

    def chat_requests(self) -> list[RecordedRequest]:
        """Only the chat completion requests, oldest first."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def pending(self) -> int:
        """How many queued answers are left (repeats included)."""
        with self._lock:
            return sum(remaining for _, remaining in self._queue)

    def _next_scenario(self) -> Scenario:
        with self._lock:
            if not self._queue:
                return self.default_scenario
            entry = self._queue[0]
            entry[1] -= 1
            if entry[1] <= 0:
                self._queue.popleft()
            return entry[0]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _new_request_id(self) -> str:
        return f"req_fake_{next(self._counter)}"


# ---------------------------------------------------------------------------------------------
# Request handling
# ---------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOpenAI/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections
    server: _Server

    # -- plumbing ----------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.fake._lock:
            self.fake._connections.add(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        with self.fake._lock:
            self.fake._connections.discard(self.connection)

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError, _ClientGone):
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        if getattr(self.server, "verbose", False):
            sys.stderr.write(f"[fake-openai] {self.address_string()} {format % args}\n")

    @property
    def fake(self) -> FakeOpenAIServer:
        return self.server.fake

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _sleep(self, seconds: float) -> None:
        if seconds > 0 and self.fake._stopping.wait(seconds):
            raise _ClientGone("server stopping")

    def _send_json(self, status: int, payload: Any, extra_headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self._started = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", self.request_id)
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self._write(body)

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError as err:
            self.close_connection = True
            raise _ClientGone(str(err)) from err

    def _error(
        self,
        status: int,
        message: str,
        *,
        type_: str | None = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        error: dict[str, Any] = {"message": message, "type": type_, "param": param, "code": code}
        error.update(extra or {})
        all_headers = {**getattr(self, "_pending_headers", {}), **(headers or {})}
        self._send_json(status, {"error": error}, all_headers)

    # -- routing -----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        self.request_id = self.fake._new_request_id()
        self._pending_headers: dict[str, str] = {}
        self._started = False
        try:
            self._route()
        except (_ClientGone, ConnectionError):
            raise
        except Exception as err:  # a bug in the fake (or a malformed request): say so loudly
            traceback.print_exc()
            if self._started:
                self.close_connection = True
                raise _ClientGone("fake server error mid-response") from err
            self._pending_headers = {"x-should-retry": "false"}
            self._error(500, f"fake server error: {type(err).__name__}: {err}", type_="fake_server_error")

    def _route(self) -> None:
        fake = self.fake
        split = urlsplit(self.path)
        path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        raw = self._read_body()
        parsed: Any = None
        body_text: str | None = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                body_text = raw.decode("utf-8", errors="replace")
        fake._record(
            RecordedRequest(
                method=self.command,
                path=path,
                query=query,
                headers=headers,
                json=parsed,
                body_text=body_text,
                request_id=self.request_id,
            )
        )
        multipart = headers.get("content-type", "").startswith("multipart/form-data")
        if raw and body_text is not None and not path.startswith("/_fake/") and not multipart:
            self._error(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
                "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
                "sent was not valid JSON.)",
            )
            return

        if path.startswith("/_fake/"):
            self._control(path, parsed)
            return
        azure = path.startswith("/openai/")
        if not self._authorized(headers, azure):
            return

        method = self.command
        deployment_match = _AZURE_DEPLOYMENT_PATH.match(path)
        if method == "POST" and path.rstrip("/") in ("/v1/chat/completions", "/openai/v1/chat/completions"):
            self._chat(parsed, azure=azure, deployment=None)
        elif method == "POST" and deployment_match:
            version = query.get("api-version", "")
            if not _AZURE_API_VERSION.match(version):
                self._error(404, "Resource not found", type_=None, code="404")
                return
            self._chat(parsed, azure=True, deployment=deployment_match.group(1))
        elif method == "GET" and path.rstrip("/") in ("/v1/models", "/openai/v1/models"):
            self._send_json(200, {"object": "list", "data": fake.models})
        elif method == "GET" and path.rstrip("/") == "/openai/models":
            if not _AZURE_API_VERSION.match(query.get("api-version", "")):
                self._error(404, "Resource not found", type_=None, code="404")
                return
            self._send_json(200, {"object": "list", "data": fake.models})
        elif _BATCH_ROUTE.match(path):
            _files_and_batches(self, method, path, raw, headers, azure=azure)
        else:
            self._error(404, f"Invalid URL ({method} {path})")

    def _authorized(self, headers: dict[str, str], azure: bool) -> bool:
        key = self.fake.api_key
        if key is None:
            return True
        if headers.get("authorization") == f"Bearer {key}" or headers.get("api-key") == key:
            return True
        self._auth_error(azure, headers)
        return False

    def _auth_error(self, azure: bool, headers: dict[str, str]) -> None:
        if azure:
            self._error(
                401,
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
                "a valid key for an active subscription and use a correct regional API endpoint for your "
                "resource.",
                type_=None,
                code="401",
            )
            return
        sent = headers.get("authorization", "").removeprefix("Bearer ").strip()
        masked = (sent[:3] + "*" * 10 + sent[-4:]) if len(sent) > 8 else "*" * len(sent)
        self._error(
            401,
            f"Incorrect API key provided: {masked}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )

    def _control(self, path: str, payload: Any) -> None:
        fake = self.fake
        path = path.rstrip("/")
        try:
            if path == "/_fake/scenarios" and self.command == "POST":
                items = payload if isinstance(payload, list) else [payload]
                scenarios = [Scenario.from_dict(item) for item in items]
                fake.enqueue(*scenarios)
                self._send_json(200, {"queued": len(scenarios), "pending": fake.pending()})
            elif path == "/_fake/requests" and self.command == "GET":
                recorded = [r.to_dict() for r in fake.requests if not r.path.startswith("/_fake/")]
                self._send_json(200, recorded)
            elif path == "/_fake/reset" and self.command == "POST":
                fake.reset()
                self._send_json(200, {"ok": True})
            elif path == "/_fake/config" and self.command == "POST":
                if not isinstance(payload, dict):
                    raise ValueError('expected {"mode": ...}')
                fake.configure(mode=str(payload.get("mode", "openai")))
                self._send_json(200, {"ok": True, "mode": fake.mode})
            elif path == "/_fake/models" and self.command in ("POST", "PUT"):
                if not isinstance(payload, list):
                    raise ValueError("expected a JSON list of model objects")
                fake.models = payload
                self._send_json(200, {"ok": True})
            else:
                self._error(404, f"Invalid URL ({self.command} {path})")
        except (TypeError, ValueError) as err:
            self._error(400, f"bad control request: {err}")

    # -- chat completions --------------------------------------------------------------------

    def _chat(self, body: Any, *, azure: bool, deployment: str | None) -> None:
        if not isinstance(body, dict):
            self._error(
                400, "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter"
            )
            return
        messages = body.get("messages")
        if not isinstance(messages, list):
            self._error(
                400, "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter"
            )
            return
        if deployment is None and not body.get("model"):
            self._error(400, "you must provide a model parameter", code=None)
            return

        llama_cpp = self.fake.mode == "llama_cpp"
        response_format = body.get("response_format")
        if llama_cpp and isinstance(response_format, dict) and response_format.get("type") == "json_schema":
            # Refused while validating the request: no scenario is used up.
            self._error(500, LLAMA_CPP_RESPONSE_FORMAT_ERROR, type_="internal_server_error")
            return
        scenario = self.fake._next_scenario()
        if llama_cpp:
            scenario = dataclasses.replace(scenario, tool_calls=None)
        self._sleep(scenario.first_byte_delay)
        model = scenario.model or deployment or str(body.get("model"))
        prompt_tokens = estimate_prompt_tokens(messages)
        if scenario.fault:
            self._fault(scenario, azure=azure, prompt_tokens=prompt_tokens)
            return
        plan = _Plan(
            scenario, messages, azure=azure, model=model, prompt_tokens=prompt_tokens, request_id=self.request_id
        )
        if body.get("stream"):
            stream_options = body.get("stream_options")
            include_usage = isinstance(stream_options, dict) and bool(stream_options.get("include_usage"))
            include_usage = include_usage and not llama_cpp
            self._stream(plan, include_usage=include_usage, scenario=scenario)
        else:
            self._send_json(200, plan.completion())

    def _fault(self, scenario: Scenario, *, azure: bool, prompt_tokens: int) -> None:
        fault = scenario.fault
        custom = scenario.error_message
        headers: dict[str, str] = {}
        if scenario.retry_after > 0:
            headers["retry-after"] = f"{scenario.retry_after:g}"
            headers["retry-after-ms"] = str(round(scenario.retry_after * 1000))
        if scenario.should_retry is not None:
            headers["x-should-retry"] = "true" if scenario.should_retry else "false"
        self._pending_headers = headers
        if fault == "rate_limit":
            if azure:
                self._error(
                    429,
                    custom
                    or "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
                    "2024-10-21 have exceeded token rate limit of your current AIServices S0 pricing tier. "
                    f"Please retry after {max(1, round(scenario.retry_after))} seconds.",
                    type_=None,
                    code="429",
                )
            else:
                self._error(
                    429,
                    custom
                    or "Rate limit reached for gpt-4.1-mini in organization org-fake on tokens per min "
                    "(TPM): Limit 200000, Used 199000, Requested 2000. Please try again in 300ms.",
                    type_="tokens",
                    param=None,
                    code="rate_limit_exceeded",
                )
        elif fault == "insufficient_quota":
            self._error(
                429,
                custom
                or "You exceeded your current quota, please check your plan and billing details. For "
                "more information on this error, read the docs: "
                "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                type_="insufficient_quota",
                code="insufficient_quota",
            )
        elif fault == "server_error":
            if azure:
                self._error(
                    500,
                    custom
                    or "The server had an error processing your request. Sorry about that! You can retry your request.",
                    type_=None,
                    code="InternalServerError",
                )
            else:
                self._error(
                    500,
                    custom or "The server had an error while processing your request. Sorry about that!",
                    type_="server_error",
                    code=None,
                )
        elif fault == "context_length_exceeded":
            asked = CONTEXT_WINDOW + max(1, prompt_tokens)
            self._error(
                400,
                custom
                or f"This model's maximum context length is {CONTEXT_WINDOW} tokens. However, your "
                f"messages resulted in {asked} tokens. Please reduce the length of the messages.",
                param="messages",
                code="context_length_exceeded",
            )
        elif fault == "content_filter":
            self._error(
                400,
                custom
                or "The response was filtered due to the prompt triggering Azure OpenAI's content "
                "management policy. Please modify your prompt and retry. To learn more about our content "
                "filtering policies please read our documentation: "
                "https://go.microsoft.com/fwlink/?linkid=2198766",
                type_=None,
                param="prompt",
                code="content_filter",
                extra={
                    "status": 400,
                    "innererror": {
                        "code": "ResponsibleAIPolicyViolation",
                        "content_filter_result": _filter_results(scenario.filter_category),
                    },
                },
            )
        elif fault == "auth":
            if custom:
                self._error(401, custom, code="invalid_api_key")
            else:
                self._auth_error(azure, {"authorization": "Bearer sk-fake-wrong-key-0000"})
        elif fault == "permission_denied":
            self._error(
                403,
                custom or "You are not allowed to sample from this model",
                type_="invalid_request_error",
                code="model_not_available" if not azure else "403",
            )
        elif fault == "deployment_not_found":
            self._error(
                404,
                custom
                or "The API deployment for this resource does not exist. If you created the "
                "deployment within the last 5 minutes, please wait a moment and try again.",
                type_=None,
                code="DeploymentNotFound",
            )
        elif fault == "model_not_found":
            self._error(
                404,
                custom or "The model `gpt-4.1-mini` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        else:  # bad_request
            self._error(
                400,
                custom or "Invalid value for 'temperature': must be between 0 and 2.",
                param="temperature",
                code="invalid_value",
            )

    def _stream(self, plan: _Plan, *, include_usage: bool, scenario: Scenario) -> None:
        events = [json.dumps(chunk) for chunk in plan.chunks(include_usage=include_usage)]
        events.append("[DONE]")
        self._started = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", self.request_id)
        self.end_headers()
        self.wfile.flush()

        for sent, event in enumerate(events):
            if scenario.cut_after is not None and sent >= scenario.cut_after:
                self._drop_connection()
                return
            if sent:
                self._sleep(scenario.chunk_delay)
            data = f"data: {event}\n\n".encode()
            self._write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self._write(b"0\r\n\r\n")

    def _drop_connection(self) -> None:
        """Close the socket mid-body: no terminating chunk, no [DONE]."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        raise _ClientGone("cut by scenario")


class _Plan:
    """The deltas of one reply, rendered as a chat.completion or a list of chunks."""

    def __init__(
        self,
        scenario: Scenario,
        messages: list[Any],
        *,
        azure: bool,
        model: str,
        prompt_tokens: int,
        request_id: str,
    ) -> None:
        self.scenario = scenario
        self.azure = azure
        self.model = model
        self.id = "chatcmpl-fake" + request_id.removeprefix("req_fake_").rjust(6, "0")
        self.created = int(time.time())
        s = scenario
        if s.echo_tool_results:
            self.text: str | None = tool_results_text(messages)
        elif s.text is not None:
            self.text = s.text
        elif s.tool_calls or s.refusal is not None:
            self.text = None
        else:
            self.text = echo_text(messages)
        self.text_pieces = _split_text(self.text, s.chunks) if self.text is not None else []
        self.refusal_pieces = _split_text(s.refusal, s.chunks) if s.refusal is not None else []
        self.calls: list[dict[str, Any]] = []
        for index, call in enumerate(s.tool_calls or []):
            arguments = call.get("arguments", "{}")
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments)
            self.calls.append(
                {
                    "id": call.get("id") or f"call_fake{index}_{self.id[-6:]}",
                    "name": call["name"],
                    "arguments": arguments,
                    "pieces": _split_arguments(arguments, s.chunks),
                }
            )
        self.finish_reason = s.finish_reason or ("tool_calls" if self.calls else "stop")
        completion_tokens = (
            len([p for p in self.text_pieces if p])
            + len(self.refusal_pieces)
            + sum(len([p for p in c["pieces"] if p]) for c in self.calls)
        )
        if s.usage is not None:
            self.usage = dict(s.usage)
        else:
            self.usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": s.cached_tokens, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            }

    @property
    def _filtered_category(self) -> str | None:
        return self.scenario.filter_category if self.finish_reason == "content_filter" else None

    def completion(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": self.text,
            "refusal": "".join(self.refusal_pieces) if self.scenario.refusal is not None else None,
            "annotations": [],
        }
        if self.calls:
            message["tool_calls"] = [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in self.calls
            ]
        choice: dict[str, Any] = {"index": 0, "message": message, "logprobs": None, "finish_reason": self.finish_reason}
        result: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [choice],
            "usage": self.usage,
            "system_fingerprint": "fp_fake",
        }
        if self.azure:
            choice["content_filter_results"] = _completion_filter_results(self._filtered_category)
            result["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": _filter_results()}]
        else:
            result["service_tier"] = "default"
        return result

    def _deltas(self) -> list[dict[str, Any]]:
        deltas: list[dict[str, Any]] = []
        deltas += [{"content": piece} for piece in self.text_pieces]
        deltas += [{"refusal": piece} for piece in self.refusal_pieces]
        for index, call in enumerate(self.calls):
            deltas.append(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["name"], "arguments": ""},
                        }
                    ]
                }
            )
            deltas += [
                {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
                for piece in call["pieces"]
                if piece
            ]
        return deltas

    def chunks(self, *, include_usage: bool) -> list[dict[str, Any]]:
        layout = self.scenario.layout
        deltas = self._deltas()
        # (delta, finish_reason) pairs
        steps: list[tuple[dict[str, Any], str | None]] = []
        if layout == "openai":
            first: dict[str, Any] = {"role": "assistant", "content": None if self.text is None else "", "refusal": None}
            steps.append((first, None))
            steps += [(d, None) for d in deltas]
            steps.append(({}, self.finish_reason))
        else:
            if not deltas:
                deltas = [{"content": ""}]
            deltas[0] = {"role": "assistant", **deltas[0]}
            steps = [(d, None) for d in deltas]
            steps[-1] = (steps[-1][0], self.finish_reason)

        chunks: list[dict[str, Any]] = []
        if self.azure:
            chunks.append(
                {
                    "choices": [],
                    "created": 0,
                    "id": "",
                    "model": "",
                    "object": "",
                    "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _filter_results()}],
                }
            )
        for delta, finish in steps:
            choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            if self.azure:
                has_text = bool(delta.get("content") or delta.get("refusal"))
                if finish == "content_filter" or has_text:
                    choice["content_filter_results"] = _completion_filter_results(
                        self._filtered_category if finish else None
                    )
                else:
                    choice["content_filter_results"] = {}
            chunks.append(self._chunk([choice], include_usage))
        if include_usage:
            final = self._chunk([], include_usage)
            final["usage"] = self.usage
            chunks.append(final)
        return chunks

    def _chunk(self, choices: list[dict[str, Any]], include_usage: bool) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": choices,
        }
        if not self.azure:
            chunk["service_tier"] = "default"
        if include_usage:
            chunk["usage"] = None
        return chunk


# ---------------------------------------------------------------------------------------------
# Files and Batches
# ---------------------------------------------------------------------------------------------

_BATCH_ROUTE = re.compile(r"^/(?:v1|openai|openai/v1)/(files|batches)(?:/([^/]+))?(?:/(content|cancel))?/?$")
_BATCH_FAULT_STATUS = {"rate_limit": 429, "insufficient_quota": 429, "server_error": 500, "auth": 401}
_BATCH_FAULT_STATUS.update(permission_denied=403, deployment_not_found=404, model_not_found=404)


@dataclass
class _FilesAndBatches:
    """Uploaded files (id -> metadata and bytes) and batches (id -> the batch object)."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def add_file(self, filename: str, purpose: str, data: bytes) -> dict[str, Any]:
        file_id = f"file-fake{next(self.counter):04d}"
        info = {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }
        self.files[file_id] = info
        self.contents[file_id] = data
        return info


def _multipart_fields(raw: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """name -> (filename, bytes) of a multipart/form-data body."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str):
            fields[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


def _files_and_batches(
    handler: _Handler, method: str, path: str, raw: bytes, headers: dict[str, str], *, azure: bool
) -> None:
    match = _BATCH_ROUTE.match(path)
    assert match is not None
    kind, item_id, action = match.groups()
    fake = handler.fake
    with fake._lock:
        store = fake.batch_api
    if kind == "files":
        if method == "POST" and item_id is None:
            fields = _multipart_fields(raw, headers.get("content-type", ""))
            if "file" not in fields:
                handler._error(400, "Missing required parameter: 'file'.", param="file")
                return
            purpose = fields.get("purpose", (None, b""))[1].decode()
            if purpose != "batch":
                handler._error(400, f"Invalid purpose {purpose!r}: this fake only takes 'batch'.", param="purpose")
                return
            filename, data = fields["file"]
            with fake._lock:
                info = store.add_file(filename or "upload.jsonl", purpose, data)
            handler._send_json(200, info)
        elif method == "GET" and item_id in store.files and action is None:
            handler._send_json(200, store.files[item_id])
        elif method == "GET" and item_id in store.files and action == "content":
            data = store.contents[item_id]
            handler._started = True
            handler.send_response(200)
            handler.send_header("Content-Type", "application/octet-stream")
            handler.send_header("Content-Length", str(len(data)))
            handler.send_header("x-request-id", handler.request_id)
            handler.end_headers()
            handler._write(data)
        else:
            handler._error(404, f"No such File object: {item_id}", param="id")
        return
    # batches
    if method == "POST" and item_id is None:
        body = json.loads(raw or b"{}")
        input_id = body.get("input_file_id") if isinstance(body, dict) else None
        if input_id not in store.files:
            handler._error(400, f"Invalid 'input_file_id': {input_id!r}.", param="input_file_id")
            return
        with fake._lock:
            batch_id = f"batch_fake{next(store.counter):04d}"
            lines = store.contents[input_id].decode().splitlines()
            store.batches[batch_id] = {
                "id": batch_id,
                "object": "batch",
                "endpoint": body.get("endpoint", "/v1/chat/completions"),
                "input_file_id": input_id,
                "completion_window": body.get("completion_window", "24h"),
                "status": "validating",
                "created_at": int(time.time()),
                "output_file_id": None,
                "error_file_id": None,
                "metadata": body.get("metadata"),
                "request_counts": {"total": len([line for line in lines if line.strip()]), "completed": 0, "failed": 0},
            }
            batch = dict(store.batches[batch_id])
        handler._send_json(200, batch)
        return
    if item_id not in store.batches:
        handler._error(404, f"No such batch: {item_id}", param="batch_id")
        return
    if method == "POST" and action == "cancel":
        with fake._lock:
            batch = store.batches[item_id]
            if batch["status"] in ("validating", "in_progress", "finalizing"):
                batch["status"] = "cancelling"
            answer = dict(batch)
        handler._send_json(200, answer)
    elif method == "GET" and action is None:
        with fake._lock:
            batch = store.batches[item_id]
            status = batch["status"]
            if status == "cancelling":
                batch["status"] = "cancelled"
            elif status == "validating":
                batch["status"] = "in_progress"
            elif status == "in_progress":
                batch["status"] = "finalizing"  # this poll answers the lines; a parallel poll sees finalizing
            answer = dict(batch)
        if status == "in_progress":
            _complete_batch(fake, store, batch, azure=azure)
            with fake._lock:
                answer = dict(batch)
        handler._send_json(200, answer)
    else:
        handler._error(404, f"Invalid URL ({method} {path})")


def _complete_batch(fake: FakeOpenAIServer, store: _FilesAndBatches, batch: dict[str, Any], *, azure: bool) -> None:
    """Answer every input line like a non-streaming chat completion, each taking the next scenario."""
    outputs: list[str] = []
    errors: list[str] = []
    for line in store.contents[batch["input_file_id"]].decode().splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        body = item.get("body") or {}
        request_id = fake._new_request_id()
        scenario = fake._next_scenario()
        record: dict[str, Any] = {"id": f"batch_req_{request_id}", "custom_id": item.get("custom_id"), "error": None}
        if scenario.fault:
            status = _BATCH_FAULT_STATUS.get(scenario.fault, 400)
            message = scenario.error_message or f"fake {scenario.fault}"
            record["response"] = {
                "status_code": status,
                "request_id": request_id,
                "body": {"error": {"message": message, "type": scenario.fault, "param": None, "code": scenario.fault}},
            }
            errors.append(json.dumps(record))
            continue
        messages = body.get("messages") or []
        model = scenario.model or str(body.get("model"))
        plan = _Plan(
            scenario,
            messages,
            azure=azure,
            model=model,
            prompt_tokens=estimate_prompt_tokens(messages),
            request_id=request_id,
        )
        record["response"] = {"status_code": 200, "request_id": request_id, "body": plan.completion()}
        outputs.append(json.dumps(record))
    outputs.reverse()  # results come in any order: callers must join by custom_id
    with fake._lock:
        _finish_batch(store, batch, outputs, errors)


def _finish_batch(store: _FilesAndBatches, batch: dict[str, Any], outputs: list[str], errors: list[str]) -> None:
    counts = batch["request_counts"]
    counts.update(completed=len(outputs), failed=len(errors))
    if outputs:
        batch["output_file_id"] = store.add_file(
            "batch_output.jsonl", "batch_output", "\n".join(outputs).encode() + b"\n"
        )["id"]
    if errors:
        batch["error_file_id"] = store.add_file(
            "batch_errors.jsonl", "batch_output", "\n".join(errors).encode() + b"\n"
        )["id"]
    batch["status"] = "completed"
    batch["completed_at"] = int(time.time())


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake OpenAI / Azure OpenAI Chat Completions server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default=None, help="require this key (Bearer or api-key header)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    server = FakeOpenAIServer(host=args.host, port=args.port, api_key=args.api_key).start()
    assert server._httpd is not None
    server._httpd.verbose = args.verbose  # type: ignore[attr-defined]
    print(f"Fake OpenAI server: base_url={server.base_url} azure_endpoint={server.azure_endpoint}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
