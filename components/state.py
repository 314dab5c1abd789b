"""THE session store: one typed Workspace per browser session, under one session_state key.

Credentials from server-side configuration (environment, ``.streamlit/secrets.toml``) seed each
session's connection on the server; they are never cached globally and never sent to the browser.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import streamlit as st

from playground.connection import ConnectionSettings, settings_from_sources
from playground.workspace import Workspace

STATE_KEY = "playground.workspace"
SERVER_DEFAULTS_KEY = "playground.server_defaults"


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
    RESPONSE_FORMAT = "chat.response_format"
    CHAT_INPUT = "chat.input"
    STOP = "chat.stop_streaming"
    CLEAR = "chat.clear"
    REGENERATE = "chat.regenerate"
    RETRY = "chat.retry"

    @staticmethod
    def api_key(provider: str) -> str:
        return f"conn.api_key.{provider}"


def _secrets() -> Mapping[str, Any]:
    try:
        return st.secrets.to_dict()
    except (FileNotFoundError, KeyError, AttributeError):
        return {}
    except Exception:  # a malformed secrets.toml must not stop the app from starting
        return {}


def server_defaults() -> ConnectionSettings:
    """Connection settings from the environment and secrets (read once per session)."""
    if SERVER_DEFAULTS_KEY not in st.session_state:
        st.session_state[SERVER_DEFAULTS_KEY] = settings_from_sources(os.environ, _secrets())
    return st.session_state[SERVER_DEFAULTS_KEY]


def get_workspace() -> Workspace:
    """This session's Workspace, created on first use."""
    if STATE_KEY not in st.session_state:
        st.session_state[STATE_KEY] = Workspace(connection=server_defaults())
    return st.session_state[STATE_KEY]
