"""The client wrapper against the loopback fake server: events, metrics, requests sent, errors."""

from __future__ import annotations

import json
import time

import pytest
from pydantic import SecretStr

from playground.client import (
    ContentFilterReport,
    Finished,
    PlaygroundClient,
    StreamMetrics,
    StreamOpened,
    TextDelta,
    ToolCallDelta,
    UsageReport,
    check_connection,
)
from playground.errors import ErrorKind, PlaygroundError, redact
from playground.request import ChatParams, ChatRequest
from tests.fakes.server import Scenario

USER_HELLO = [{"role": "user", "content": "Hello"}]


def collect(client: PlaygroundClient, request: ChatRequest) -> list:
    return list(client.stream_chat(request))


def test_streams_text_usage_finish_and_metrics(fake, openai_settings):
    fake.enqueue(Scenario(text="one two three", cached_tokens=4))
    events = collect(PlaygroundClient(openai_settings), ChatRequest(model="gpt-4.1-mini", messages=USER_HELLO))
    assert isinstance(events[0], StreamOpened) and events[0].request_id.startswith("req_")
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "one two three"
    assert [e.reason for e in events if isinstance(e, Finished)] == ["stop"]
    usage = next(e for e in events if isinstance(e, UsageReport))
    assert usage.cached_tokens == 4 and usage.completion_tokens > 0
    metrics = events[-1]
    assert isinstance(metrics, StreamMetrics)
    assert 0 < metrics.time_to_first_token_s <= metrics.total_time_s


def test_request_carries_our_parameters_exactly(fake, openai_settings):
    params = ChatParams(temperature=0.2, max_completion_tokens=50, stop=["END"], seed=7, response_format="json_object")
    collect(PlaygroundClient(openai_settings), ChatRequest(model="gpt-4.1-mini", messages=USER_HELLO, params=params))
    [sent] = fake.chat_requests()
    body = sent.json
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["store"] is False
    assert body["temperature"] == 0.2 and body["max_completion_tokens"] == 50
    assert body["stop"] == ["END"] and body["seed"] == 7
    assert body["response_format"] == {"type": "json_object"}
    assert "top_p" not in body and "presence_penalty" not in body  # defaults are left out
    assert sent.headers["authorization"] == "Bearer sk-test-secret-123456"


def test_store_is_sent_true_only_when_opted_in(fake, openai_settings):
    collect(PlaygroundClient(openai_settings), ChatRequest(model="m", messages=USER_HELLO, store=True))
    assert fake.chat_requests()[-1].json["store"] is True


def test_tool_call_fragments_arrive_in_order(fake, openai_settings):
    fake.enqueue(Scenario(tool_calls=[{"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}]))
    events = collect(PlaygroundClient(openai_settings), ChatRequest(model="m", messages=USER_HELLO))
    fragments = [e for e in events if isinstance(e, ToolCallDelta)]
    assert fragments[0].name == "get_weather" and fragments[0].id
    assert json.loads("".join(f.arguments for f in fragments)) == {"city": "Paris"}
    assert [e.reason for e in events if isinstance(e, Finished)] == ["tool_calls"]


def test_azure_deployment_path_and_content_filter_annotations(fake, azure_settings):
    events = collect(PlaygroundClient(azure_settings), ChatRequest(model="my-mini", messages=USER_HELLO))
    [sent] = fake.chat_requests()
    assert sent.path == "/openai/deployments/my-mini/chat/completions"
    assert sent.query["api-version"] == "2024-10-21"
    assert sent.headers["api-key"] == "azure-test-key"
    assert any(isinstance(e, ContentFilterReport) and e.stage == "prompt" for e in events)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Echo: Hello"


def test_azure_v1_mode_uses_plain_openai_client(fake, azure_settings):
    settings = azure_settings.model_copy(update={"azure_api_mode": "v1"})
    collect(PlaygroundClient(settings), ChatRequest(model="my-mini", messages=USER_HELLO))
    [sent] = fake.chat_requests()
    assert sent.path == "/openai/v1/chat/completions" and sent.json["model"] == "my-mini"
    assert "api-version" not in sent.query


def test_entra_id_token_provider_is_used_as_bearer(fake, azure_settings):
    settings = azure_settings.model_copy(update={"azure_auth": "entra_id", "api_key": None})
    client = PlaygroundClient(settings, token_provider=lambda: "entra-token")
    collect(client, ChatRequest(model="my-mini", messages=USER_HELLO))
    assert fake.chat_requests()[-1].headers["authorization"] == "Bearer entra-token"


def test_azure_content_filter_finish_reason_is_reported(fake, azure_settings):
    fake.enqueue(Scenario(text="partial answer", finish_reason="content_filter"))
    events = collect(PlaygroundClient(azure_settings), ChatRequest(model="my-mini", messages=USER_HELLO))
    assert [e.reason for e in events if isinstance(e, Finished)] == ["content_filter"]
    flagged = [e for e in events if isinstance(e, ContentFilterReport) and e.filtered_categories]
    assert flagged and flagged[-1].stage == "completion"


@pytest.mark.parametrize(
    ("fault", "kind", "retryable", "phrase"),
    [
        ("auth", ErrorKind.AUTH, False, "key (or token) was rejected"),
        ("insufficient_quota", ErrorKind.QUOTA, False, "run out of quota"),
        ("rate_limit", ErrorKind.RATE_LIMIT, True, "Rate limit"),
        ("server_error", ErrorKind.SERVER, True, "failed (500)"),
        ("context_length_exceeded", ErrorKind.CONTEXT_LENGTH, False, "too long for the model"),
        ("content_filter", ErrorKind.CONTENT_FILTER, False, "content filter (violence)"),
        ("model_not_found", ErrorKind.NOT_FOUND, False, "not found"),
        ("permission_denied", ErrorKind.PERMISSION, False, "may not use"),
        ("bad_request", ErrorKind.BAD_REQUEST, False, "rejected the request (400)"),
    ],
)
def test_every_fault_becomes_an_actionable_playground_error(fake, openai_settings, fault, kind, retryable, phrase):
    fake.enqueue(Scenario(fault=fault))
    with pytest.raises(PlaygroundError) as caught:
        collect(PlaygroundClient(openai_settings), ChatRequest(model="m", messages=USER_HELLO))
    error = caught.value
    assert error.kind is kind and error.retryable is retryable
    assert phrase in error.message
    assert error.request_id and error.request_id.startswith("req_")
    assert "sk-test-secret" not in str(error)


def test_context_length_error_reports_the_numbers(fake, openai_settings):
    fake.enqueue(Scenario(fault="context_length_exceeded"))
    with pytest.raises(PlaygroundError) as caught:
        collect(PlaygroundClient(openai_settings), ChatRequest(model="m", messages=USER_HELLO))
    assert caught.value.details["limit"] > 0 and caught.value.details["used"] > caught.value.details["limit"]


def test_azure_missing_deployment_names_the_deployment(fake, azure_settings):
    fake.enqueue(Scenario(fault="deployment_not_found"))
    with pytest.raises(PlaygroundError) as caught:
        collect(PlaygroundClient(azure_settings), ChatRequest(model="my-mini", messages=USER_HELLO))
    assert caught.value.kind is ErrorKind.NOT_FOUND and "Deployment 'my-mini'" in caught.value.message


def test_sdk_retries_a_rate_limit_then_succeeds(fake, openai_settings):
    fake.enqueue(Scenario(fault="rate_limit", retry_after=0.01))
    settings = openai_settings.model_copy(update={"max_retries": 2})
    events = collect(PlaygroundClient(settings), ChatRequest(model="m", messages=USER_HELLO))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Echo: Hello"
    assert len(fake.chat_requests()) == 2


def test_stream_cut_midway_is_interrupted_and_never_resent(fake, openai_settings):
    fake.enqueue(Scenario(text=" ".join(f"w{i}" for i in range(30)), cut_after=5))
    settings = openai_settings.model_copy(update={"max_retries": 2})
    received = []
    with pytest.raises(PlaygroundError) as caught:
        for event in PlaygroundClient(settings).stream_chat(ChatRequest(model="m", messages=USER_HELLO)):
            received.append(event)
    assert caught.value.kind is ErrorKind.STREAM_INTERRUPTED and caught.value.retryable
    assert caught.value.request_id
    assert any(isinstance(e, TextDelta) for e in received)
    assert len(fake.chat_requests()) == 1  # the SDK must not retry a stream that already delivered tokens


def test_slow_first_byte_times_out_with_explicit_timeout(fake, openai_settings):
    fake.enqueue(Scenario(first_byte_delay=2.0))
    settings = openai_settings.model_copy(update={"first_byte_timeout_s": 0.3})
    with pytest.raises(PlaygroundError) as caught:
        collect(PlaygroundClient(settings), ChatRequest(model="m", messages=USER_HELLO))
    assert caught.value.kind is ErrorKind.TIMEOUT and "0.3 s" in caught.value.message
    assert "first-byte timeout in Connection › Timeouts" in caught.value.message


def test_the_first_byte_timeout_is_one_deadline_across_retries(fake, openai_settings):
    # Each attempt used to get the whole timeout again: 3 x the timeout before the user heard anything.
    fake.enqueue(Scenario(first_byte_delay=3.0, repeat=3))
    settings = openai_settings.model_copy(update={"first_byte_timeout_s": 0.6, "max_retries": 2})
    started = time.monotonic()
    with pytest.raises(PlaygroundError) as caught:
        collect(PlaygroundClient(settings), ChatRequest(model="m", messages=USER_HELLO))
    elapsed = time.monotonic() - started
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert 0.5 < elapsed < 1.2, elapsed
    assert len(fake.chat_requests()) == 1


def test_retries_share_the_deadline_and_stop_when_it_is_spent(fake, openai_settings):
    fake.enqueue(Scenario(fault="server_error", repeat=3), Scenario(text="late"))
    settings = openai_settings.model_copy(update={"max_retries": 2})
    with pytest.raises(PlaygroundError) as caught:
        collect(PlaygroundClient(settings), ChatRequest(model="m", messages=USER_HELLO))
    assert caught.value.kind is ErrorKind.SERVER and len(fake.chat_requests()) == 3  # 1 + max_retries


def test_a_stalled_stream_fails_at_the_idle_timeout_and_names_it(fake, openai_settings):
    fake.enqueue(Scenario(text="one two three", chunk_delay=2.0))
    settings = openai_settings.model_copy(update={"idle_timeout_s": 0.3, "first_byte_timeout_s": 5.0})
    received = []
    started = time.monotonic()
    with pytest.raises(PlaygroundError) as caught:
        for event in PlaygroundClient(settings).stream_chat(ChatRequest(model="m", messages=USER_HELLO)):
            received.append(event)
    assert time.monotonic() - started < 1.5
    assert caught.value.kind is ErrorKind.TIMEOUT and "idle timeout in Connection › Timeouts" in caught.value.message
    assert any(isinstance(e, TextDelta) for e in received)  # what arrived is kept by the caller


@pytest.mark.parametrize(
    "fault", ["insufficient_quota", "auth", "permission_denied", "model_not_found", "bad_request", "content_filter"]
)
def test_final_errors_are_sent_exactly_once(fake, openai_settings, fault):
    fake.enqueue(Scenario(fault=fault, repeat=3))
    settings = openai_settings.model_copy(update={"max_retries": 2})
    with pytest.raises(PlaygroundError) as caught:
        collect(PlaygroundClient(settings), ChatRequest(model="m", messages=USER_HELLO))
    assert not caught.value.retryable
    assert len(fake.chat_requests()) == 1


def test_unreachable_server_is_a_connection_error(openai_settings):
    settings = openai_settings.model_copy(update={"base_url": "http://127.0.0.1:9/v1"})
    with pytest.raises(PlaygroundError) as caught:
        collect(PlaygroundClient(settings), ChatRequest(model="m", messages=USER_HELLO))
    assert caught.value.kind is ErrorKind.CONNECTION and "127.0.0.1:9" in caught.value.message


def test_missing_settings_fail_before_any_request(fake):
    from playground.connection import ConnectionSettings

    with pytest.raises(PlaygroundError) as caught:
        collect(PlaygroundClient(ConnectionSettings(provider="openai")), ChatRequest(model="m", messages=USER_HELLO))
    assert caught.value.kind is ErrorKind.CONFIGURATION and "API key" in caught.value.message
    assert fake.chat_requests() == []


def test_list_models_and_check_connection(fake, openai_settings):
    client = PlaygroundClient(openai_settings)
    assert "gpt-4.1-mini" in client.list_models()
    # The compatible server's probes: a json_schema request, then a request that requires a tool call.
    fake.enqueue(Scenario(), Scenario(text='{"ok": true}'), Scenario(tool_calls=[{"name": "ping", "arguments": "{}"}]))
    checks = check_connection(client)
    assert [check.name for check in checks] == ["Settings", "List models", "Chat completion", "Server capabilities"]
    assert all(check.ok for check in checks)
    ping, structured, tools = (request.json for request in fake.chat_requests())
    assert ping["max_completion_tokens"] == 1
    assert structured["response_format"]["type"] == "json_schema" and tools["tool_choice"] == "required"
    assert "uses tool definitions" in checks[-1].detail and "reports token usage" in checks[-1].detail


def test_check_connection_of_openai_sends_one_ping(fake, openai_settings):
    settings = openai_settings.model_copy(update={"provider": "openai"})
    checks = check_connection(PlaygroundClient(settings))
    assert [check.name for check in checks] == ["Settings", "List models", "Chat completion"]
    assert len(fake.chat_requests()) == 1


def test_check_connection_reports_what_fails(fake, openai_settings):
    fake.enqueue(Scenario(fault="auth"))
    checks = check_connection(PlaygroundClient(openai_settings))
    chat = checks[-1]
    assert chat.name == "Chat completion" and not chat.ok and "rejected" in chat.detail


def test_missing_entra_credential_is_an_actionable_auth_error(fake, azure_settings):
    from azure.core.exceptions import ClientAuthenticationError

    def no_credential() -> str:
        raise ClientAuthenticationError(
            "DefaultAzureCredential failed to retrieve a token.\nAttempted credentials: ..."
        )

    settings = azure_settings.model_copy(update={"azure_auth": "entra_id", "api_key": None})
    client = PlaygroundClient(settings, token_provider=no_credential)
    with pytest.raises(PlaygroundError) as caught:
        collect(client, ChatRequest(model="my-mini", messages=USER_HELLO))
    assert caught.value.kind is ErrorKind.AUTH and "az login" in caught.value.message
    assert "DefaultAzureCredential failed" in caught.value.message
    checks = check_connection(client)
    assert not checks[-1].ok and "Entra ID" in checks[-1].detail
    assert fake.chat_requests() == []


KEY = "sk-proj-Abc123Def456Ghi789Jkl012"


@pytest.mark.parametrize(
    "quoted",
    [KEY, KEY.upper(), KEY[3:], KEY[3:].upper(), KEY[6:20], KEY[10:].lower(), f"Bearer {KEY[:-1]}"],
    ids=["exact", "upper", "no-prefix", "no-prefix-upper", "substring", "tail-lower", "cut"],
)
@pytest.mark.parametrize("fault", ["permission_denied", "bad_request", "model_not_found"])
def test_no_run_of_the_key_reaches_an_error_message(fake, openai_settings, quoted, fault):
    settings = openai_settings.model_copy(update={"api_key": SecretStr(KEY)})
    fake.enqueue(Scenario(fault=fault, error_message=f"Not allowed for key {quoted} on this resource."))
    with pytest.raises(PlaygroundError) as caught:
        collect(PlaygroundClient(settings), ChatRequest(model="m", messages=USER_HELLO))
    text = str(caught.value).lower()
    assert "[redacted]" in text and "on this resource" in text
    assert not any(KEY.lower()[i : i + 12] in text for i in range(len(KEY) - 11))


def test_redact_leaves_short_placeholders_and_unrelated_text_alone():
    assert redact("talk to ollama at 10.0.0.1", ["ollama"]) == "talk to ollama at 10.0.0.1"
    assert redact("ABC123DEF456GHI", [KEY]) == "[redacted]"
    assert redact("nothing shared here", [KEY]) == "nothing shared here"
