"""The one client wrapper: our request in, our events and errors out; the SDK stays behind it.

``PlaygroundClient`` wraps the official ``openai`` SDK (``OpenAI`` / ``AzureOpenAI``, built by the
connection's :class:`~playground.providers.Provider`). It streams :data:`StreamEvent` values,
measures time to first token and output speed, and turns every failure into a
:class:`~playground.errors.PlaygroundError` whose text has been through
:func:`~playground.errors.redact`.

Timeouts are the connection's settings, each one deadline: connecting, the first byte (counted from
the first attempt, across every automatic retry) and the idle time between two chunks. Retries are
ours, not the SDK's, because the SDK gives each attempt the whole timeout again (a 60 s timeout
with two retries fails after about 180 s). Only what may succeed on a second try is retried (rate
limits, 5xx, dropped connections), never an error we call final (quota, auth, permission, not
found, invalid request, content filter, context length), and never a stream that broke after
tokens arrived.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx2
from azure.core.exceptions import ClientAuthenticationError

from playground.connection import ConnectionSettings
from playground.errors import ErrorKind, PlaygroundError, redact
from playground.providers import Provider, provider_for
from playground.request import ChatRequest

if TYPE_CHECKING:  # the SDK (about 0.3 s to import) loads at the first request, not with every page
    import openai

TIMEOUTS_SETTING = "Connection › Timeouts"
MAX_BACKOFF_S = 8.0


# --- events ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StreamOpened:
    request_id: str | None


@dataclass(frozen=True, slots=True)
class ServedModel:
    """The model the server says answered (an Azure deployment reports its underlying model)."""

    name: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class RefusalDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of a tool call; fragments with the same ``index`` join into one call."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class UsageReport:
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Finished:
    reason: str


@dataclass(frozen=True, slots=True)
class ContentFilterReport:
    """Azure content-filter annotations. ``stage`` is "prompt" or "completion"."""

    stage: str
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def filtered_categories(self) -> list[str]:
        return sorted(
            name for name, verdict in self.results.items() if isinstance(verdict, dict) and verdict.get("filtered")
        )


@dataclass(frozen=True, slots=True)
class ServerNotice:
    """Something the user should know about how the server handled the request (a fallback)."""

    text: str


@dataclass(frozen=True, slots=True)
class StreamMetrics:
    time_to_first_token_s: float | None
    total_time_s: float
    tokens_per_second: float | None


StreamEvent = (
    StreamOpened
    | ServedModel
    | ServerNotice
    | TextDelta
    | RefusalDelta
    | ToolCallDelta
    | UsageReport
    | Finished
    | ContentFilterReport
    | StreamMetrics
)


# --- errors ----------------------------------------------------------------------------------
_CONTEXT_RE = re.compile(r"maximum context length is ([\d,]+) tokens.*?resulted in ([\d,]+) tokens", re.S)


def _error_body(exc: openai.APIError) -> dict[str, Any]:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    return body if isinstance(body, dict) else {}


def _server_message(exc: openai.APIError) -> str:
    return str(_error_body(exc).get("message") or exc.message or "")


def client_errors() -> tuple[type[Exception], ...]:
    """What the SDK, the transport and the Entra ID token provider raise; map_error explains each.

    A function, not a constant: the SDK loads when a request is made, not with the module.
    """
    import openai

    return (openai.OpenAIError, httpx2.HTTPError, ClientAuthenticationError)


def map_error(exc: Exception, provider: Provider, *, mid_stream: bool = False) -> PlaygroundError:
    """Translate an SDK/transport/credential exception into a PlaygroundError a user can act on.

    Every message is redacted (the key, and any long run of it, never shows)."""
    error = _map_error(exc, provider, mid_stream=mid_stream)
    error.message = redact(error.message, [provider.settings.key])
    error.args = (error.message,)
    return error


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    return isinstance(exc, kind) or isinstance(exc.__cause__, kind) or isinstance(exc.__context__, kind)


def _map_error(exc: Exception, provider: Provider, *, mid_stream: bool) -> PlaygroundError:
    import openai

    settings = provider.settings
    if isinstance(exc, ClientAuthenticationError):
        first_line = str(exc.message or exc).strip().splitlines()[0] if str(exc).strip() else ""
        return PlaygroundError(
            ErrorKind.AUTH,
            "Microsoft Entra ID sign-in failed on the server"
            + (f" ({first_line})" if first_line else "")
            + ". Sign the server in (az login, a managed identity, or AZURE_CLIENT_ID / AZURE_TENANT_ID / "
            "AZURE_CLIENT_SECRET), or use an API key.",
        )
    request_id = getattr(exc, "request_id", None)
    if mid_stream and _caused_by(exc, httpx2.ReadTimeout):
        return PlaygroundError(
            ErrorKind.TIMEOUT,
            f"The reply stalled: nothing arrived for {settings.idle_timeout_s:g} s (the idle timeout in "
            f"{TIMEOUTS_SETTING}). The partial reply is kept; press Retry to ask again.",
            request_id=request_id,
            retryable=True,
        )
    if mid_stream and isinstance(exc, openai.APIConnectionError | httpx2.HTTPError):
        return PlaygroundError(
            ErrorKind.STREAM_INTERRUPTED,
            "The connection dropped while the reply was streaming. The partial reply is kept; "
            "press Retry to ask again.",
            request_id=request_id,
            retryable=True,
        )
    if _caused_by(exc, httpx2.ConnectTimeout):
        return PlaygroundError(
            ErrorKind.TIMEOUT,
            f"Could not connect to {provider.endpoint_label()} within {settings.connect_timeout_s:g} s (the "
            f"connect timeout in {TIMEOUTS_SETTING}). Check the address, or raise that timeout.",
            retryable=True,
        )
    if isinstance(exc, openai.APITimeoutError) or _caused_by(exc, httpx2.TimeoutException):
        return PlaygroundError(
            ErrorKind.TIMEOUT,
            f"The server did not start answering within {settings.first_byte_timeout_s:g} s (the first-byte "
            f"timeout in {TIMEOUTS_SETTING}, automatic retries included). It may be overloaded or loading "
            "the model: retry, or raise that timeout.",
            retryable=True,
        )
    if isinstance(exc, openai.APIConnectionError):
        return PlaygroundError(
            ErrorKind.CONNECTION,
            f"Could not reach {provider.endpoint_label()}. Check the URL and that the server is running.",
            retryable=True,
        )
    if not isinstance(exc, openai.APIStatusError):
        if isinstance(exc, openai.APIError):
            return PlaygroundError(
                ErrorKind.SERVER, f"The server reported an error: {exc.message or exc}", retryable=True
            )
        return PlaygroundError(ErrorKind.SERVER, f"Unexpected error: {type(exc).__name__}", retryable=True)

    status = exc.status_code
    body = _error_body(exc)
    code = str(body.get("code") or "")
    server_message = _server_message(exc)

    def error(kind: ErrorKind, message: str, retryable: bool = False, **details: Any) -> PlaygroundError:
        return PlaygroundError(
            kind, message, request_id=request_id, status=status, retryable=retryable, details=details
        )

    if status == 401:
        return error(ErrorKind.AUTH, "The API key (or token) was rejected. Check it in the connection settings.")
    if status == 403:
        return error(ErrorKind.PERMISSION, f"This key may not use this model or resource: {server_message}")
    if status == 404:
        return error(ErrorKind.NOT_FOUND, provider.not_found_message(server_message))
    if status == 429:
        if code == "insufficient_quota":
            return error(
                ErrorKind.QUOTA,
                "You have run out of quota (insufficient_quota). Add credit or raise the limit in your "
                "provider's billing settings; retrying will not help.",
            )
        retry_after = exc.response.headers.get("retry-after") if exc.response is not None else None
        wait = f" The server asks to wait {retry_after} s." if retry_after else ""
        return error(
            ErrorKind.RATE_LIMIT,
            f"Rate limit reached after automatic retries.{wait} Retry shortly.",
            retryable=True,
            retry_after=retry_after,
        )
    if status == 400 and code == "context_length_exceeded":
        if match := _CONTEXT_RE.search(server_message):
            limit, used = (int(group.replace(",", "")) for group in match.groups())
            return error(
                ErrorKind.CONTEXT_LENGTH,
                f"The conversation is too long for the model: {used:,} tokens sent, the limit is {limit:,}. "
                "Drop older turns or images, or lower max output tokens.",
                limit=limit,
                used=used,
            )
        return error(
            ErrorKind.CONTEXT_LENGTH,
            "The conversation is longer than the model's context window. Drop older turns or images.",
        )
    if code == "content_filter":
        inner = body.get("innererror") or {}
        results = inner.get("content_filter_result") or {}
        categories = sorted(k for k, v in results.items() if isinstance(v, dict) and v.get("filtered"))
        which = ", ".join(categories) if categories else "a policy category"
        return error(
            ErrorKind.CONTENT_FILTER,
            f"The prompt was blocked by the content filter ({which}). Rephrase the message; "
            "filtered requests are still billed.",
            categories=categories,
        )
    if status >= 500:
        return error(
            ErrorKind.SERVER, f"The server failed ({status}) even after automatic retries. Retry later.", retryable=True
        )
    return error(ErrorKind.BAD_REQUEST, f"The server rejected the request ({status}): {server_message}")


def _tool_call_delta(call: Any) -> ToolCallDelta:
    function = call.function
    return ToolCallDelta(
        index=call.index,
        id=call.id or None,
        name=(function.name if function else None) or None,
        arguments=(function.arguments if function else "") or "",
    )


# --- the client ------------------------------------------------------------------------------
class PlaygroundClient:
    """One connection's client. Build one per browser session; it holds that session's key only.

    ``provider`` is this connection's :class:`~playground.providers.Provider`; what it learns about
    the server (an OpenAI-compatible server's capabilities) lasts as long as this client.
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        http_client: httpx2.Client | None = None,
        token_provider: Callable[[], str] | None = None,
    ) -> None:
        self.settings = settings
        self.provider = provider_for(settings)
        self._http_client = http_client
        self._token_provider = token_provider
        self._sdk_client: openai.OpenAI | None = None

    def _sdk(self) -> openai.OpenAI:
        if self._sdk_client is None:
            settings = self.settings
            self._sdk_client = self.provider.sdk_client(
                self.provider.credential(self._token_provider),
                timeout=httpx2.Timeout(settings.first_byte_timeout_s, connect=settings.connect_timeout_s),
                max_retries=0,  # ours: one deadline across attempts (see the module docstring)
                http_client=self._http_client,
            )
        return self._sdk_client

    def _fail(self, exc: Exception, *, mid_stream: bool = False) -> PlaygroundError:
        return map_error(exc, self.provider, mid_stream=mid_stream)

    def _ready(self) -> None:
        if missing := self.provider.missing():
            raise PlaygroundError(ErrorKind.CONFIGURATION, "To send, add " + " and ".join(missing) + " in the sidebar.")
        self.provider.check_address()

    def _retry_wait(self, exc: Exception, error: PlaygroundError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when ``error`` must not be retried."""
        if not error.retryable or attempt >= self.settings.max_retries:
            return None
        response = getattr(exc, "response", None)
        headers = response.headers if isinstance(response, httpx2.Response) else {}
        if headers.get("x-should-retry") == "false":
            return None
        for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
            try:
                return float(headers[name]) * scale
            except (KeyError, ValueError):
                continue
        return min(0.5 * 2**attempt, MAX_BACKOFF_S)

    def _open(self, request: ChatRequest) -> tuple[openai.Stream[Any], ChatRequest, list[str]]:
        """Send ``request``, retrying what may succeed, within the first-byte deadline.

        Returns the open stream, the request that was finally sent (a provider fallback may have
        replaced it) and sentences for the user about fallbacks.
        """
        import openai

        settings = self.settings
        deadline = time.monotonic() + settings.first_byte_timeout_s
        notices: list[str] = []
        attempt = 0
        fell_back = False
        while True:
            remaining = max(deadline - time.monotonic(), 0.001)
            connect = min(settings.connect_timeout_s, remaining)
            timeout = httpx2.Timeout(remaining, connect=connect, pool=connect)
            try:
                stream = self._sdk().chat.completions.create(**request.to_kwargs(), timeout=timeout)
                return stream, request, notices
            except client_errors() as exc:
                if isinstance(exc, openai.APIStatusError):
                    fallback, why = self.provider.refusal_fallback(request, exc.status_code, _server_message(exc))
                    if fallback is not None and why is not None and not fell_back:
                        request, fell_back = fallback, True
                        notices.append(why)
                        continue
                    if why is not None:
                        raise self._refused(exc, why) from exc
                error = self._fail(exc)
                wait = self._retry_wait(exc, error, attempt)
                if wait is None or time.monotonic() + wait >= deadline:
                    raise error from exc
                time.sleep(wait)
                attempt += 1

    def _refused(self, exc: openai.APIStatusError, why: str) -> PlaygroundError:
        """A refusal the provider explained: final, whatever the status code says."""
        error = PlaygroundError(
            ErrorKind.BAD_REQUEST,
            f"{why} The server said ({exc.status_code}): {_server_message(exc)}",
            request_id=exc.request_id,
            status=exc.status_code,
        )
        error.message = redact(error.message, [self.settings.key])
        error.args = (error.message,)
        return error

    def stream_chat(self, request: ChatRequest) -> Generator[StreamEvent, None, None]:
        """Send ``request`` and yield our events as chunks arrive, ending with StreamMetrics.

        Raises PlaygroundError; a stream that ends without a finish reason counts as interrupted.
        """
        self._ready()
        started = time.perf_counter()
        request, notices = self.provider.adapt(request)
        stream, request, fallbacks = self._open(request)
        # The first byte has arrived: from now on the read timeout is the idle time between chunks.
        stream.response.request.extensions.get("timeout", {})["read"] = self.settings.idle_timeout_s
        request_id = stream.response.headers.get("x-request-id")
        first_token_at: float | None = None
        output_deltas = 0
        usage: UsageReport | None = None
        finish_reason: str | None = None
        served_model: str | None = None
        tool_calls_seen = False
        yield StreamOpened(request_id=request_id)
        for text in [*notices, *fallbacks]:
            yield ServerNotice(text)
        try:
            with stream:
                for chunk in stream:
                    if served_model is None and chunk.model:
                        served_model = chunk.model
                        yield ServedModel(chunk.model)
                    if first_token_at is None and chunk.model_extra:  # Azure annotates the prompt first
                        for prompt_result in chunk.model_extra.get("prompt_filter_results") or []:
                            results = prompt_result.get("content_filter_results") or {}
                            yield ContentFilterReport("prompt", results)
                    if chunk.usage is not None:
                        details = chunk.usage.prompt_tokens_details
                        usage = UsageReport(
                            prompt_tokens=chunk.usage.prompt_tokens,
                            completion_tokens=chunk.usage.completion_tokens,
                            cached_tokens=(details.cached_tokens or 0) if details else 0,
                        )
                        yield usage
                    for choice in chunk.choices:
                        # The hot path (one text delta per chunk) allocates one event and nothing else.
                        delta = choice.delta
                        if delta is not None and (delta.content or delta.refusal or delta.tool_calls):
                            if first_token_at is None:
                                first_token_at = time.perf_counter()
                            if delta.content:
                                output_deltas += 1
                                yield TextDelta(delta.content)
                            if delta.refusal:
                                output_deltas += 1
                                yield RefusalDelta(delta.refusal)
                            for call in delta.tool_calls or []:
                                output_deltas += 1
                                tool_calls_seen = True
                                yield _tool_call_delta(call)
                        if choice.model_extra and (filter_results := choice.model_extra.get("content_filter_results")):
                            yield ContentFilterReport("completion", filter_results)
                        if choice.finish_reason:
                            finish_reason = choice.finish_reason
                            yield Finished(choice.finish_reason)
        except client_errors() as exc:
            error = self._fail(exc, mid_stream=True)
            error.request_id = error.request_id or request_id
            raise error from exc
        if finish_reason is None:
            raise PlaygroundError(
                ErrorKind.STREAM_INTERRUPTED,
                "The reply stopped before the server said it was finished. The partial reply is kept; "
                "press Retry to ask again.",
                request_id=request_id,
                retryable=True,
            )
        for text in self.provider.learn_from_reply(
            request, usage_seen=usage is not None, tool_calls_seen=tool_calls_seen
        ):
            yield ServerNotice(text)
        ended = time.perf_counter()
        yield self._metrics(started, first_token_at, ended, usage, output_deltas)

    @staticmethod
    def _metrics(
        started: float, first_token_at: float | None, ended: float, usage: UsageReport | None, deltas: int
    ) -> StreamMetrics:
        ttft = first_token_at - started if first_token_at is not None else None
        produced = usage.completion_tokens if usage is not None else deltas
        generating = ended - first_token_at if first_token_at is not None else 0.0
        speed = produced / generating if generating > 0 and produced else None
        return StreamMetrics(time_to_first_token_s=ttft, total_time_s=ended - started, tokens_per_second=speed)

    def list_models(self) -> list[str]:
        """Model ids the server offers (``GET /models``), sorted."""
        return [model.id for model in self.list_model_info()]

    def list_model_info(self) -> list[ServerModel]:
        """The server's models (``GET /models``) with the ``shutdown_date`` it reports, sorted by id;
        the provider reads what the entries say the server supports."""
        self.provider.check_address()
        try:
            entries = [model.model_dump() for model in self._sdk().models.list()]
        except client_errors() as exc:
            raise self._fail(exc) from exc
        self.provider.learn_from_models(entries)
        return sorted(
            (ServerModel(str(entry["id"]), _shutdown_date(entry.get("shutdown_date"))) for entry in entries),
            key=lambda model: model.id,
        )


@dataclass(frozen=True, slots=True)
class ServerModel:
    """A model the server lists; ``shutdown_date`` when it reports one (it beats the registry's date)."""

    id: str
    shutdown_date: dt.date | None = None


def _shutdown_date(raw: str | None) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def check_connection(client: PlaygroundClient) -> list[CheckResult]:
    """Check what works: settings, listing models, a one-token chat request (costs ~10 tokens), and
    the provider's capability probes (an OpenAI-compatible server: structured outputs, tools)."""
    provider = client.provider
    if missing := provider.missing():
        return [CheckResult("Settings", False, "Missing " + ", ".join(missing) + ".")]
    checks = [CheckResult("Settings", True, f"Endpoint: {provider.endpoint_label()}")]
    if provider.lists_models:
        try:
            models = client.list_models()
            checks.append(CheckResult("List models", True, f"{len(models)} model(s) available."))
        except PlaygroundError as exc:
            checks.append(CheckResult("List models", False, str(exc)))
    # One token is enough: a reply cut at finish_reason "length" still proves the connection works.
    probe = ChatRequest(model=provider.request_model, messages=[{"role": "user", "content": "ping"}])
    probe.params.max_completion_tokens = 1
    try:
        opened = next(event for event in client.stream_chat(probe) if isinstance(event, StreamOpened))
        checks.append(
            CheckResult(
                "Chat completion",
                True,
                f"'{provider.request_model}' answered (request id {opened.request_id or 'n/a'}).",
            )
        )
    except PlaygroundError as exc:
        return [*checks, CheckResult("Chat completion", False, str(exc))]
    for name, request in provider.capability_probes():
        try:
            for _event in client.stream_chat(request):
                pass
        except PlaygroundError as exc:
            checks.append(CheckResult(name, False, str(exc)))
    if notes := provider.capability_notes():
        checks.append(CheckResult("Server capabilities", True, " ".join(notes)))
    return checks
