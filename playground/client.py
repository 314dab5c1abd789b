"""The one client wrapper: our request in, our events and errors out; the SDK stays behind it.

``PlaygroundClient`` wraps the official ``openai`` SDK (``OpenAI`` / ``AzureOpenAI``). It streams
:data:`StreamEvent` values, measures time to first token and output speed, sets explicit timeouts,
lets the SDK retry what it safely can (never a stream that broke after tokens arrived), and turns
every failure into a :class:`~playground.errors.PlaygroundError`.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai
from azure.core.exceptions import ClientAuthenticationError

from playground.connection import ConnectionSettings
from playground.errors import ErrorKind, PlaygroundError
from playground.request import ChatRequest

ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"


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
class StreamMetrics:
    time_to_first_token_s: float | None
    total_time_s: float
    tokens_per_second: float | None


StreamEvent = (
    StreamOpened
    | ServedModel
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
_SECRET_LIKE_RE = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{4,}|[A-Fa-f0-9]{32,})\b")


def _redact(text: str, settings: ConnectionSettings) -> str:
    """Server messages can quote the key back ("Incorrect API key provided: sk-..."): drop it."""
    if settings.key:
        text = text.replace(settings.key, "[redacted]")
    return _SECRET_LIKE_RE.sub("[redacted]", text)


def _error_body(exc: openai.APIError) -> dict[str, Any]:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    return body if isinstance(body, dict) else {}


# What the SDK, the transport and the Entra ID token provider raise; map_error explains each.
CLIENT_ERRORS = (openai.OpenAIError, httpx2.HTTPError, ClientAuthenticationError)


def map_error(exc: Exception, settings: ConnectionSettings, *, mid_stream: bool = False) -> PlaygroundError:
    """Translate an SDK/transport/credential exception into a PlaygroundError a user can act on."""
    if isinstance(exc, ClientAuthenticationError):
        first_line = _redact(str(exc.message or exc).strip().splitlines()[0] if str(exc).strip() else "", settings)
        return PlaygroundError(
            ErrorKind.AUTH,
            "Microsoft Entra ID sign-in failed on the server"
            + (f" ({first_line})" if first_line else "")
            + ". Sign the server in (az login, a managed identity, or AZURE_CLIENT_ID / AZURE_TENANT_ID / "
            "AZURE_CLIENT_SECRET), or use an API key.",
        )
    request_id = getattr(exc, "request_id", None)
    if mid_stream and isinstance(exc, openai.APIConnectionError | httpx2.HTTPError):
        return PlaygroundError(
            ErrorKind.STREAM_INTERRUPTED,
            "The connection dropped while the reply was streaming. The partial reply is kept; "
            "press Retry to ask again.",
            request_id=request_id,
            retryable=True,
        )
    if isinstance(exc, openai.APITimeoutError):
        return PlaygroundError(
            ErrorKind.TIMEOUT,
            f"The server did not answer within {settings.read_timeout_s:g} s. It may be overloaded: "
            "retry, or raise the timeout in the connection settings.",
            retryable=True,
        )
    if isinstance(exc, openai.APIConnectionError):
        return PlaygroundError(
            ErrorKind.CONNECTION,
            f"Could not reach {settings.endpoint_label()}. Check the URL and that the server is running.",
            retryable=True,
        )
    if not isinstance(exc, openai.APIStatusError):
        if isinstance(exc, openai.APIError):
            message = _redact(str(exc.message or exc), settings)
            return PlaygroundError(ErrorKind.SERVER, f"The server reported an error: {message}", retryable=True)
        return PlaygroundError(ErrorKind.SERVER, f"Unexpected error: {type(exc).__name__}", retryable=True)

    status = exc.status_code
    body = _error_body(exc)
    code = str(body.get("code") or "")
    server_message = _redact(str(body.get("message") or exc.message or ""), settings)

    def error(kind: ErrorKind, message: str, retryable: bool = False, **details: Any) -> PlaygroundError:
        return PlaygroundError(
            kind, message, request_id=request_id, status=status, retryable=retryable, details=details
        )

    if status == 401:
        return error(ErrorKind.AUTH, "The API key (or token) was rejected. Check it in the connection settings.")
    if status == 403:
        return error(ErrorKind.PERMISSION, f"This key may not use this model or resource: {server_message}")
    if status == 404:
        if settings.provider == "azure" or code == "DeploymentNotFound":
            return error(
                ErrorKind.NOT_FOUND,
                f"Deployment '{settings.request_model}' was not found at {settings.azure_endpoint or 'this endpoint'}."
                " Check the deployment name (not the model name) and the API version.",
            )
        return error(ErrorKind.NOT_FOUND, f"Model '{settings.request_model}' was not found: {server_message}")
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
def _entra_token_provider() -> Callable[[], str]:
    from azure.identity import DefaultAzureCredential, get_bearer_token_provider

    return get_bearer_token_provider(DefaultAzureCredential(), ENTRA_SCOPE)


class PlaygroundClient:
    """One connection's client. Build one per browser session; it holds that session's key only."""

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        http_client: httpx2.Client | None = None,
        token_provider: Callable[[], str] | None = None,
    ) -> None:
        self.settings = settings
        self._http_client = http_client
        self._token_provider = token_provider
        self._sdk_client: openai.OpenAI | None = None

    def _credential(self) -> str | Callable[[], str]:
        if self.settings.provider == "azure" and self.settings.azure_auth == "entra_id":
            if self._token_provider is None:
                self._token_provider = _entra_token_provider()
            return self._token_provider
        # OpenAI-compatible servers often need no key, but the SDK insists on one.
        return self.settings.key or "no-key-required"

    def _sdk(self) -> openai.OpenAI:
        if self._sdk_client is not None:
            return self._sdk_client
        settings = self.settings
        common: dict[str, Any] = {
            "timeout": httpx2.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
            "max_retries": settings.max_retries,
            "http_client": self._http_client,
        }
        credential = self._credential()
        if settings.uses_deployment_path:
            auth = {"azure_ad_token_provider": credential} if callable(credential) else {"api_key": credential}
            self._sdk_client = openai.AzureOpenAI(
                azure_endpoint=settings.azure_endpoint,
                azure_deployment=settings.deployment or None,
                api_version=settings.api_version,
                **auth,
                **common,
            )
        elif settings.provider == "azure":
            self._sdk_client = openai.OpenAI(
                base_url=settings.azure_endpoint.rstrip("/") + "/openai/v1/", api_key=credential, **common
            )
        else:
            self._sdk_client = openai.OpenAI(
                api_key=credential,
                organization=settings.organization or None,
                project=settings.project or None,
                base_url=settings.base_url or None,
                **common,
            )
        return self._sdk_client

    def _fail(self, exc: Exception, *, mid_stream: bool = False) -> PlaygroundError:
        return map_error(exc, self.settings, mid_stream=mid_stream)

    def stream_chat(self, request: ChatRequest) -> Iterator[StreamEvent]:
        """Send ``request`` and yield our events as chunks arrive, ending with StreamMetrics.

        Raises PlaygroundError; a stream that ends without a finish reason counts as interrupted.
        """
        if missing := self.settings.missing():
            raise PlaygroundError(ErrorKind.CONFIGURATION, "To send, add " + " and ".join(missing) + " in the sidebar.")
        started = time.perf_counter()
        try:
            stream = self._sdk().chat.completions.create(**request.to_kwargs())
        except CLIENT_ERRORS as exc:
            raise self._fail(exc) from exc
        request_id = stream.response.headers.get("x-request-id")
        first_token_at: float | None = None
        output_deltas = 0
        usage: UsageReport | None = None
        finish_reason: str | None = None
        served_model: str | None = None
        yield StreamOpened(request_id=request_id)
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
                                yield _tool_call_delta(call)
                        if choice.model_extra and (filter_results := choice.model_extra.get("content_filter_results")):
                            yield ContentFilterReport("completion", filter_results)
                        if choice.finish_reason:
                            finish_reason = choice.finish_reason
                            yield Finished(choice.finish_reason)
        except CLIENT_ERRORS as exc:
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
        """The server's models (``GET /models``) with the ``shutdown_date`` it reports, sorted by id."""
        try:
            listed = list(self._sdk().models.list())
        except CLIENT_ERRORS as exc:
            raise self._fail(exc) from exc
        return sorted(
            (ServerModel(model.id, _shutdown_date(model.shutdown_date)) for model in listed), key=lambda m: m.id
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
    """Check what works: settings, listing models, and a one-token chat request (costs ~10 tokens)."""
    settings = client.settings
    if missing := settings.missing():
        return [CheckResult("Settings", False, "Missing " + ", ".join(missing) + ".")]
    checks = [CheckResult("Settings", True, f"Endpoint: {settings.endpoint_label()}")]
    if not settings.uses_deployment_path:
        try:
            models = client.list_models()
            checks.append(CheckResult("List models", True, f"{len(models)} model(s) available."))
        except PlaygroundError as exc:
            checks.append(CheckResult("List models", False, str(exc)))
    # One token is enough: a reply cut at finish_reason "length" still proves the connection works.
    probe = ChatRequest(model=settings.request_model, messages=[{"role": "user", "content": "ping"}])
    probe.params.max_completion_tokens = 1
    try:
        for event in client.stream_chat(probe):
            if isinstance(event, StreamOpened):
                opened = event
        checks.append(
            CheckResult(
                "Chat completion",
                True,
                f"'{settings.request_model}' answered (request id {opened.request_id or 'n/a'}).",
            )
        )
    except PlaygroundError as exc:
        checks.append(CheckResult("Chat completion", False, str(exc)))
    return checks
