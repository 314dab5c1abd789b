"""The sidebar: connection settings (one place for all panels) and the live context/cost meter."""

from __future__ import annotations

import streamlit as st
from pydantic import SecretStr

from components.contain import contained
from components.meter import live_meter
from components.presenting import presentation_sidebar
from components.sessions import sessions_panel
from components.state import Keys, get_workspace, server_defaults
from playground.client import check_connection
from playground.connection import PROVIDER_LABELS, ConnectionSettings
from playground.errors import PlaygroundError
from playground.providers import Provider, may_use_server_key, provider_for
from playground.registry import azure_deployment_types, model_ids


def _api_key_input(provider: str, server_key_applies: bool, label: str) -> SecretStr | None:
    """A masked key field, one per provider (a key typed for one never goes to another).

    A server-side key is never sent to the browser: the field stays empty and says it is in use.
    """
    typed = st.text_input(
        label,
        type="password",
        key=Keys.api_key(provider),
        placeholder="Using the key configured on the server" if server_key_applies else "Paste your key",
        help="Kept only in this browser session's server memory: never written to disk or logs.",
    )
    return SecretStr(typed) if typed else None


def _model_choice(current: ConnectionSettings, available: list[str]) -> str:
    choices = sorted(set(model_ids()) | set(available) | {current.model})
    return st.selectbox("Model", choices, index=choices.index(current.model), key=Keys.MODEL, accept_new_options=True)


def _locked_connection(current: ConnectionSettings, available: list[str]) -> ConnectionSettings:
    """The operator's connection, read-only: only the model can be chosen (not where requests go)."""
    provider = provider_for(current)
    st.caption(f"{provider.label} · `{provider.endpoint_label()}` · set by the operator")
    if not provider.fields.model:
        return current
    return current.model_copy(update={"model": _model_choice(current, available)})


def _azure_fields(current: ConnectionSettings, kind: str, server_key_applies: bool) -> dict[str, object]:
    fields: dict[str, object] = {
        "azure_endpoint": st.text_input(
            "Endpoint",
            value=current.azure_endpoint,
            key=Keys.AZURE_ENDPOINT,
            placeholder="https://RESOURCE.openai.azure.com",
        ),
        "azure_auth": st.radio(
            "Authentication",
            ["api_key", "entra_id"],
            horizontal=True,
            key=Keys.AZURE_AUTH,
            index=0 if current.azure_auth == "api_key" else 1,
            format_func={"api_key": "API key", "entra_id": "Microsoft Entra ID"}.__getitem__,
        ),
    }
    if fields["azure_auth"] == "api_key":
        fields["api_key"] = _api_key_input(kind, server_key_applies, "API key")
    fields["azure_api_mode"] = st.radio(
        "API",
        ["deployments", "v1"],
        horizontal=True,
        key=Keys.AZURE_MODE,
        index=0 if current.azure_api_mode == "deployments" else 1,
        format_func={"deployments": "Deployments + api-version", "v1": "v1 endpoint"}.__getitem__,
    )
    fields["deployment"] = st.text_input("Deployment name", value=current.deployment, key=Keys.DEPLOYMENT)
    if provider_for(current.model_copy(update={"provider": kind, **fields})).fields.api_version:
        fields["api_version"] = st.text_input("API version", value=current.api_version, key=Keys.API_VERSION)
    deployment_types = azure_deployment_types()
    caps = [f"{entry.label} {entry.context_cap:,}" for entry in deployment_types.values() if entry.context_cap]
    fields["azure_deployment_type"] = st.selectbox(
        "Deployment type",
        list(deployment_types),
        format_func=lambda name: deployment_types[name].label,
        key=Keys.DEPLOYMENT_TYPE,
        index=list(deployment_types).index(current.azure_deployment_type)
        if current.azure_deployment_type in deployment_types
        else 0,
        help="Some deployment types cap the context window: " + ", ".join(caps) + " tokens.",
    )
    return fields


def _server_fields(
    current: ConnectionSettings, kind: str, provider: Provider, server_key_applies: bool, available: list[str]
) -> dict[str, object]:
    layout = provider.fields
    optional = " (optional)" if layout.key_optional else ""
    fields: dict[str, object] = {"api_key": _api_key_input(kind, server_key_applies, f"API key{optional}")}
    if layout.base_url is not None:
        fields["base_url"] = st.text_input(
            "Base URL" if layout.base_url == "required" else "Base URL (optional)",
            value=current.base_url,
            key=Keys.BASE_URL,
            placeholder=layout.base_url_placeholder,
        )
    fields["model"] = _model_choice(current, available)
    if layout.organization:
        with st.expander("Organization / project"):
            fields["organization"] = st.text_input("Organization", value=current.organization, key=Keys.ORGANIZATION)
            fields["project"] = st.text_input("Project", value=current.project, key=Keys.PROJECT)
    return fields


def _timeout_fields(current: ConnectionSettings) -> dict[str, object]:
    """Connect, first-byte and idle timeouts: each one deadline, automatic retries included."""
    with st.expander("Timeouts"):
        return {
            name: st.number_input(
                label,
                min_value=1.0,
                max_value=600.0 if name == "connect_timeout_s" else 3600.0,
                value=float(getattr(current, name)),
                step=5.0,
                format="%.0f",
                key=key,
                help=help_text,
            )
            for name, (label, key, help_text) in TIMEOUT_FIELDS.items()
        }


TIMEOUT_FIELDS = {
    "connect_timeout_s": (
        "Connect (s)",
        "conn.timeout.connect",
        "How long to wait for the server to accept the connection.",
    ),
    "first_byte_timeout_s": (
        "First byte (s)",
        "conn.timeout.first_byte",
        "How long to wait for the reply to start, automatic retries included (a local server loading a model "
        "may need more).",
    ),
    "idle_timeout_s": (
        "Idle between chunks (s)",
        "conn.timeout.idle",
        "How long a streaming reply may stall before it is given up (the partial reply is kept).",
    ),
}


def connection_form() -> ConnectionSettings:
    """Draw the connection fields and return the settings they describe."""
    workspace = get_workspace()
    current = workspace.connection
    defaults = server_defaults()
    if defaults.locked:
        return _locked_connection(current, workspace.available_models)
    kinds = list(PROVIDER_LABELS)
    kind = st.selectbox(
        "Provider",
        kinds,
        index=kinds.index(current.provider),
        format_func=PROVIDER_LABELS.__getitem__,
        key=Keys.PROVIDER,
    )
    provider = provider_for(current.model_copy(update={"provider": kind}))
    server_key_applies = provider.may_use_server_key(defaults)
    fields: dict[str, object] = {"provider": kind, "api_key": None}
    if provider.fields.azure_resource:
        fields |= _azure_fields(current, kind, server_key_applies)
    else:
        fields |= _server_fields(current, kind, provider, server_key_applies, workspace.available_models)
    if provider.fields.registry_entry or fields.get("model") not in model_ids():
        entries = ["(automatic)", *model_ids()]
        pinned = st.selectbox(
            "Figures (limits, prices) from",
            entries,
            key=Keys.REGISTRY_ENTRY,
            index=entries.index(current.registry_entry) if current.registry_entry in entries else 0,
            help="Which registry model the deployment or local model runs; figures are labelled estimates.",
        )
        fields["registry_entry"] = None if pinned == "(automatic)" else pinned
    else:
        fields["registry_entry"] = None  # a known model's own figures apply: no leftover pin
    fields["store"] = st.toggle("Store completions on the provider (store=true)", value=current.store, key=Keys.STORE)
    fields |= _timeout_fields(current)
    chosen = current.model_copy(update=fields)
    if chosen.api_key is None and may_use_server_key(chosen, defaults):
        chosen = chosen.model_copy(update={"api_key": defaults.api_key})
    return chosen


def _connection_checks() -> None:
    workspace = get_workspace()
    # One above the other: side by side, the sidebar cuts "Test connection".
    testing = st.button("Test connection", key=Keys.TEST_CONNECTION, width="stretch")
    listing = workspace.provider().lists_models and st.button("List models", key=Keys.LIST_MODELS, width="stretch")
    if testing:
        with st.spinner("Testing…"):
            for check in check_connection(workspace.client()):
                (st.success if check.ok else st.error)(f"**{check.name}**: {check.detail}")
    else:
        # What this session learnt about the server (from a refusal, a reply, the models list).
        for note in workspace.provider().capability_notes():
            st.caption(note)
    if listing:
        try:
            workspace.set_available_models(workspace.client().list_models())
            st.toast(f"{len(workspace.available_models)} models listed")
            st.rerun()
        except PlaygroundError as error:
            st.error(str(error))


def render_sidebar() -> None:
    if presentation_sidebar():  # nothing secret, and no settings, in front of an audience
        return
    workspace = get_workspace()
    with st.sidebar:
        sessions_panel()
        with st.expander("Connection", expanded=bool(workspace.connection.missing())):
            workspace.set_connection(connection_form())
            _connection_checks()
        spec = workspace.model_spec()
        label = f"{spec.label}" + (f" (figures estimated for '{spec.requested}')" if spec.is_estimate else "")
        st.caption(f"Model figures: **{label}** · window {spec.context_window:,} · max out {spec.max_output_tokens:,}")
        if notice := workspace.provider().retirement_notice(spec):
            st.warning(notice, icon=":material/schedule:")
        if missing := workspace.connection.missing():
            st.info(
                "To send requests, add " + " and ".join(missing) + ". Token counts, images and schemas "
                "work without a connection."
            )
        with contained("the context and cost meter", "Check the tool definitions and the schema."):
            live_meter(workspace)
