""" "View code": the exact request a panel sends, as Python, JavaScript and curl.

Each snippet sends the very body the playground's client sends (``ChatRequest.to_kwargs()``) to
the provider's endpoint, built from the provider's :class:`~playground.providers.CodeTarget`. Keys
only ever come from environment variables: a snippet never contains the user's key, nor a
placeholder that looks like one, and any text of the key that reached a setting (a URL, a header)
is replaced by the variable's name.

Pure Python: no Streamlit.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

from playground.errors import redact
from playground.providers import AZURE_TOKEN_VARIABLE, ENTRA_SCOPE, Provider
from playground.request import ChatRequest

SNIPPET_LANGUAGES = {"Python": "python", "JavaScript": "javascript", "curl": "bash"}


def request_body(request: ChatRequest | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body sent for ``request`` (a ChatRequest, or the keyword arguments of one)."""
    return request.to_kwargs() if isinstance(request, ChatRequest) else dict(request)


def all_snippets(request: ChatRequest | Mapping[str, Any], provider: Provider) -> dict[str, str]:
    """Every snippet for ``request``, by language label (keys of :data:`SNIPPET_LANGUAGES`)."""
    return {
        "Python": python_snippet(request, provider),
        "JavaScript": javascript_snippet(request, provider),
        "curl": curl_snippet(request, provider),
    }


def _scrub(text: str, provider: Provider) -> str:
    """Belt and braces: the snippets never read the key, but a key pasted into a field must not leak."""
    variable = provider.code_target().key_variable
    return redact(text, [provider.settings.key], replacement=f"${variable}", lookalikes=False)


def _py(value: Any, level: int = 0) -> str:
    """A Python literal for the JSON value ``value``, laid out like indented JSON at ``level``."""
    pad, end = "    " * (level + 1), "    " * level
    if isinstance(value, dict) and value:
        items = [f"{pad}{key!r}: {_py(item, level + 1)}," for key, item in value.items()]
        return "{\n" + "\n".join(items) + f"\n{end}}}"
    if isinstance(value, list) and value:
        flat = "[" + ", ".join(repr(item) for item in value) + "]"
        if not any(isinstance(item, dict | list) for item in value) and len(flat) + len(pad) <= 100:
            return flat
        return "[\n" + "\n".join(f"{pad}{_py(item, level + 1)}," for item in value) + f"\n{end}]"
    return repr(value)


def _python_client(provider: Provider) -> list[str]:
    target = provider.code_target()
    lines = [f"from openai import {target.sdk_class}"]
    if target.entra_id:
        lines += [
            "from azure.identity import DefaultAzureCredential, get_bearer_token_provider",
            "",
            f"token_provider = get_bearer_token_provider(DefaultAzureCredential(), {ENTRA_SCOPE!r})",
        ]
    args = [f"{name}={value!r}" for name, value in target.client_args.items()]
    if target.entra_id:
        argument = "azure_ad_token_provider" if target.sdk_class == "AzureOpenAI" else "api_key"
        args.append(f"{argument}=token_provider")
    elif target.key_optional:
        args.append(f'api_key=os.environ.get("{target.key_variable}", "no-key-required")')
    else:
        args.append(f'api_key=os.environ["{target.key_variable}"]')
    return [*lines, "", f"client = {target.sdk_class}(", *[f"    {arg}," for arg in args], ")"]


def python_snippet(request: ChatRequest | Mapping[str, Any], provider: Provider) -> str:
    """Python (openai SDK) code that sends exactly ``request``; the key comes from the environment."""
    lines = ["import os", "", *_python_client(provider), "", "stream = client.chat.completions.create("]
    lines += [f"    {name}={_py(value, 1)}," for name, value in request_body(request).items()]
    lines += [
        ")",
        "for chunk in stream:",
        "    delta = chunk.choices[0].delta if chunk.choices else None",
        "    if delta is not None and (delta.content or delta.refusal):",
        '        print(delta.content or delta.refusal, end="", flush=True)',
        "print()",
    ]
    return _scrub("\n".join(lines) + "\n", provider)


def javascript_snippet(request: ChatRequest | Mapping[str, Any], provider: Provider) -> str:
    """JavaScript (the ``openai`` npm package, an ES module) that sends exactly ``request``."""
    target = provider.code_target()
    names = {"base_url": "baseURL", "organization": "organization", "project": "project"}
    names |= {"azure_endpoint": "endpoint", "api_version": "apiVersion"}
    options = [f"  {names[name]}: {json.dumps(value)}," for name, value in target.client_args.items()]
    lines = [f'import {{ {target.sdk_class} }} from "openai";']
    if target.entra_id:
        lines += [
            'import { DefaultAzureCredential, getBearerTokenProvider } from "@azure/identity";',
            "",
            f"const tokenProvider = getBearerTokenProvider(new DefaultAzureCredential(), {json.dumps(ENTRA_SCOPE)});",
        ]
        options.append(
            "  azureADTokenProvider: tokenProvider,"
            if target.sdk_class == "AzureOpenAI"
            else "  apiKey: await tokenProvider(),"
        )
    elif target.key_optional:
        options.append(f'  apiKey: process.env.{target.key_variable} ?? "no-key-required",')
    else:
        options.append(f"  apiKey: process.env.{target.key_variable},")
    body = json.dumps(request_body(request), indent=2, ensure_ascii=False).replace("\n", "\n  ")
    lines += [
        "",
        f"const client = new {target.sdk_class}({{",
        *options,
        "});",
        "",
        "const stream = await client.chat.completions.create(",
        f"  {body}",
        ");",
        "for await (const chunk of stream) {",
        "  const delta = chunk.choices[0]?.delta;",
        "  if (delta?.content || delta?.refusal) process.stdout.write(delta.content || delta.refusal);",
        "}",
        'process.stdout.write("\\n");',
    ]
    return _scrub("\n".join(lines) + "\n", provider)


def curl_snippet(request: ChatRequest | Mapping[str, Any], provider: Provider) -> str:
    """A curl command that sends exactly ``request`` (body in a quoted here-document, so nothing in
    it is expanded by the shell); the key is an environment variable reference."""
    target = provider.code_target()
    name, prefix = target.auth_header
    comments = []
    variable = target.key_variable
    if target.entra_id:
        variable = AZURE_TOKEN_VARIABLE
        comments.append(
            f"# {AZURE_TOKEN_VARIABLE}=$(az account get-access-token --resource "
            "https://cognitiveservices.azure.com --query accessToken -o tsv)"
        )
    headers = [f'"{name}: {prefix}${variable}"']
    headers += [shlex.quote(f"{header}: {value}") for header, value in target.extra_headers.items()]
    lines = [
        *comments,
        f"curl --no-buffer {shlex.quote(target.chat_url)} \\",
        '  -H "Content-Type: application/json" \\',
        *[f"  -H {header} \\" for header in headers],
        "  -d @- <<'JSON'",
        json.dumps(request_body(request), indent=2, ensure_ascii=False),
        "JSON",
    ]
    return _scrub("\n".join(lines) + "\n", provider)
