"""The fake Chat Completions server, driven by the real openai SDK (httpx2) over loopback."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

import tests.fakes.server as fake_module
from tests.fakes.server import DEFAULT_MODELS, Scenario, split_words

REPO = Path(__file__).resolve().parents[2]
USER = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def server(fake):
    """The run's one fake server (tests/conftest.py), reset for this test."""
    return fake


@pytest.fixture
def client(server):
    with openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0, timeout=5) as c:
        yield c


@pytest.fixture
def azure(server):
    with openai.AzureOpenAI(
        azure_endpoint=server.azure_endpoint,
        api_version="2024-10-21",
        azure_deployment="my-deployment",
        api_key="test",
        max_retries=0,
        timeout=5,
    ) as c:
        yield c


def _stream(client, **kwargs: Any) -> list[Any]:
    kwargs.setdefault("model", "gpt-4.1-mini")
    kwargs.setdefault("messages", USER)
    return list(client.chat.completions.create(stream=True, **kwargs))


def _text(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def _http(server, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(
        server.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


# -- streaming ---------------------------------------------------------------------------------


def test_stream_text_joins_exactly_and_has_no_usage_unless_asked(server, client):
    text = "Hello,  streaming world!\nSecond line. "
    server.enqueue(Scenario(text=text))
    chunks = _stream(client)
    assert _text(chunks) == text
    assert len(chunks) == len(split_words(text)) == 5
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks] == [None] * 4 + ["stop"]
    assert all(c.usage is None and c.choices for c in chunks)
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert {c.model for c in chunks} == {"gpt-4.1-mini"}
    assert len({c.id for c in chunks}) == 1


def test_usage_chunk_when_include_usage(server, client):
    server.enqueue(Scenario(text="one two three", cached_tokens=2))
    chunks = _stream(client, stream_options={"include_usage": True})
    assert _text(chunks) == "one two three"
    last = chunks[-1]
    assert last.choices == []
    assert last.usage.completion_tokens == 3
    assert last.usage.prompt_tokens == len("hello there") // 4 + 3 + 3
    assert last.usage.total_tokens == last.usage.prompt_tokens + 3
    assert last.usage.prompt_tokens_details.cached_tokens == 2
    assert last.usage.completion_tokens_details.reasoning_tokens == 0
    assert all(c.usage is None for c in chunks[:-1])


def test_default_echo_counts_images_and_chunks_option(server, client):
    server.enqueue(Scenario(chunks=3))
    content = [
        {"type": "text", "text": "what is"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "high"}},
        {"type": "text", "text": "this?"},
    ]
    chunks = _stream(
        client,
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": content}],
        stream_options={"include_usage": True},
    )
    assert _text(chunks) == "Echo: what is this? [1 image(s), detail=high]"
    assert len([c for c in chunks if c.choices]) == 3
    assert chunks[-1].usage.prompt_tokens == (8 + 7 + 5) // 4 + 2 * 3 + 3 + 85


def test_openai_layout_role_chunk_and_separate_finish_chunk(server, client):
    server.enqueue(Scenario(text="a b", layout="openai"))
    chunks = _stream(client)
    deltas = [c.choices[0].delta for c in chunks]
    assert deltas[0].role == "assistant" and deltas[0].content == ""
    assert [d.content for d in deltas[1:3]] == ["a", " b"]
    assert deltas[-1].content is None and chunks[-1].choices[0].finish_reason == "stop"


def test_stream_is_delivered_incrementally(server, client):
    server.enqueue(Scenario(text="a b c", chunk_delay=0.15))
    stream = client.chat.completions.create(model="m", messages=USER, stream=True)
    first = next(iter(stream))
    t_first = time.monotonic()
    rest = list(stream)
    t_last = time.monotonic()
    assert first.choices[0].delta.content == "a"
    assert _text(rest) == " b c"
    assert t_last - t_first >= 0.25  # the first chunk arrived while the server was still sleeping


def test_tool_call_deltas_join_into_valid_json(server, client):
    calls = [
        {"name": "get_weather", "arguments": json.dumps({"city": "Paris", "unit": "celsius"}), "id": "call_A"},
        {"name": "get_time", "arguments": json.dumps({"timezone": "Europe/Paris"})},
    ]
    server.enqueue(Scenario(tool_calls=calls))
    chunks = _stream(client)
    joined: dict[int, dict[str, str]] = {}
    first_deltas: dict[int, Any] = {}
    for chunk in chunks:
        for tc in chunk.choices[0].delta.tool_calls or []:
            if tc.index not in first_deltas:
                first_deltas[tc.index] = tc
                joined[tc.index] = {"id": tc.id, "name": tc.function.name, "arguments": ""}
            else:
                assert tc.id is None and tc.type is None and tc.function.name is None
            joined[tc.index]["arguments"] += tc.function.arguments or ""
    assert sorted(joined) == [0, 1]
    assert first_deltas[0].id == "call_A" and first_deltas[0].type == "function"
    assert first_deltas[0].function.arguments == "" and first_deltas[1].id
    assert json.loads(joined[0]["arguments"]) == {"city": "Paris", "unit": "celsius"}
    assert json.loads(joined[1]["arguments"]) == {"timezone": "Europe/Paris"}
    assert joined[1]["name"] == "get_time"
    arg_fragments = [c for c in chunks if c.choices[0].delta.tool_calls and c.choices[0].delta.tool_calls[0].id is None]
    assert len(arg_fragments) > 4  # several fragments per call
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert _text(chunks) == ""


def test_refusal_streamed_and_non_streamed(server, client):
    server.enqueue(Scenario(refusal="I can't help with that."), Scenario(refusal="No."))
    chunks = _stream(client)
    assert "".join(c.choices[0].delta.refusal or "" for c in chunks) == "I can't help with that."
    assert _text(chunks) == ""
    message = client.chat.completions.create(model="m", messages=USER).choices[0].message
    assert message.refusal == "No." and message.content is None


# -- non-streaming -----------------------------------------------------------------------------


def test_non_streaming_completion_and_request_id(server, client):
    server.enqueue(
        Scenario(
            text="Hi!", finish_reason="length", usage={"prompt_tokens": 7, "completion_tokens": 1, "total_tokens": 8}
        )
    )
    raw = client.chat.completions.with_raw_response.create(model="gpt-4.1-mini", messages=USER)
    assert raw.headers["x-request-id"].startswith("req_fake_")
    completion = raw.parse()
    assert completion._request_id == raw.headers["x-request-id"]
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Hi!"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.total_tokens == 8


def test_non_streaming_tool_calls(server, client):
    server.enqueue(Scenario(tool_calls=[{"name": "f", "arguments": '{"x": 1}'}]))
    choice = client.chat.completions.create(model="m", messages=USER).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls[0].function.name == "f"
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"x": 1}


def test_queue_repeat_then_default(server, client):
    server.enqueue(Scenario(text="first", repeat=2), Scenario(text="second"))
    server.default_scenario = Scenario(text="default")
    answers = [client.chat.completions.create(model="m", messages=USER).choices[0].message.content for _ in range(5)]
    assert answers == ["first", "first", "second", "default", "default"]


# -- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "exc", "status", "code"),
    [
        ("rate_limit", openai.RateLimitError, 429, "rate_limit_exceeded"),
        ("insufficient_quota", openai.RateLimitError, 429, "insufficient_quota"),
        ("server_error", openai.InternalServerError, 500, None),
        ("context_length_exceeded", openai.BadRequestError, 400, "context_length_exceeded"),
        ("content_filter", openai.BadRequestError, 400, "content_filter"),
        ("auth", openai.AuthenticationError, 401, "invalid_api_key"),
        ("permission_denied", openai.PermissionDeniedError, 403, "model_not_available"),
        ("deployment_not_found", openai.NotFoundError, 404, "DeploymentNotFound"),
        ("model_not_found", openai.NotFoundError, 404, "model_not_found"),
        ("bad_request", openai.BadRequestError, 400, "invalid_value"),
    ],
)
def test_fault_maps_to_sdk_exception(server, client, fault, exc, status, code):
    server.enqueue(Scenario(fault=fault))
    with pytest.raises(exc) as info:
        client.chat.completions.create(model="m", messages=USER, stream=True)  # raises before iteration
    err = info.value
    assert type(err) is exc
    assert err.status_code == status and err.code == code
    assert err.request_id and err.request_id.startswith("req_fake_")
    assert isinstance(err.body, dict) and err.body["message"] in str(err)


def test_error_body_details(server, client):
    server.enqueue(
        Scenario(fault="context_length_exceeded"), Scenario(fault="content_filter", filter_category="jailbreak")
    )
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="m", messages=USER)
    assert info.value.message.startswith(
        "Error code: 400 - This model's maximum context length is 1047576 tokens. However, your messages resulted in "
    )
    assert info.value.param == "messages"
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="m", messages=USER)
    inner = info.value.body["innererror"]
    assert inner["code"] == "ResponsibleAIPolicyViolation"
    assert inner["content_filter_result"]["jailbreak"] == {"filtered": True, "detected": True}
    assert inner["content_filter_result"]["hate"] == {"filtered": False, "severity": "safe"}


def test_sdk_retries_429_then_succeeds(server):
    server.enqueue(Scenario(fault="rate_limit", retry_after=0.05))
    with openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=2, timeout=5) as c:
        chunks = _stream(c)
    assert _text(chunks) == "Echo: hello there"
    attempts = server.chat_requests()
    assert [r.headers["x-stainless-retry-count"] for r in attempts] == ["0", "1"]
    # honoured retry-after (0.05 s), not the SDK's own backoff (0.375-0.5 s for the first retry)
    assert attempts[1].timestamp - attempts[0].timestamp < 0.3
    assert attempts[0].json == attempts[1].json


def test_sdk_retries_insufficient_quota_too_unless_told_not_to(server):
    server.enqueue(Scenario(fault="insufficient_quota", retry_after=0.01, repeat=3))
    with openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=2, timeout=5) as c:
        with pytest.raises(openai.RateLimitError):
            c.chat.completions.create(model="m", messages=USER)
        assert len(server.chat_requests()) == 3  # the SDK only looks at the status code
        server.reset()
        server.enqueue(Scenario(fault="insufficient_quota", should_retry=False))
        with pytest.raises(openai.RateLimitError):
            c.chat.completions.create(model="m", messages=USER)
        assert len(server.chat_requests()) == 1


def test_cut_stream_raises_api_connection_error(server, client):
    server.enqueue(Scenario(text="one two three four", cut_after=2))
    seen: list[str] = []
    with pytest.raises(openai.APIConnectionError) as info:
        for chunk in client.chat.completions.create(model="m", messages=USER, stream=True):
            seen.append(chunk.choices[0].delta.content)
    assert type(info.value) is openai.APIConnectionError  # not APITimeoutError
    assert isinstance(info.value.__cause__, httpx2.RemoteProtocolError)
    assert seen == ["one", " two"]
    # the SDK never retries a stream that broke mid-way
    assert len(server.chat_requests()) == 1


def test_first_byte_delay_gives_timeout(server, client):
    server.enqueue(Scenario(first_byte_delay=2.0))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.2).chat.completions.create(model="m", messages=USER, stream=True)
    assert time.monotonic() - started < 1.0


def test_stall_mid_stream_gives_timeout_while_iterating(server, client):
    server.enqueue(Scenario(text="a b", chunk_delay=2.0))
    stream = client.with_options(timeout=0.2).chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises(openai.APITimeoutError):
        list(stream)


# -- recording ---------------------------------------------------------------------------------


def test_recorded_request_is_exact(server, client):
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": [{"type": "text", "text": "hi ✓"}]},
    ]
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    list(
        client.chat.completions.create(
            model="gpt-4.1-mini",
            messages=messages,
            temperature=0.2,
            max_completion_tokens=50,
            tools=tools,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    [req] = server.requests
    assert req.method == "POST" and req.path == "/v1/chat/completions" and req.query == {}
    assert req.json == {
        "messages": messages,
        "model": "gpt-4.1-mini",
        "max_completion_tokens": 50,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.2,
        "tools": tools,
    }
    assert req.headers["authorization"] == "Bearer test"
    assert req.headers["content-type"] == "application/json"
    assert req.request_id.startswith("req_fake_")


# -- Azure -------------------------------------------------------------------------------------


def test_azure_legacy_stream(server, azure):
    server.enqueue(Scenario(text="Bonjour le monde"))
    chunks = list(
        azure.chat.completions.create(
            model="ignored", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    first = chunks[0]
    assert first.choices == [] and first.id == ""
    assert first.prompt_filter_results[0]["content_filter_results"]["hate"]["filtered"] is False
    assert _text(chunks) == "Bonjour le monde"
    content = [c for c in chunks if c.choices]
    assert {c.model for c in content} == {"my-deployment"}
    assert content[0].choices[0].content_filter_results["violence"]["severity"] == "safe"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 3
    [req] = server.requests
    assert req.path == "/openai/deployments/my-deployment/chat/completions"
    assert req.query == {"api-version": "2024-10-21"}
    assert req.headers["api-key"] == "test" and "authorization" not in req.headers


def test_azure_finish_reason_content_filter(server, azure):
    server.enqueue(Scenario(text="partial", finish_reason="content_filter", filter_category="sexual"))
    chunks = [c for c in azure.chat.completions.create(model="x", messages=USER, stream=True) if c.choices]
    last = chunks[-1].choices[0]
    assert last.finish_reason == "content_filter"
    assert last.content_filter_results["sexual"] == {"filtered": True, "severity": "high"}
    server.enqueue(Scenario(text="partial", finish_reason="content_filter"))
    choice = azure.chat.completions.create(model="x", messages=USER).choices[0]
    assert choice.finish_reason == "content_filter"
    assert choice.content_filter_results["violence"]["filtered"] is True


def test_azure_error_bodies(server, azure):
    server.enqueue(Scenario(fault="rate_limit"), Scenario(fault="deployment_not_found"))
    with pytest.raises(openai.RateLimitError) as info:
        azure.chat.completions.create(model="x", messages=USER)
    assert info.value.code == "429"
    with pytest.raises(openai.NotFoundError) as info:
        azure.chat.completions.create(model="x", messages=USER)
    assert info.value.code == "DeploymentNotFound"


def test_azure_legacy_requires_api_version(server):
    url = server.azure_endpoint + "/openai/deployments/dep/chat/completions"
    response = httpx2.post(url, json={"messages": USER}, headers={"api-key": "k"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "404"
    assert response.headers["x-request-id"].startswith("req_fake_")


def test_azure_v1_with_plain_openai_client(server):
    with openai.OpenAI(base_url=server.azure_endpoint + "/openai/v1/", api_key="test", max_retries=0) as c:
        chunks = _stream(c, model="my-deployment")
        models = c.models.list()
    assert chunks[0].choices == [] and chunks[0].prompt_filter_results
    assert _text(chunks) == "Echo: hello there"
    assert models.data[0].id == "gpt-4.1-mini"
    assert [r.path for r in server.requests] == ["/openai/v1/chat/completions", "/openai/v1/models"]


# -- models, auth, control API, CLI ------------------------------------------------------------


def test_models_list_default_and_settable(server, client, azure):
    assert [m.id for m in client.models.list()] == ["gpt-4.1-mini", "gpt-4.1-mini-2025-04-14", "gpt-4o-mini"]
    server.models = [{"id": "only-one", "object": "model", "created": 0, "owned_by": "me"}]
    assert [m.id for m in azure.models.list()] == ["only-one"]
    assert server.requests[-1].path == "/openai/models"


def test_api_key_enforced(server):
    server.api_key = "secret"  # reset() restores the key the server started with
    with (
        openai.OpenAI(base_url=server.base_url, api_key="wrong", max_retries=0) as c,
        pytest.raises(openai.AuthenticationError) as info,
    ):
        c.chat.completions.create(model="m", messages=USER)
    assert info.value.code == "invalid_api_key"
    with openai.OpenAI(base_url=server.base_url, api_key="secret", max_retries=0) as c:
        assert c.models.list().data
    with openai.AzureOpenAI(
        azure_endpoint=server.azure_endpoint,
        api_version="2024-10-21",
        azure_deployment="d",
        api_key="secret",
        max_retries=0,
    ) as c:
        assert _text(_stream(c)) == "Echo: hello there"
    with (
        openai.AzureOpenAI(
            azure_endpoint=server.azure_endpoint,
            api_version="2024-10-21",
            azure_deployment="d",
            api_key="nope",
            max_retries=0,
        ) as c,
        pytest.raises(openai.AuthenticationError) as info,
    ):
        c.chat.completions.create(model="m", messages=USER)
    assert info.value.code == "401"


def test_http_control_api(server, client):
    status, body = _http(server, "POST", "/_fake/scenarios", [{"text": "via http", "repeat": 2}])
    assert status == 200 and body["queued"] == 1 and body["pending"] == 2
    assert client.chat.completions.create(model="m", messages=USER).choices[0].message.content == "via http"
    status, recorded = _http(server, "GET", "/_fake/requests")
    assert status == 200
    assert [r["path"] for r in recorded] == ["/v1/chat/completions"]
    assert recorded[0]["json"]["messages"] == USER
    status, body = _http(server, "POST", "/_fake/scenarios", {"fault": "nope"})
    assert status == 400 and "unknown fault" in body["error"]["message"]
    assert _http(server, "POST", "/_fake/reset", {})[0] == 200
    assert server.requests == []  # the reset request itself is recorded, then cleared
    assert server.pending() == 0


def test_scenario_round_trips_through_json():
    scenario = Scenario(text="x", tool_calls=[{"name": "f", "arguments": "{}"}], fault=None, cut_after=3)
    assert Scenario.from_dict(json.loads(json.dumps(scenario.to_dict()))) == scenario
    with pytest.raises(ValueError, match="unknown Scenario fields"):
        Scenario.from_dict({"txt": "typo"})


def test_bug_in_fake_is_a_non_retried_500(server, monkeypatch, capsys):
    def broken(messages):
        raise RuntimeError("boom")

    monkeypatch.setattr(fake_module, "estimate_prompt_tokens", broken)
    with (
        openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=2) as c,
        pytest.raises(openai.InternalServerError, match="fake server error: RuntimeError: boom"),
    ):
        c.chat.completions.create(model="m", messages=USER)
    assert len(server.chat_requests()) == 1  # x-should-retry: false
    assert "RuntimeError: boom" in capsys.readouterr().err


def test_unknown_route_is_openai_style_404(client):
    with pytest.raises(openai.NotFoundError) as info:
        client.get("/nope", cast_to=object)
    assert info.value.message.endswith("Invalid URL (GET /v1/nope)")


def test_async_client_streams(server):
    server.enqueue(Scenario(text="async works", chunk_delay=0.01))

    async def run() -> str:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="t", max_retries=0, timeout=5) as c:
            stream = await c.chat.completions.create(model="m", messages=USER, stream=True)
            return "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])

    assert asyncio.run(run()) == "async works"


def test_cli_serves_until_interrupted():
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.server", "--port", "0", "--api-key", "k"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        base_url = line.split("base_url=")[1].split()[0]
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        with openai.OpenAI(base_url=base_url, api_key="k", max_retries=0, timeout=5) as c:
            assert c.models.list().data[0].id == "gpt-4.1-mini"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
        proc.stdout.close()


def test_reset_restores_the_default_reply_and_models(server):
    server.models = [{"id": "other", "object": "model", "created": 0, "owned_by": "x"}]
    server.default_scenario = Scenario(text="custom")
    server.reset()
    assert [m["id"] for m in server.models] == [m["id"] for m in DEFAULT_MODELS]
    assert server.default_scenario == Scenario()


def test_llama_cpp_mode_refuses_json_schema_ignores_tools_and_sends_no_usage(server, client):
    status, body = _http(server, "POST", "/_fake/config", {"mode": "llama_cpp"})
    assert status == 200 and body["mode"] == "llama_cpp"
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(
            model="m",
            messages=USER,
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
        )
    assert "Input should be 'text' or 'json_object'" in info.value.message
    server.enqueue(Scenario(text='{"a": "b"}'))
    reply = client.chat.completions.create(
        model="m", messages=USER, response_format={"type": "json_object", "schema": schema}
    )
    assert reply.choices[0].message.content == '{"a": "b"}'
    server.enqueue(Scenario(tool_calls=[{"name": "get_weather", "arguments": "{}"}]))
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    chunks = _stream(client, tools=[tool], tool_choice="required", stream_options={"include_usage": True})
    assert _text(chunks) == "Echo: hello there" and all(chunk.usage is None for chunk in chunks)
    assert not any(choice.delta.tool_calls for chunk in chunks for choice in chunk.choices)
    server.reset()
    assert server.mode == "openai"
