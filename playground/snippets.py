""" "View code": the exact request a panel sends, as Python, JavaScript and curl.

Each snippet sends the very body the playground's client sends (``ChatRequest.to_kwargs()``) to
the provider's endpoint, built from the provider's :class:`~playground.providers.CodeTarget`. Keys
only ever come from environment variables: a snippet never contains the user's key, nor a
placeholder that looks like one, and any text of the key that reached a setting (a URL, a header)
is replaced by the variable's name.

Uploaded images travel as base64 data URLs. ``images="inline"`` writes them into the snippet as
they are sent; ``images="file"`` writes a placeholder that reads each image from a file next to
the script (``image-1.png``, ...), so the snippet stays short and the request stays the same.

Pure Python: no Streamlit.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from playground.errors import redact
from playground.providers import AZURE_TOKEN_VARIABLE, ENTRA_SCOPE, Provider
from playground.request import ChatRequest

SNIPPET_LANGUAGES = {"Python": "python", "JavaScript": "javascript", "curl": "bash"}
#: How uploaded images appear in a snippet: their base64 data inline, or read from files.
ImageMode = Literal["inline", "file"]
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}


def request_body(request: ChatRequest | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body sent for ``request`` (a ChatRequest, or the keyword arguments of one)."""
    return request.to_kwargs() if isinstance(request, ChatRequest) else dict(request)


@dataclass(frozen=True)
class ImageFile:
    """An uploaded image a snippet reads from a file: ``token`` stands for its data URL in the body."""

    token: str
    file_name: str
    media_type: str
    message: int  # where its URL sits in the body: messages[message].content[part].image_url.url
    part: int


def image_files(body: dict[str, Any]) -> tuple[dict[str, Any], list[ImageFile]]:
    """``body`` with every data-URL image replaced by a token, and the files those tokens stand for
    (``image-1.png``, ... in order). Remote image URLs are left as they are."""
    files: list[ImageFile] = []
    messages = []
    for index, message in enumerate(body.get("messages", [])):
        content = message.get("content")
        if not isinstance(content, list):
            messages.append(message)
            continue
        parts = []
        for position, part in enumerate(content):
            url = (part.get("image_url") or {}).get("url", "") if part.get("type") == "image_url" else ""
            if not url.startswith("data:") or ";base64," not in url:
                parts.append(part)
                continue
            media_type = url[len("data:") : url.index(";")]
            number = len(files) + 1
            file = ImageFile(
                f"@@IMAGE_{number}@@",
                f"image-{number}.{_EXTENSIONS.get(media_type, 'bin')}",
                media_type,
                index,
                position,
            )
            files.append(file)
            parts.append({**part, "image_url": {**part["image_url"], "url": file.token}})
        messages.append({**message, "content": parts})
    return ({**body, "messages": messages} if files else body), files


def all_snippets(
    request: ChatRequest | Mapping[str, Any], provider: Provider, images: ImageMode = "inline"
) -> dict[str, str]:
    """Every snippet for ``request``, by language label (keys of :data:`SNIPPET_LANGUAGES`)."""
    return {
        "Python": python_snippet(request, provider, images),
        "JavaScript": javascript_snippet(request, provider, images),
        "curl": curl_snippet(request, provider, images),
    }


def _body_and_files(
    request: ChatRequest | Mapping[str, Any], images: ImageMode
) -> tuple[dict[str, Any], list[ImageFile]]:
    body = request_body(request)
    return image_files(body) if images == "file" else (body, [])


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


def python_snippet(request: ChatRequest | Mapping[str, Any], provider: Provider, images: ImageMode = "inline") -> str:
    """Python (openai SDK) code that sends exactly ``request``; the key comes from the environment."""
    body, files = _body_and_files(request, images)
    lines = ["import base64", "import os"] if files else ["import os"]
    lines += ["", *_python_client(provider)]
    if files:
        lines += [
            "",
            "",
            "def data_url(path, media_type):",
            '    with open(path, "rb") as image:',
            '        return f"data:{media_type};base64," + base64.b64encode(image.read()).decode()',
            "",
        ]
    lines += ["", "stream = client.chat.completions.create("]
    arguments = "\n".join(f"    {name}={_py(value, 1)}," for name, value in body.items())
    for file in files:
        arguments = arguments.replace(repr(file.token), f"data_url({file.file_name!r}, {file.media_type!r})")
    lines += [arguments]
    lines += [
        ")",
        "for chunk in stream:",
        "    delta = chunk.choices[0].delta if chunk.choices else None",
        "    if delta is not None and (delta.content or delta.refusal):",
        '        print(delta.content or delta.refusal, end="", flush=True)',
        "print()",
    ]
    return _scrub("\n".join(lines) + "\n", provider)


def javascript_snippet(
    request: ChatRequest | Mapping[str, Any], provider: Provider, images: ImageMode = "inline"
) -> str:
    """JavaScript (the ``openai`` npm package, an ES module) that sends exactly ``request``."""
    target = provider.code_target()
    body_data, files = _body_and_files(request, images)
    names = {"base_url": "baseURL", "organization": "organization", "project": "project"}
    names |= {"azure_endpoint": "endpoint", "api_version": "apiVersion"}
    options = [f"  {names[name]}: {json.dumps(value)}," for name, value in target.client_args.items()]
    lines = [f'import {{ {target.sdk_class} }} from "openai";']
    if files:
        lines.insert(0, 'import { readFileSync } from "node:fs";')
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
    body = json.dumps(body_data, indent=2, ensure_ascii=False).replace("\n", "\n  ")
    for file in files:
        body = body.replace(
            json.dumps(file.token), f"dataUrl({json.dumps(file.file_name)}, {json.dumps(file.media_type)})"
        )
    lines += [
        "",
        f"const client = new {target.sdk_class}({{",
        *options,
        "});",
        "",
    ]
    if files:
        lines += [
            "const dataUrl = (path, mediaType) =>",
            '  `data:${mediaType};base64,${readFileSync(path).toString("base64")}`;',
            "",
        ]
    lines += [
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


def curl_snippet(request: ChatRequest | Mapping[str, Any], provider: Provider, images: ImageMode = "inline") -> str:
    """A curl command that sends exactly ``request`` (body in a quoted here-document, so nothing in
    it is expanded by the shell); the key is an environment variable reference. With
    ``images="file"``, jq puts each image file's base64 into the body before curl sends it."""
    target = provider.code_target()
    body, files = _body_and_files(request, images)
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
    curl = [
        f"curl --no-buffer {shlex.quote(target.chat_url)} \\",
        '  -H "Content-Type: application/json" \\',
        *[f"  -H {header} \\" for header in headers],
    ]
    if files:
        # The base64 goes through files, not arguments: an image can exceed the argument size limit.
        jq = ["jq \\"]
        jq += [
            f"  --rawfile image_{n} <(base64 < {shlex.quote(f.file_name)} | tr -d '\\n') \\"
            for n, f in enumerate(files, 1)
        ]
        updates = " | ".join(
            f'.messages[{f.message}].content[{f.part}].image_url.url = "data:{f.media_type};base64," + $image_{n}'
            for n, f in enumerate(files, 1)
        )
        jq.append(f"  {shlex.quote(updates)} <<'JSON' | \\")
        lines = [*comments, f"# Reads {', '.join(f.file_name for f in files)} (needs jq and bash).", *jq, *curl]
        lines += ["  -d @-", json.dumps(body, indent=2, ensure_ascii=False), "JSON"]
    else:
        lines = [*comments, *curl, "  -d @- <<'JSON'", json.dumps(body, indent=2, ensure_ascii=False), "JSON"]
    return _scrub("\n".join(lines) + "\n", provider)
