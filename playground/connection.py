"""Connection settings for OpenAI, Azure OpenAI and OpenAI-compatible servers.

Settings come from the sidebar, environment variables or Streamlit secrets; the API key is a
``SecretStr`` so it never shows in a repr, a log line or an exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from playground.registry import azure_deployment_types, model_ids

if TYPE_CHECKING:
    from playground.providers import Provider

ProviderKind = Literal["openai", "azure", "compatible"]
PROVIDER_LABELS: dict[str, str] = {
    "openai": "OpenAI",
    "azure": "Azure OpenAI",
    "compatible": "OpenAI-compatible server",
}
DEFAULT_AZURE_API_VERSION = "2024-10-21"
OPENAI_HOST = "api.openai.com"


class ConnectionSettings(BaseModel):
    """Where requests go and how they authenticate. Immutable: the sidebar replaces it whole."""

    model_config = ConfigDict(frozen=True)

    provider: ProviderKind = "openai"
    api_key: SecretStr | None = None
    organization: str = ""
    project: str = ""
    base_url: str = ""
    model: str = "gpt-4.1-mini"
    azure_endpoint: str = ""
    azure_auth: Literal["api_key", "entra_id"] = "api_key"
    azure_api_mode: Literal["deployments", "v1"] = "deployments"
    api_version: str = DEFAULT_AZURE_API_VERSION
    deployment: str = ""
    registry_entry: str | None = None
    azure_deployment_type: str = "global_standard"
    store: bool = False
    # Operator policy: visitors use this connection as configured and cannot point it elsewhere.
    locked: bool = False
    # Operator policy: unlocked connections refuse link-local and cloud-metadata addresses unless allowed.
    allow_link_local: bool = False
    # One deadline each, across the automatic retries (see playground.client).
    connect_timeout_s: float = Field(default=10.0, gt=0, le=600)
    first_byte_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    idle_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    max_retries: int = Field(default=2, ge=0, le=10)

    @property
    def key(self) -> str:
        return self.api_key.get_secret_value() if self.api_key else ""

    @property
    def request_model(self) -> str:
        """What the ``model`` field of a request carries (the deployment name on Azure)."""
        return self._provider().request_model

    def missing(self) -> list[str]:
        """What must still be filled in before a request can be sent (empty = ready)."""
        return self._provider().missing()

    def fingerprint(self) -> str:
        """A digest that changes whenever the settings do (used to reuse a session's client)."""
        blob = self.model_dump_json() + self.key
        return hashlib.sha256(blob.encode()).hexdigest()

    def _provider(self) -> Provider:
        from playground.providers import provider_for  # the providers module builds on this one

        return provider_for(self)


def _lookup(sources: list[Mapping[str, Any]], *names: str) -> str:
    for source in sources:
        for name in names:
            value = source.get(name)
            if value:
                return str(value)
    return ""


def settings_from_sources(env: Mapping[str, str], secrets: Mapping[str, Any] | None = None) -> ConnectionSettings:
    """Initial settings from Streamlit secrets (first) and environment variables.

    Secrets may use the environment variable names at top level, or ``[openai]`` / ``[azure]``
    tables (``api_key``, ``base_url``, ``endpoint``, ``deployment``, ``api_version``, ``model``...).
    ``PLAYGROUND_LOCK_CONNECTION=1`` (or ``[playground] lock_connection = true``) locks it;
    ``PLAYGROUND_ALLOW_LINK_LOCAL=1`` (or ``[playground] allow_link_local = true``) lets visitors of an
    unlocked connection reach link-local and cloud-metadata addresses.
    """
    secrets = secrets or {}
    playground_table = secrets.get("playground", {}) if isinstance(secrets.get("playground"), Mapping) else {}
    lock = playground_table.get("lock_connection", env.get("PLAYGROUND_LOCK_CONNECTION", ""))
    allow = playground_table.get("allow_link_local", env.get("PLAYGROUND_ALLOW_LINK_LOCAL", ""))
    return _settings_from_sources(env, secrets).model_copy(
        update={"locked": _is_true(lock), "allow_link_local": _is_true(allow)}
    )


def _is_true(value: object) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes")


def _settings_from_sources(env: Mapping[str, str], secrets: Mapping[str, Any]) -> ConnectionSettings:
    openai_table = secrets.get("openai", {}) if isinstance(secrets.get("openai"), Mapping) else {}
    azure_table = secrets.get("azure", {}) if isinstance(secrets.get("azure"), Mapping) else {}
    flat = [secrets, env]

    azure_endpoint = _lookup([azure_table], "endpoint") or _lookup(flat, "AZURE_OPENAI_ENDPOINT")
    if azure_endpoint:
        key = _lookup([azure_table], "api_key") or _lookup(flat, "AZURE_OPENAI_API_KEY")
        return ConnectionSettings(
            provider="azure",
            azure_endpoint=azure_endpoint,
            api_key=SecretStr(key) if key else None,
            azure_auth="api_key" if key else "entra_id",
            api_version=_lookup([azure_table], "api_version")
            or _lookup(flat, "OPENAI_API_VERSION")
            or DEFAULT_AZURE_API_VERSION,
            deployment=_lookup([azure_table], "deployment") or _lookup(flat, "AZURE_OPENAI_DEPLOYMENT"),
            azure_api_mode="v1" if _lookup([azure_table], "api_mode") == "v1" else "deployments",
        )

    key = _lookup([openai_table], "api_key") or _lookup(flat, "OPENAI_API_KEY")
    base_url = _lookup([openai_table], "base_url") or _lookup(flat, "OPENAI_BASE_URL")
    is_openai = not base_url or urlparse(base_url).hostname == OPENAI_HOST
    return ConnectionSettings(
        provider="openai" if is_openai else "compatible",
        api_key=SecretStr(key) if key else None,
        base_url=base_url,
        organization=_lookup([openai_table], "organization") or _lookup(flat, "OPENAI_ORG_ID"),
        project=_lookup([openai_table], "project") or _lookup(flat, "OPENAI_PROJECT_ID"),
        model=_lookup([openai_table], "model") or _lookup(flat, "OPENAI_MODEL") or "gpt-4.1-mini",
    )


#: The secrets table of the operator's named connections: ``[connections.<name>]``.
CONNECTIONS_TABLE = "connections"
_NAMED_FIELDS = {
    "provider",
    "api_key",
    "api_key_env",
    "base_url",
    "organization",
    "project",
    "model",
    "endpoint",
    "deployment",
    "api_version",
    "api_mode",
    "registry_entry",
    "deployment_type",
}


def named_connections(
    env: Mapping[str, str], secrets: Mapping[str, Any] | None = None
) -> tuple[dict[str, ConnectionSettings], list[str]]:
    """The operator's named connections, for Compare columns, and a sentence per table that is not valid.

    Each ``[connections.<name>]`` table of the secrets takes the keys of the ``[openai]`` or ``[azure]``
    table (an ``endpoint`` makes it Azure OpenAI; a ``base_url`` that is not api.openai.com an
    OpenAI-compatible server), plus ``registry_entry`` (whose figures price a deployment or a local
    model), ``deployment_type`` and ``api_key_env`` (the environment variable holding its key, so
    the key need not sit in the secrets file). They are operator policy, like a locked connection:
    visitors use them as configured (``locked``), link-local addresses as ``allow_link_local`` says.
    """
    secrets = secrets or {}
    tables = secrets.get(CONNECTIONS_TABLE, {})
    if not isinstance(tables, Mapping):
        return {}, [f"[{CONNECTIONS_TABLE}] must hold one table per connection ([{CONNECTIONS_TABLE}.NAME])."]
    allow = settings_from_sources(env, secrets).allow_link_local
    found: dict[str, ConnectionSettings] = {}
    problems: list[str] = []
    for name, table in tables.items():
        where = f"[{CONNECTIONS_TABLE}.{name}]"
        if not isinstance(table, Mapping):
            problems.append(f"{where} is not a table.")
            continue
        if unknown := sorted(set(table) - _NAMED_FIELDS):
            problems.append(f"{where} has unknown keys {unknown}; known: {sorted(_NAMED_FIELDS)}.")
            continue
        values = {key: str(value) for key, value in table.items()}
        if key_variable := values.pop("api_key_env", ""):
            values.setdefault("api_key", env.get(key_variable, ""))
        provider = values.pop("provider", "")
        kind = "azure" if values.get("endpoint") or provider == "azure" else "openai"
        parsed = _settings_from_sources({}, {kind: values})
        if provider and provider != parsed.provider:
            if provider not in PROVIDER_LABELS:
                problems.append(f"{where}: provider must be one of {sorted(PROVIDER_LABELS)} (it is {provider!r}).")
                continue
            parsed = parsed.model_copy(update={"provider": provider})
        entry, deployment_type = values.get("registry_entry", ""), values.get("deployment_type", "")
        if entry and entry not in model_ids():
            problems.append(f"{where}: registry_entry {entry!r} is not in the model registry.")
            continue
        if deployment_type and deployment_type not in azure_deployment_types():
            problems.append(
                f"{where}: deployment_type must be one of {sorted(azure_deployment_types())} "
                f"(it is {deployment_type!r})."
            )
            continue
        extra: dict[str, Any] = {"locked": True, "allow_link_local": allow}
        if values.get("registry_entry"):
            extra["registry_entry"] = values["registry_entry"]
        if values.get("deployment_type"):
            extra["azure_deployment_type"] = values["deployment_type"]
        found[str(name)] = parsed.model_copy(update=extra)
    return found, problems


LOOPBACK_ADDRESSES = ("localhost", "127.0.0.1", "::1")


def exposure_warning(settings: ConnectionSettings, listen_address: str) -> str | None:
    """The operator's startup warning when visitors can point an unlocked connection anywhere and
    the app listens beyond loopback (an empty ``listen_address`` means every interface)."""
    if settings.locked or listen_address.strip("[]") in LOOPBACK_ADDRESSES or listen_address.startswith("127."):
        return None
    where = listen_address or "all interfaces"
    return (
        f"The playground listens on {where} and its connection is unlocked: any visitor can make this server "
        "send requests to any address they type (link-local and cloud-metadata addresses stay refused"
        + (", except that PLAYGROUND_ALLOW_LINK_LOCAL allows them" if settings.allow_link_local else "")
        + "). Set PLAYGROUND_LOCK_CONNECTION=1 to fix the connection, or listen on 127.0.0.1."
    )
