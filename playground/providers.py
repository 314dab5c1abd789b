"""One class per kind of connection: everything that differs between OpenAI, Azure OpenAI
(deployments + api-version, or the v1 API) and an OpenAI-compatible server lives here.

Callers ask :func:`provider_for` for the :class:`Provider` of a :class:`ConnectionSettings` and
never branch on the provider's name. A provider owns: the SDK client it builds, where requests go
(label and URLs), which settings are still missing, the request's ``model`` field, when the
server-side key may be used, its "view code" target, its default price tier and context cap, its
retirement notices, and its quirks (Azure strict tools, Azure content filtering, what an
OpenAI-compatible server turns out to support).

A provider object is cheap; the one that has learnt something about its server (the compatible
provider's :class:`ServerCapabilities`) is the one held by the session's client
(``PlaygroundClient.provider``), so what is learnt lasts for that session and that server only.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import quote, urlparse

from playground.connection import OPENAI_HOST, PROVIDER_LABELS, ConnectionSettings
from playground.errors import ErrorKind, PlaygroundError
from playground.registry import ModelSpec, azure_deployment_types, default_tier
from playground.request import ChatRequest

if TYPE_CHECKING:  # the SDK loads at the first request (see playground.client), not with every page
    import openai

ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"
OPENAI_URL = f"https://{OPENAI_HOST}/v1"
AZURE_TOKEN_VARIABLE = "AZURE_OPENAI_AD_TOKEN"
# Cloud metadata services answer here (AWS IMDSv6 also at fd00:ec2::254): a visitor must not make
# the server fetch them through a typed base URL.
METADATA_ADDRESSES = (ipaddress.ip_address("fd00:ec2::254"),)

Credential = str | Callable[[], str]


@dataclass(frozen=True, slots=True)
class CodeTarget:
    """What a "view code" snippet needs to reach this provider (see :mod:`playground.snippets`).

    ``sdk_class`` is the openai SDK class; ``client_args`` its keyword arguments other than the key
    (literal values). ``key_variable`` is the environment variable the key is read from.
    ``chat_url`` and ``auth_header`` are for raw HTTP (curl): the header name and its value prefix.
    """

    sdk_class: Literal["OpenAI", "AzureOpenAI"]
    client_args: dict[str, str]
    key_variable: str
    chat_url: str
    auth_header: tuple[str, str]
    extra_headers: dict[str, str] = field(default_factory=dict)
    key_optional: bool = False
    entra_id: bool = False


@dataclass(frozen=True, slots=True)
class SidebarFields:
    """Which connection fields the sidebar draws for a provider."""

    azure_resource: bool = False  # endpoint, auth, API mode, deployment, deployment type
    api_version: bool = False
    base_url: Literal["required", "optional"] | None = "optional"
    base_url_placeholder: str = OPENAI_URL
    key_optional: bool = False
    organization: bool = False
    model: bool = True
    # Limits and prices of a deployment or a local model are a guess unless pinned to an entry.
    registry_entry: bool = True


@dataclass
class ServerCapabilities:
    """What an OpenAI-compatible server was found to support. ``None`` = not known yet."""

    json_schema: bool | None = None
    tools: bool | None = None
    usage_chunk: bool | None = None
    # How each item was learnt, in words the user can read ("GET /v1/models", "the first refusal").
    sources: dict[str, str] = field(default_factory=dict)

    def describe(self) -> list[str]:
        """One sentence per known capability."""
        sentences = {
            "json_schema": (
                "accepts json_schema response formats",
                "refuses json_schema response formats: schemas are sent as json_object with the schema",
            ),
            "tools": ("uses tool definitions", "ignores tool definitions: the model cannot call your functions"),
            "usage_chunk": (
                "reports token usage",
                "sends no token usage: replies show our tokenizer's estimate, labelled as one",
            ),
        }
        lines = []
        for name, (yes, no) in sentences.items():
            value = getattr(self, name)
            if value is not None:
                source = self.sources.get(name)
                lines.append(f"This server {yes if value else no}" + (f" (learnt from {source})." if source else "."))
        return lines


class Provider:
    """The behaviour of one kind of connection, for one :class:`ConnectionSettings`."""

    kind: ClassVar[str]
    key_variable: ClassVar[str] = "OPENAI_API_KEY"
    # Which strict-mode rules the schema linter applies by default.
    lint_target: ClassVar[Literal["openai", "azure"]] = "openai"
    # Whether GET /models lists what can be sent (a deployment path has no such list).
    lists_models: ClassVar[bool] = True
    # Which registry retirement dates apply (None: the server's own model, no dates known).
    retirement_platform: ClassVar[Literal["openai", "azure"] | None] = "openai"
    fields: ClassVar[SidebarFields] = SidebarFields()
    # Azure OpenAI (either API form): what "python-azure" code and Azure-only options apply to.
    is_azure: ClassVar[bool] = False

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings

    @property
    def label(self) -> str:
        return PROVIDER_LABELS[self.settings.provider]

    # --- what is sent, and where -----------------------------------------------------------
    @property
    def request_model(self) -> str:
        """What the ``model`` field of a request carries."""
        return self.settings.model

    def missing(self) -> list[str]:
        """What must still be filled in before a request can be sent (empty = ready)."""
        return [] if self.settings.model else ["a model name"]

    def base_url(self) -> str:
        """The SDK's base URL (``chat/completions`` and ``models`` are appended to it)."""
        return self.settings.base_url or OPENAI_URL

    def endpoint_label(self) -> str:
        """Where requests go, safe to display (no credentials)."""
        return self.base_url()

    def chat_url(self) -> str:
        return self.base_url().rstrip("/") + "/chat/completions"

    def uses_entra_id(self) -> bool:
        return False

    def credential(self, token_provider: Callable[[], str] | None) -> Credential:
        # OpenAI-compatible servers often need no key, but the SDK insists on one.
        return self.settings.key or "no-key-required"

    def sdk_client(self, credential: Credential, **common: Any) -> openai.OpenAI:
        """The SDK client for these settings; ``common`` carries timeout, retries, http_client."""
        import openai

        settings = self.settings
        return openai.OpenAI(
            api_key=credential,
            organization=settings.organization or None,
            project=settings.project or None,
            base_url=settings.base_url or None,
            **common,
        )

    def may_use_server_key(self, server: ConnectionSettings) -> bool:
        """Whether the server-side key may authenticate these settings: only at the very endpoint
        the operator configured it for. A visitor who points the app elsewhere must bring their
        own key, or the operator's key would be sent to whatever address they typed."""
        if server.api_key is None or self.settings.provider != server.provider:
            return False
        return self.settings.base_url.rstrip("/") == server.base_url.rstrip("/")

    def check_address(self) -> None:
        """Raise PlaygroundError when an unlocked connection points at a link-local or cloud-metadata
        address and the operator has not allowed it (``PLAYGROUND_ALLOW_LINK_LOCAL``).

        Host names are resolved first: a name that resolves to such an address is refused too.
        """
        settings = self.settings
        if settings.locked or settings.allow_link_local:
            return
        host = urlparse(self.base_url()).hostname
        if not host:
            return
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
        except (OSError, UnicodeError):
            return  # unresolvable: the request itself will say it cannot connect
        for text in addresses:
            address = ipaddress.ip_address(str(text).split("%")[0])
            if address.is_link_local or address in METADATA_ADDRESSES:
                raise PlaygroundError(
                    ErrorKind.CONFIGURATION,
                    f"{host} is a link-local or cloud-metadata address ({address}); this playground does not "
                    "send requests there. The operator can allow it with PLAYGROUND_ALLOW_LINK_LOCAL=1.",
                )

    # --- figures ---------------------------------------------------------------------------
    def default_tier(self) -> str:
        return default_tier(self.settings.provider)

    def context_cap(self) -> int | None:
        """A cap on the model's context window that this connection imposes (None: no cap)."""
        return None

    def batch_note(self) -> str | None:
        """What to know before a test-set run goes to this connection's Batch API (None: nothing)."""
        return None

    def retirement_notice(self, spec: ModelSpec, today: dt.date | None = None) -> str | None:
        if self.retirement_platform is None:
            return None
        return spec.retirement_notice(self.retirement_platform, today)

    # --- quirks ----------------------------------------------------------------------------
    def parallel_tool_calls(self, tools: list[dict[str, Any]], wanted: bool) -> bool | None:
        """The ``parallel_tool_calls`` value to send (None = leave the API default, which is on)."""
        return False if not wanted else None

    def not_found_message(self, server_message: str) -> str:
        return f"Model '{self.request_model}' was not found: {server_message}"

    def adapt(self, request: ChatRequest) -> tuple[ChatRequest, list[str]]:
        """The request to send in place of ``request``, and why it differs (empty: unchanged)."""
        return request, []

    def refusal_fallback(
        self, request: ChatRequest, status: int, server_message: str
    ) -> tuple[ChatRequest | None, str | None]:
        """After the server refused ``request``: a request to send instead (or None), and a
        sentence explaining the refusal (or None when it is not a capability problem)."""
        return None, None

    def learn_from_models(self, models: Sequence[Mapping[str, Any]]) -> None:
        """Read what the server says it supports from its ``GET /models`` entries."""

    def learn_from_reply(self, request: ChatRequest, *, usage_seen: bool, tool_calls_seen: bool) -> list[str]:
        """Learn from a reply that completed; returns sentences for the reply (what was learnt)."""
        return []

    def carry_over(self, previous: Provider) -> None:
        """Keep what ``previous`` learnt when it spoke to the same server and model (settings such
        as a timeout changed, not where requests go)."""

    def capability_probes(self) -> list[tuple[str, ChatRequest]]:
        """Cheap requests "Test connection" sends to learn what the server supports, by name."""
        return []

    def capability_notes(self) -> list[str]:
        """What is known about the server's support, in words (empty: nothing to say)."""
        return []

    # --- view code -------------------------------------------------------------------------
    def code_target(self) -> CodeTarget:
        settings = self.settings
        args = {"base_url": settings.base_url} if settings.base_url else {}
        headers = {}
        if settings.organization:
            args["organization"] = settings.organization
            headers["OpenAI-Organization"] = settings.organization
        if settings.project:
            args["project"] = settings.project
            headers["OpenAI-Project"] = settings.project
        return CodeTarget(
            sdk_class="OpenAI",
            client_args=args,
            key_variable=self.key_variable,
            chat_url=self.chat_url(),
            auth_header=("Authorization", "Bearer "),
            extra_headers=headers,
        )


class OpenAIProvider(Provider):
    kind = "openai"
    fields = SidebarFields(organization=True, registry_entry=False)

    def missing(self) -> list[str]:
        return (["an OpenAI API key"] if not self.settings.key else []) + super().missing()

    def check_address(self) -> None:
        if self.settings.base_url:
            super().check_address()


class CompatibleProvider(Provider):
    """Any server speaking Chat Completions (llama.cpp, vLLM, Ollama, LM Studio...). What it
    supports is learnt as it is used: see :class:`ServerCapabilities`."""

    kind = "compatible"
    retirement_platform = None
    fields = SidebarFields(base_url="required", base_url_placeholder="http://localhost:8000/v1", key_optional=True)

    def __init__(self, settings: ConnectionSettings) -> None:
        super().__init__(settings)
        self.capabilities = ServerCapabilities()

    def missing(self) -> list[str]:
        return (["the server's base URL"] if not self.settings.base_url else []) + super().missing()

    def code_target(self) -> CodeTarget:
        return replace(super().code_target(), key_optional=True)

    def adapt(self, request: ChatRequest) -> tuple[ChatRequest, list[str]]:
        notes = []
        if self.capabilities.json_schema is False and (fallback := _json_object_fallback(request)) is not None:
            request = fallback
            notes.append(
                "This server refuses json_schema response formats: the schema was sent as a json_object "
                "response format with the schema (what llama.cpp accepts). Strict mode does not apply."
            )
        if self.capabilities.tools is False and request.tools:
            notes.append(
                "This server ignores tool definitions: the model cannot call your functions here, whatever "
                "the prompt says."
            )
        return request, notes

    def refusal_fallback(
        self, request: ChatRequest, status: int, server_message: str
    ) -> tuple[ChatRequest | None, str | None]:
        if status not in (400, 422, 500) or not _VALIDATION_RE.search(server_message):
            return None, None
        wants_schema = (request.response_format or {}).get("type") == "json_schema"
        if wants_schema and _RESPONSE_FORMAT_RE.search(server_message):
            self.capabilities.json_schema = False
            self.capabilities.sources["json_schema"] = "its refusal of a json_schema request"
            fallback = _json_object_fallback(request)
            return fallback, (
                "This server refuses json_schema response formats, so the schema was sent again as a "
                "json_object response format with the schema (what llama.cpp accepts). Strict mode does not apply."
            )
        if request.tools and _TOOLS_RE.search(server_message):
            self.capabilities.tools = False
            self.capabilities.sources["tools"] = "its refusal of a request with tools"
            return None, (
                "This server does not accept tool definitions. Remove the tools (Functions panel) to chat "
                "with it, or use a server that supports function calling."
            )
        if status < 500:
            return None, None  # an ordinary invalid request: the usual message says it
        # A 500 that is a validation message (llama.cpp) is a refusal, not a crash: retrying cannot help.
        return (
            None,
            "This server refused the request as invalid (it says so with HTTP 500); sending it again will not help.",
        )

    def learn_from_models(self, models: Sequence[Mapping[str, Any]]) -> None:
        # OpenRouter-style entries list "supported_parameters"; others list "capabilities".
        entry = next((model for model in models if model.get("id") == self.request_model), None)
        if entry is None:
            return
        supported = entry.get("supported_parameters")
        if isinstance(supported, list):
            self._learn("tools", "tools" in supported, "GET /v1/models")
            self._learn("json_schema", "structured_outputs" in supported, "GET /v1/models")
        capabilities = entry.get("capabilities")
        if isinstance(capabilities, list):
            self._learn("tools", "tools" in capabilities, "GET /v1/models")

    def learn_from_reply(self, request: ChatRequest, *, usage_seen: bool, tool_calls_seen: bool) -> list[str]:
        notes = []
        if not usage_seen and self.capabilities.usage_chunk is None:
            self._learn("usage_chunk", False, "a reply without a usage chunk")
        elif usage_seen:
            self._learn("usage_chunk", True, "a reply")
        # Only a forced call proves tools are ignored: with "auto" the model may just answer in text.
        forced = request.tool_choice == "required" or isinstance(request.tool_choice, dict)
        if request.tools and forced:
            if not tool_calls_seen and self.capabilities.tools is not False:
                self._learn("tools", False, "a reply that ignored a required tool call")
                notes.append(
                    "This server ignored the tool definitions (a tool call was required and none came): "
                    "the model cannot call your functions here."
                )
            elif tool_calls_seen:
                self._learn("tools", True, "a reply with a tool call")
        return notes

    def capability_probes(self) -> list[tuple[str, ChatRequest]]:
        ping = [{"role": "user", "content": 'Reply with the JSON object {"ok": true}.'}]
        schema = {
            "type": "object",
            "properties": {"ok": {"type": "boolean"}},
            "required": ["ok"],
            "additionalProperties": False,
        }
        structured = ChatRequest(
            model=self.request_model,
            messages=ping,
            response_format={"type": "json_schema", "json_schema": {"name": "probe", "schema": schema, "strict": True}},
        )
        tool = {"type": "function", "function": {"name": "ping", "description": "Answer a ping.", "parameters": schema}}
        tools = ChatRequest(
            model=self.request_model,
            messages=[{"role": "user", "content": "Call the ping function."}],
            tools=[tool],
            tool_choice="required",
        )
        for request in (structured, tools):
            request.params.max_completion_tokens = 16
        return [("Structured outputs", structured), ("Tools", tools)]

    def capability_notes(self) -> list[str]:
        return self.capabilities.describe()

    def carry_over(self, previous: Provider) -> None:
        same_server = (previous.base_url(), previous.request_model) == (self.base_url(), self.request_model)
        if isinstance(previous, CompatibleProvider) and same_server:
            self.capabilities = previous.capabilities

    def batch_note(self) -> str | None:
        return (
            "An OpenAI-compatible server runs a batch only if it offers /files and /batches (vLLM does, "
            "llama.cpp does not); if it does not, the run stops with the server's error."
        )

    def _learn(self, name: str, value: bool, source: str) -> None:
        setattr(self.capabilities, name, value)
        self.capabilities.sources[name] = source


class _AzureProvider(Provider):
    is_azure = True
    key_variable = "AZURE_OPENAI_API_KEY"
    lint_target = "azure"
    retirement_platform = "azure"

    @property
    def endpoint(self) -> str:
        return self.settings.azure_endpoint.rstrip("/")

    @property
    def request_model(self) -> str:
        return self.settings.deployment or self.settings.model

    def missing(self) -> list[str]:
        settings = self.settings
        needs = [] if settings.azure_endpoint else ["the Azure OpenAI endpoint"]
        if settings.azure_auth == "api_key" and not settings.key:
            needs.append("an Azure OpenAI API key (or choose Microsoft Entra ID)")
        if not settings.deployment:
            needs.append("the deployment name")
        return needs

    def uses_entra_id(self) -> bool:
        return self.settings.azure_auth == "entra_id"

    def credential(self, token_provider: Callable[[], str] | None) -> Credential:
        if self.uses_entra_id():
            return token_provider or _entra_token_provider()
        return self.settings.key or "no-key-required"

    def may_use_server_key(self, server: ConnectionSettings) -> bool:
        if server.api_key is None or self.settings.provider != server.provider:
            return False
        return self.endpoint == server.azure_endpoint.rstrip("/")

    def base_url(self) -> str:
        return self.endpoint + "/openai/v1/"

    def context_cap(self) -> int | None:
        deployment_type = azure_deployment_types().get(self.settings.azure_deployment_type)
        return deployment_type.context_cap if deployment_type else None

    def batch_note(self) -> str | None:
        deployment_type = azure_deployment_types().get(self.settings.azure_deployment_type)
        if deployment_type is not None and deployment_type.batch:
            return None
        label = deployment_type.label if deployment_type else self.settings.azure_deployment_type
        return (
            f"Azure runs batches only on a Global Batch or Data Zone Batch deployment; this connection's "
            f"deployment type is {label}. Pick the batch deployment (and its type) in the sidebar."
        )

    def parallel_tool_calls(self, tools: list[dict[str, Any]], wanted: bool) -> bool | None:
        # Azure rejects strict tools together with parallel tool calls.
        if any(tool["function"].get("strict") for tool in tools):
            return False
        return super().parallel_tool_calls(tools, wanted)

    def not_found_message(self, server_message: str) -> str:
        return (
            f"Deployment '{self.request_model}' was not found at {self.endpoint or 'this endpoint'}. "
            "Check the deployment name (not the model name) and the API version."
        )

    def _auth_header(self) -> tuple[str, str]:
        return ("Authorization", "Bearer ") if self.uses_entra_id() else ("api-key", "")


class AzureDeploymentsProvider(_AzureProvider):
    """``/openai/deployments/NAME/chat/completions?api-version=V`` with the ``AzureOpenAI`` client."""

    kind = "azure"
    lists_models = False
    fields = SidebarFields(azure_resource=True, api_version=True, base_url=None, model=False)

    def endpoint_label(self) -> str:
        return f"{self.endpoint}/openai/deployments/{self.settings.deployment}"

    def chat_url(self) -> str:
        return (
            f"{self.endpoint}/openai/deployments/{quote(self.request_model, safe='')}/chat/completions"
            f"?api-version={quote(self.settings.api_version, safe='')}"
        )

    def sdk_client(self, credential: Credential, **common: Any) -> openai.OpenAI:
        import openai

        auth = {"azure_ad_token_provider": credential} if callable(credential) else {"api_key": credential}
        return openai.AzureOpenAI(
            azure_endpoint=self.settings.azure_endpoint,
            azure_deployment=self.settings.deployment or None,
            api_version=self.settings.api_version,
            **auth,
            **common,
        )

    def code_target(self) -> CodeTarget:
        return CodeTarget(
            sdk_class="AzureOpenAI",
            client_args={"azure_endpoint": self.endpoint, "api_version": self.settings.api_version},
            key_variable=self.key_variable,
            chat_url=self.chat_url(),
            auth_header=self._auth_header(),
            entra_id=self.uses_entra_id(),
        )


class AzureV1Provider(_AzureProvider):
    """The Azure v1 API, ``https://RES.openai.azure.com/openai/v1/``, with the plain ``OpenAI`` client."""

    kind = "azure"
    fields = SidebarFields(azure_resource=True, base_url=None, model=False)

    def sdk_client(self, credential: Credential, **common: Any) -> openai.OpenAI:
        import openai

        return openai.OpenAI(base_url=self.base_url(), api_key=credential, **common)

    def code_target(self) -> CodeTarget:
        return CodeTarget(
            sdk_class="OpenAI",
            client_args={"base_url": self.base_url()},
            key_variable=self.key_variable,
            chat_url=self.chat_url(),
            auth_header=self._auth_header(),
            entra_id=self.uses_entra_id(),
        )


_AZURE_BY_MODE: dict[str, type[Provider]] = {"deployments": AzureDeploymentsProvider, "v1": AzureV1Provider}
_BY_KIND: dict[str, type[Provider]] = {"openai": OpenAIProvider, "compatible": CompatibleProvider}


def provider_for(settings: ConnectionSettings) -> Provider:
    """The provider object for ``settings`` (a fresh one: nothing learnt yet)."""
    kind = _BY_KIND.get(settings.provider) or _AZURE_BY_MODE[settings.azure_api_mode]
    return kind(settings)


def may_use_server_key(chosen: ConnectionSettings, server: ConnectionSettings) -> bool:
    """Whether the operator's key (``server``) may authenticate ``chosen`` (see Provider.may_use_server_key)."""
    return provider_for(chosen).may_use_server_key(server)


def visitor_connection(settings: ConnectionSettings, server: ConnectionSettings) -> ConnectionSettings:
    """A connection a visitor typed (a Compare column's session connection), under the operator's
    policy, the sidebar's: refused when the operator locked the connection; the server-side key
    only at the very endpoint it was configured for; link-local and cloud-metadata addresses
    refused unless the operator allows them. Raises PlaygroundError saying what is wrong."""
    if server.locked:
        raise PlaygroundError(ErrorKind.CONFIGURATION, "The operator fixed the connections here: use the ones offered.")
    chosen = settings.model_copy(update={"locked": False, "allow_link_local": server.allow_link_local})
    if chosen.api_key is None and may_use_server_key(chosen, server):
        chosen = chosen.model_copy(update={"api_key": server.api_key})
    provider = provider_for(chosen)
    if missing := provider.missing():
        raise PlaygroundError(ErrorKind.CONFIGURATION, "Add " + " and ".join(missing) + ".")
    provider.check_address()
    return chosen


def _entra_token_provider() -> Callable[[], str]:
    from azure.identity import DefaultAzureCredential, get_bearer_token_provider

    return get_bearer_token_provider(DefaultAzureCredential(), ENTRA_SCOPE)


def _json_object_fallback(request: ChatRequest) -> ChatRequest | None:
    """``request`` with its json_schema response format sent as ``json_object`` + ``schema``."""
    response_format = request.response_format or {}
    if response_format.get("type") != "json_schema":
        return None
    schema = (response_format.get("json_schema") or {}).get("schema")
    return replace(request, response_format={"type": "json_object", **({"schema": schema} if schema else {})})


# A validation refusal (as opposed to a crash): llama.cpp answers HTTP 500 with such a message.
_VALIDATION_RE = re.compile(r"validat|invalid|unsupported|not supported|must be|expected|input should|unknown", re.I)
_RESPONSE_FORMAT_RE = re.compile(r"response_format|json_schema|json_object", re.I)
_TOOLS_RE = re.compile(r"\btools?\b|tool_choice|function", re.I)
