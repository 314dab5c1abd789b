"""View code: Python, JavaScript and curl send exactly what the playground's client sends, and never the key."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from pydantic import SecretStr

from playground.client import PlaygroundClient
from playground.connection import ConnectionSettings
from playground.conversation import ImageAttachment
from playground.providers import provider_for
from playground.request import ChatParams, ChatRequest
from playground.schema_run import schema_run_request
from playground.snippets import all_snippets, curl_snippet, javascript_snippet, python_snippet
from playground.workspace import Workspace

SECRET = "sk-live-TOPSECRET-0123456789abcdef"
AZURE = ConnectionSettings(
    provider="azure",
    azure_endpoint="https://res.openai.azure.com/",
    api_key=SecretStr(SECRET),
    deployment="my-mini",
    api_version="2024-10-21",
)
SETTINGS = {
    "openai": ConnectionSettings(api_key=SecretStr(SECRET), organization="org-1", project="proj_1"),
    "compatible": ConnectionSettings(
        provider="compatible", base_url="http://localhost:8000/v1", api_key=SecretStr(SECRET)
    ),
    "azure": AZURE,
    "azure_entra": AZURE.model_copy(update={"azure_auth": "entra_id", "api_key": None}),
    "azure_v1": AZURE.model_copy(update={"azure_api_mode": "v1"}),
}


def schema_request(settings: ConnectionSettings, text: str, mode: str = "json_schema") -> ChatRequest:
    workspace = Workspace(connection=settings, system_prompt="You label feedback.")
    workspace.response_schema.load_template("feedback_analysis")
    return schema_run_request(workspace, text, mode)


def curl_body(snippet: str) -> dict:
    return json.loads(re.search(r"<<'JSON'\n(.*)\nJSON\n$", snippet, re.S).group(1))


@pytest.mark.parametrize("name", list(SETTINGS))
@pytest.mark.parametrize("mode", ["json_schema", "json_object"])
def test_snippets_compile_carry_the_exact_body_and_never_the_key(name, mode):
    settings = SETTINGS[name]
    provider = provider_for(settings)
    request = schema_request(settings, "It's \"great\" but\n'slow' $HOME `x`", mode)
    snippets = all_snippets(request, provider)
    compile(snippets["Python"], "snippet.py", "exec")
    assert curl_body(snippets["curl"]) == request.to_kwargs()
    body = re.search(r"create\(\n  (.*)\n\);", snippets["JavaScript"], re.S).group(1)
    assert json.loads(body) == request.to_kwargs()
    for text in snippets.values():
        folded = text.lower()
        assert SECRET.lower() not in folded and SECRET[3:15].lower() not in folded
    assert "os.environ" in snippets["Python"] or "token_provider" in snippets["Python"]
    assert "process.env" in snippets["JavaScript"] or "tokenProvider" in snippets["JavaScript"]


def test_a_key_pasted_into_a_setting_is_replaced_by_its_variable():
    settings = ConnectionSettings(
        provider="compatible", base_url=f"http://localhost/v1?key={SECRET.upper()}", api_key=SecretStr(SECRET)
    )
    request = schema_request(settings, "hi")
    for snippet in all_snippets(request, provider_for(settings)).values():
        assert SECRET.lower() not in snippet.lower() and "$OPENAI_API_KEY" in snippet


def test_azure_snippets_use_the_deployment_url_and_api_key_header():
    request = schema_request(AZURE, "hi")
    provider = provider_for(AZURE)
    curl = curl_snippet(request, provider)
    assert (
        "curl --no-buffer 'https://res.openai.azure.com/openai/deployments/my-mini/chat/completions"
        "?api-version=2024-10-21'"
    ) in curl
    assert '-H "api-key: $AZURE_OPENAI_API_KEY"' in curl and "Authorization" not in curl
    python = python_snippet(request, provider)
    assert "AzureOpenAI(" in python and "azure_endpoint='https://res.openai.azure.com'" in python
    assert "api_version='2024-10-21'" in python and 'api_key=os.environ["AZURE_OPENAI_API_KEY"]' in python
    javascript = javascript_snippet(request, provider)
    assert 'import { AzureOpenAI } from "openai";' in javascript and 'apiVersion: "2024-10-21"' in javascript
    entra = provider_for(SETTINGS["azure_entra"])
    assert "azure_ad_token_provider=token_provider" in python_snippet(request, entra)
    assert "azureADTokenProvider: tokenProvider" in javascript_snippet(request, entra)
    assert '"Authorization: Bearer $AZURE_OPENAI_AD_TOKEN"' in curl_snippet(request, entra)
    v1 = provider_for(SETTINGS["azure_v1"])
    assert "https://res.openai.azure.com/openai/v1/chat/completions" in curl_snippet(request, v1)
    assert "base_url='https://res.openai.azure.com/openai/v1/'" in python_snippet(request, v1)


def test_openai_snippets_use_bearer_auth_and_organization_headers():
    settings = SETTINGS["openai"]
    curl = curl_snippet(schema_request(settings, "hi"), provider_for(settings))
    assert "https://api.openai.com/v1/chat/completions" in curl
    assert '-H "Authorization: Bearer $OPENAI_API_KEY"' in curl and "-H 'OpenAI-Organization: org-1'" in curl


def test_a_short_placeholder_key_does_not_rewrite_the_request_text():
    settings = ConnectionSettings(
        provider="compatible", base_url="http://localhost:11434/v1", api_key=SecretStr("ollama")
    )
    request = ChatRequest(model="llama3", messages=[{"role": "user", "content": "Feedback from ollama users"}])
    for snippet in all_snippets(request, provider_for(settings)).values():
        assert "Feedback from ollama users" in snippet


def test_the_dict_the_client_sends_is_accepted_as_the_request():
    request = ChatRequest(model="m", messages=[{"role": "user", "content": "hi"}], params=ChatParams(seed=3))
    provider = provider_for(SETTINGS["compatible"])
    assert curl_snippet(request.to_kwargs(), provider) == curl_snippet(request, provider)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_javascript_snippet_is_valid_module_syntax(tmp_path):
    for name in ("compatible", "azure", "azure_entra", "azure_v1"):
        source = tmp_path / f"{name}.mjs"
        source.write_text(javascript_snippet(schema_request(SETTINGS[name], "hi"), provider_for(SETTINGS[name])))
        done = subprocess.run(["node", "--check", str(source)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr


def _received_after(fake, command: list[str], env: dict[str, str], stdin: str) -> object:
    before = len(fake.chat_requests())
    done = subprocess.run(
        command, input=stdin, env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert len(fake.chat_requests()) == before + 1
    return fake.chat_requests()[-1]


@pytest.mark.parametrize("kind", ["compatible", "azure", "azure_v1"])
def test_running_the_snippets_sends_what_the_client_sends(fake, kind):
    fake.api_key = "env-key-42"
    if kind == "compatible":
        settings = ConnectionSettings(provider="compatible", base_url=fake.base_url, api_key=SecretStr("env-key-42"))
        env = {"OPENAI_API_KEY": "env-key-42"}
    else:
        settings = ConnectionSettings(
            provider="azure",
            azure_endpoint=fake.azure_endpoint,
            api_key=SecretStr("env-key-42"),
            deployment="my-mini",
            azure_api_mode="v1" if kind == "azure_v1" else "deployments",
        )
        env = {"AZURE_OPENAI_API_KEY": "env-key-42"}
    request = schema_request(settings, "Great app, slow 'delivery' $HOME")
    list(PlaygroundClient(settings).stream_chat(request))
    [sent] = fake.chat_requests()
    provider = provider_for(settings)
    for command, snippet in (
        ([sys.executable, "-"], python_snippet(request, provider)),
        (["bash", "-s"], curl_snippet(request, provider)),
    ):
        assert "env-key-42" not in snippet
        received = _received_after(fake, command, env, snippet)
        assert received.json == sent.json
        assert (received.path, received.query.get("api-version")) == (sent.path, sent.query.get("api-version"))
        assert "env-key-42" in received.headers.get("authorization", "") + received.headers.get("api-key", "")


PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def image_request(settings: ConnectionSettings) -> ChatRequest:
    workspace = Workspace(connection=settings, system_prompt="Describe images.")
    url = "data:image/png;base64," + base64.b64encode(PIXEL_PNG).decode()
    workspace.attach_image(ImageAttachment(name="dot.png", url=url))
    workspace.attach_image(ImageAttachment(name="remote", url="https://example.com/cat.jpg"))
    workspace.submit("What is in 'these' $HOME?")
    return workspace.build_request()


def test_file_images_are_placeholders_that_read_files_and_remote_urls_stay():
    settings = SETTINGS["compatible"]
    request = image_request(settings)
    inline = all_snippets(request, provider_for(settings))
    files = all_snippets(request, provider_for(settings), images="file")
    data = base64.b64encode(PIXEL_PNG).decode()
    assert all(data in text for text in inline.values())
    assert all(data not in text and "image-1.png" in text for text in files.values())
    assert all("https://example.com/cat.jpg" in text for text in files.values())
    assert "data_url('image-1.png', 'image/png')" in files["Python"]
    assert 'dataUrl("image-1.png", "image/png")' in files["JavaScript"]
    assert "--rawfile image_1 <(base64 < image-1.png" in files["curl"]
    compile(files["Python"], "snippet.py", "exec")
    # Without data-URL images, the file mode writes the very same code as inline.
    plain = schema_request(settings, "hi")
    assert all_snippets(plain, provider_for(settings), images="file") == all_snippets(plain, provider_for(settings))


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_javascript_snippet_with_image_files_is_valid_module_syntax(tmp_path):
    source = tmp_path / "snippet.mjs"
    settings = SETTINGS["compatible"]
    source.write_text(javascript_snippet(image_request(settings), provider_for(settings), images="file"))
    done = subprocess.run(["node", "--check", str(source)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_running_the_snippets_with_image_files_sends_what_the_client_sends(fake, tmp_path):
    fake.api_key = "env-key-42"
    settings = ConnectionSettings(provider="compatible", base_url=fake.base_url, api_key=SecretStr("env-key-42"))
    request = image_request(settings)
    list(PlaygroundClient(settings).stream_chat(request))
    [sent] = fake.chat_requests()
    (tmp_path / "image-1.png").write_bytes(PIXEL_PNG)
    provider = provider_for(settings)
    for command, snippet in (
        ([sys.executable, "-"], python_snippet(request, provider, images="file")),
        (["bash", "-s"], curl_snippet(request, provider, images="file")),
    ):
        before = len(fake.chat_requests())
        done = subprocess.run(
            command,
            input=snippet,
            cwd=tmp_path,
            env={**os.environ, "OPENAI_API_KEY": "env-key-42"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert len(fake.chat_requests()) == before + 1
        assert fake.chat_requests()[-1].json == sent.json
