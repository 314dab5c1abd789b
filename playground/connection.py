"""Connection settings for OpenAI, Azure OpenAI and OpenAI-compatible servers.

Settings come from the sidebar, environment variables or Streamlit secrets; the API key is a
``SecretStr`` so it never shows in a repr, a log line or an exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, SecretStr

Provider = Literal["openai", "azure", "compatible"]
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

    provider: Provider = "openai"
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
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    max_retries: int = 2

    @property
    def key(self) -> str:
        return self.api_key.get_secret_value() if self.api_key else ""

    @property
    def request_model(self) -> str:
        """What the ``model`` field of a request carries: the deployment name on Azure."""
        if self.provider == "azure" and self.deployment:
            return self.deployment
        return self.model

    @property
    def uses_deployment_path(self) -> bool:
        return self.provider == "azure" and self.azure_api_mode == "deployments"

    def missing(self) -> list[str]:
        """What must still be filled in before a request can be sent (empty = ready)."""
        needs: list[str] = []
        if self.provider == "openai" and not self.key:
            needs.append("an OpenAI API key")
        if self.provider == "azure":
            if not self.azure_endpoint:
                needs.append("the Azure OpenAI endpoint")
            if self.azure_auth == "api_key" and not self.key:
                needs.append("an Azure OpenAI API key (or choose Microsoft Entra ID)")
            if not self.deployment:
                needs.append("the deployment name")
        if self.provider == "compatible" and not self.base_url:
            needs.append("the server's base URL")
        if self.provider != "azure" and not self.model:
            needs.append("a model name")
        return needs

    def fingerprint(self) -> str:
        """A digest that changes whenever the settings do (used to reuse a session's client)."""
        blob = self.model_dump_json() + self.key
        return hashlib.sha256(blob.encode()).hexdigest()

    def endpoint_label(self) -> str:
        """Where requests go, safe to display (no credentials)."""
        if self.provider == "azure":
            suffix = "/openai/v1/" if self.azure_api_mode == "v1" else f"/openai/deployments/{self.deployment}"
            return self.azure_endpoint.rstrip("/") + suffix
        return self.base_url or f"https://{OPENAI_HOST}/v1"


def may_use_server_key(chosen: ConnectionSettings, server: ConnectionSettings) -> bool:
    """Whether the server-side key may authenticate ``chosen``: only at the very endpoint the
    operator configured it for. A visitor who points the app elsewhere must bring their own key,
    or the operator's key would be sent to whatever address they typed."""
    if server.api_key is None or chosen.provider != server.provider:
        return False
    if chosen.provider == "azure":
        return chosen.azure_endpoint.rstrip("/") == server.azure_endpoint.rstrip("/")
    return chosen.base_url.rstrip("/") == server.base_url.rstrip("/")


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
    ``PLAYGROUND_LOCK_CONNECTION=1`` (or ``[playground] lock_connection = true``) locks it.
    """
    secrets = secrets or {}
    playground_table = secrets.get("playground", {}) if isinstance(secrets.get("playground"), Mapping) else {}
    lock = playground_table.get("lock_connection", env.get("PLAYGROUND_LOCK_CONNECTION", ""))
    locked = str(lock).strip().lower() in ("1", "true", "yes")
    return _settings_from_sources(env, secrets).model_copy(update={"locked": locked})


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
