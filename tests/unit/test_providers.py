"""The provider seam: one class per kind of connection, and what an OpenAI-compatible server teaches it."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from pydantic import SecretStr

from playground.chat import stream_reply
from playground.client import PlaygroundClient, check_connection
from playground.connection import ConnectionSettings, exposure_warning, settings_from_sources
from playground.conversation import Conversation, Status
from playground.errors import ErrorKind, PlaygroundError
from playground.providers import (
    AzureDeploymentsProvider,
    AzureV1Provider,
    CompatibleProvider,
    OpenAIProvider,
    provider_for,
)
from playground.registry import resolve_model
from playground.request import ChatRequest
from playground.workspace import Workspace
from tests.fakes.server import Scenario

AZURE = ConnectionSettings(
    provider="azure", azure_endpoint="https://res.openai.azure.com/", api_key=SecretStr("k" * 32), deployment="mini"
)
SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": False}
JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "r", "schema": SCHEMA, "strict": True}}


def test_each_kind_has_its_own_class_and_the_azure_v1_url_is_built_once():
    assert isinstance(provider_for(ConnectionSettings()), OpenAIProvider)
    assert isinstance(provider_for(ConnectionSettings(provider="compatible")), CompatibleProvider)
    deployments = provider_for(AZURE)
    v1 = provider_for(AZURE.model_copy(update={"azure_api_mode": "v1"}))
    assert isinstance(deployments, AzureDeploymentsProvider) and isinstance(v1, AzureV1Provider)
    assert v1.base_url() == "https://res.openai.azure.com/openai/v1/"
    assert v1.endpoint_label() == v1.base_url() and v1.chat_url() == v1.base_url() + "chat/completions"
    assert v1.code_target().client_args == {"base_url": v1.base_url()}
    assert deployments.endpoint_label() == "https://res.openai.azure.com/openai/deployments/mini"
    assert deployments.request_model == "mini" and provider_for(ConnectionSettings()).request_model == "gpt-4.1-mini"
    assert not deployments.lists_models and v1.lists_models


def test_figures_and_quirks_belong_to_the_provider():
    capped = provider_for(AZURE.model_copy(update={"azure_deployment_type": "standard"}))
    assert capped.context_cap() == 128_000 and provider_for(AZURE).context_cap() is None
    assert provider_for(ConnectionSettings()).context_cap() is None
    assert provider_for(AZURE).default_tier() == "azure_global"
    assert provider_for(ConnectionSettings(provider="compatible")).default_tier() == "openai_standard"
    assert provider_for(AZURE).lint_target == "azure" and provider_for(ConnectionSettings()).lint_target == "openai"
    spec = resolve_model("gpt-4.1-mini")
    retired = dt.date(2027, 12, 1)
    assert provider_for(ConnectionSettings(provider="compatible")).retirement_notice(spec, retired) is None
    assert "Azure OpenAI" in (provider_for(AZURE).retirement_notice(spec, retired) or "")


def test_workspace_caps_the_window_through_its_provider():
    workspace = Workspace(connection=AZURE.model_copy(update={"azure_deployment_type": "standard"}))
    assert workspace.model_spec().context_window == 128_000
    assert Workspace().model_spec().context_window > 128_000


def test_missing_settings_per_kind():
    assert provider_for(ConnectionSettings()).missing() == ["an OpenAI API key"]
    assert provider_for(ConnectionSettings(provider="compatible")).missing() == ["the server's base URL"]
    azure = provider_for(ConnectionSettings(provider="azure", azure_auth="entra_id"))
    assert azure.missing() == ["the Azure OpenAI endpoint", "the deployment name"]
    assert ConnectionSettings(provider="compatible", base_url="http://x/v1").missing() == []


# --- what an OpenAI-compatible server supports ---------------------------------------------------
@pytest.fixture
def llama(fake):
    fake.configure(mode="llama_cpp")
    return fake


@pytest.fixture
def compatible(fake):
    return ConnectionSettings(provider="compatible", base_url=fake.base_url, max_retries=2)


def test_a_refused_json_schema_falls_back_to_json_object_with_the_schema_and_is_not_retried(llama, compatible):
    client = PlaygroundClient(compatible)
    llama.enqueue(Scenario(text='{"a": "b"}', repeat=2))
    conversation = Conversation()
    conversation.add_user("hi")
    reply = conversation.start_reply("m")
    request = ChatRequest(model="m", messages=conversation.to_api(), response_format=JSON_SCHEMA)
    list(stream_reply(client, request, reply, estimated_prompt_tokens=12))
    refused, fallback = (sent.json for sent in llama.chat_requests())
    assert refused["response_format"]["type"] == "json_schema"
    assert fallback["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert reply.status is Status.COMPLETE and reply.content == '{"a": "b"}'
    assert any("refuses json_schema" in note for note in reply.stats.server_notes)
    # No usage chunk: our tokenizer's figures, labelled as an estimate.
    assert reply.stats.usage_estimated and reply.stats.completion_tokens > 0 and reply.stats.prompt_tokens == 12
    # Learnt for the session: the next request goes straight to the fallback.
    list(client.stream_chat(request))
    assert llama.chat_requests()[-1].json["response_format"]["type"] == "json_object"
    assert len(llama.chat_requests()) == 3
    assert client.provider.capabilities.json_schema is False


def test_what_is_learnt_stays_with_the_session(llama, compatible):
    first, second = Workspace(connection=compatible), Workspace(connection=compatible)
    list(first.client().stream_chat(ChatRequest(model="m", messages=[], response_format=JSON_SCHEMA)))
    assert first.provider().capabilities.json_schema is False
    assert second.provider().capabilities.json_schema is None


def test_a_validation_refusal_without_fallback_is_final_and_says_why(fake, compatible):
    fake.enqueue(Scenario(fault="server_error", error_message="Input should be a valid list: tools.0", repeat=3))
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
    with pytest.raises(PlaygroundError) as caught:
        list(PlaygroundClient(compatible).stream_chat(ChatRequest(model="m", messages=[], tools=[tool])))
    error = caught.value
    assert error.kind is ErrorKind.BAD_REQUEST and not error.retryable
    assert "does not accept tool definitions" in error.message and "retry later" not in error.message.lower()
    assert len(fake.chat_requests()) == 1


def test_a_real_server_crash_is_still_retried(fake, compatible):
    fake.enqueue(Scenario(fault="server_error"), Scenario(text="fine"))
    events = list(PlaygroundClient(compatible).stream_chat(ChatRequest(model="m", messages=[])))
    assert len(fake.chat_requests()) == 2 and events


def test_test_connection_probes_and_explains_a_llama_cpp_server(llama, compatible):
    client = PlaygroundClient(compatible)
    checks = check_connection(client)
    assert all(check.ok for check in checks), checks
    capabilities = checks[-1]
    assert capabilities.name == "Server capabilities"
    assert "refuses json_schema" in capabilities.detail
    assert "ignores tool definitions" in capabilities.detail
    assert "sends no token usage" in capabilities.detail


def test_tools_known_to_be_ignored_are_said_on_the_reply(llama, compatible):
    client = PlaygroundClient(compatible)
    client.provider.capabilities.tools = False
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
    notices = [
        event.text
        for event in client.stream_chat(ChatRequest(model="m", messages=[], tools=[tool]))
        if type(event).__name__ == "ServerNotice"
    ]
    assert any("ignores tool definitions" in text for text in notices)


def test_models_list_can_say_what_the_server_supports(fake, compatible):
    fake.models = [{"id": "m", "object": "model", "created": 0, "owned_by": "x", "supported_parameters": ["tools"]}]
    client = PlaygroundClient(compatible.model_copy(update={"model": "m"}))
    client.list_models()
    assert client.provider.capabilities.tools is True and client.provider.capabilities.json_schema is False


# --- link-local and metadata addresses -----------------------------------------------------------
@pytest.mark.parametrize("url", ["http://169.254.169.254/v1", "http://[fd00:ec2::254]/v1", "http://[fe80::1]/v1"])
def test_unlocked_connections_refuse_link_local_and_metadata_addresses(fake, url):
    settings = ConnectionSettings(provider="compatible", base_url=url)
    with pytest.raises(PlaygroundError) as caught:
        list(PlaygroundClient(settings).stream_chat(ChatRequest(model="m", messages=[])))
    assert caught.value.kind is ErrorKind.CONFIGURATION and "PLAYGROUND_ALLOW_LINK_LOCAL" in caught.value.message


def test_host_names_are_resolved_before_deciding(monkeypatch):
    def resolve(host, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 0))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    settings = ConnectionSettings(provider="compatible", base_url="http://metadata.example/v1")
    with pytest.raises(PlaygroundError, match="link-local or cloud-metadata"):
        provider_for(settings).check_address()


def test_the_operator_may_allow_link_local_addresses_and_a_locked_connection_is_trusted():
    allowed = settings_from_sources({"OPENAI_BASE_URL": "http://169.254.1.1/v1", "PLAYGROUND_ALLOW_LINK_LOCAL": "1"})
    assert allowed.allow_link_local
    provider_for(allowed).check_address()
    locked = allowed.model_copy(update={"allow_link_local": False, "locked": True})
    provider_for(locked).check_address()


def test_the_operator_is_warned_when_an_unlocked_connection_listens_beyond_loopback():
    unlocked = ConnectionSettings()
    assert exposure_warning(unlocked, "") and "all interfaces" in exposure_warning(unlocked, "")
    assert exposure_warning(unlocked, "0.0.0.0")
    assert exposure_warning(unlocked, "127.0.0.1") is None and exposure_warning(unlocked, "localhost") is None
    assert exposure_warning(unlocked.model_copy(update={"locked": True}), "0.0.0.0") is None


def test_what_was_learnt_survives_a_timeout_change_but_not_a_new_server(llama, compatible):
    workspace = Workspace(connection=compatible)
    list(workspace.client().stream_chat(ChatRequest(model="gpt-4.1-mini", messages=[], response_format=JSON_SCHEMA)))
    workspace.connection = compatible.model_copy(update={"idle_timeout_s": 90.0})
    assert workspace.provider().capabilities.json_schema is False
    workspace.connection = compatible.model_copy(update={"base_url": "http://127.0.0.1:9/v1"})
    assert workspace.provider().capabilities.json_schema is None
