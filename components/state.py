"""THE session store: one typed SessionStore per browser session, under one session_state key.

It holds the Workspace (everything the panels share) and the panels' own typed state, created here
and nowhere else. Widget values are read and written through the helpers below, so no other module
touches ``st.session_state`` by key.

Credentials from server-side configuration (environment, ``.streamlit/secrets.toml``) seed each
session's connection on the server; they are never cached globally and never sent to the browser.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import streamlit as st

from playground.attachments import ImagesPanel
from playground.connection import ConnectionSettings, named_connections, settings_from_sources
from playground.schema_run import SchemaPanel
from playground.store.autosave import Autosave
from playground.workspace import Workspace

if TYPE_CHECKING:  # the demo player and the eval engine load when their pages first draw
    from components.compare import ComparePanel
    from playground.demo import DemoPanel

STATE_KEY = "playground.workspace"
SERVER_DEFAULTS_KEY = "playground.server_defaults"
API_KEY_PREFIX = "conn.api_key."


class Keys:
    """Widget keys, named once so pages and tests agree on them."""

    PROVIDER = "conn.provider"
    ORGANIZATION = "conn.organization"
    PROJECT = "conn.project"
    BASE_URL = "conn.base_url"
    MODEL = "conn.model"
    AZURE_ENDPOINT = "conn.azure_endpoint"
    AZURE_AUTH = "conn.azure_auth"
    AZURE_MODE = "conn.azure_mode"
    API_VERSION = "conn.api_version"
    DEPLOYMENT = "conn.deployment"
    DEPLOYMENT_TYPE = "conn.deployment_type"
    REGISTRY_ENTRY = "conn.registry_entry"
    STORE = "conn.store"
    TEST_CONNECTION = "conn.test"
    LIST_MODELS = "conn.list_models"

    SYSTEM_PROMPT = "chat.system_prompt"
    TEMPERATURE = "chat.temperature"
    TOP_P = "chat.top_p"
    MAX_TOKENS = "chat.max_completion_tokens"
    FREQUENCY_PENALTY = "chat.frequency_penalty"
    PRESENCE_PENALTY = "chat.presence_penalty"
    STOP_SEQUENCES = "chat.stop"
    SEED = "chat.seed"
    REASONING_EFFORT = "chat.reasoning_effort"
    RESPONSE_FORMAT = "chat.response_format"
    CHAT_INPUT = "chat.input"
    STOP = "chat.stop_streaming"
    CLEAR = "chat.clear"

    @staticmethod
    def api_key(provider: str) -> str:
        return f"{API_KEY_PREFIX}{provider}"


def server_secrets() -> Mapping[str, Any]:
    """The server's ``secrets.toml`` as a mapping (empty when there is none, or it cannot be read)."""
    try:
        return st.secrets.to_dict()
    except (FileNotFoundError, KeyError, AttributeError):
        return {}
    except Exception:  # a malformed secrets.toml must not stop the app from starting
        return {}


def configured_connection() -> ConnectionSettings:
    """The operator's connection: environment variables and secrets, as they are now."""
    return settings_from_sources(os.environ, server_secrets())


def configured_named_connections() -> tuple[dict[str, ConnectionSettings], list[str]]:
    """The operator's named connections (``[connections.<name>]`` in the secrets), as they are now,
    and what is wrong with any of them (see :func:`playground.connection.named_connections`)."""
    return named_connections(os.environ, server_secrets())


def server_defaults() -> ConnectionSettings:
    """Connection settings from the environment and secrets (read once per session)."""
    if SERVER_DEFAULTS_KEY not in st.session_state:
        st.session_state[SERVER_DEFAULTS_KEY] = configured_connection()
    return st.session_state[SERVER_DEFAULTS_KEY]


@dataclass
class SessionStore:
    """Everything one browser session keeps: the shared Workspace and each panel's own state."""

    workspace: Workspace
    schema_panel: SchemaPanel = field(default_factory=SchemaPanel)
    images_panel: ImagesPanel = field(default_factory=ImagesPanel)
    # The Functions panel's parameters editor reuses the schema builder (its errors and focus).
    tools_panel: SchemaPanel = field(default_factory=SchemaPanel)
    # The saved session this browser session works on (set by components/persistence.py).
    autosave: Autosave | None = None
    demo_panel: DemoPanel | None = None
    compare_panel: ComparePanel | None = None


def get_store() -> SessionStore:
    """This session's store, created on first use."""
    if STATE_KEY not in st.session_state:
        st.session_state[STATE_KEY] = SessionStore(workspace=Workspace(connection=server_defaults()))
    store: SessionStore = st.session_state[STATE_KEY]
    return store


def start_session(workspace: Workspace, autosave: Autosave, keep_widgets: Iterable[str] = ()) -> SessionStore:
    """Make ``workspace`` this browser session's (opening or starting a saved session): the panels
    start afresh and every widget but ``keep_widgets`` forgets its value, so none carries the
    previous session's text into this one. Keys typed in the connection form are kept (they are
    never saved)."""
    keep = {SERVER_DEFAULTS_KEY, *keep_widgets}
    for key in [k for k in st.session_state if k not in keep and not str(k).startswith(API_KEY_PREFIX)]:
        del st.session_state[key]
    st.session_state[STATE_KEY] = store = SessionStore(workspace=workspace, autosave=autosave)
    return store


def get_workspace() -> Workspace:
    """This session's Workspace."""
    return get_store().workspace


def widget_value(key: str, default: Any = None) -> Any:
    """The current value of the widget with ``key`` (``default`` before it was drawn)."""
    return st.session_state.get(key, default)


def set_widget_value(key: str, value: Any) -> None:
    """Set what the widget with ``key`` shows on its next draw (only before it is drawn, or in a callback)."""
    st.session_state[key] = value


def pop_widget_value(key: str, default: Any = None) -> Any:
    """Forget the widget's value (it redraws with its default) and return what it held."""
    return st.session_state.pop(key, default)


def clear_widgets(prefix: str) -> None:
    """Forget every widget value whose key starts with ``prefix``."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        del st.session_state[key]
