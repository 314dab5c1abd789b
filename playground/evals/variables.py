"""``{{name}}`` variables in prompts, rendered by Jinja2's sandbox with strict undefined.

A prompt that names a variable the caller did not supply fails *before sending* with the list of
missing names: it is never sent with literal braces. Rendering never mutates its input.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from playground.errors import PlaygroundError
from playground.request import ChatRequest

# autoescape off: prompts are plain text, not HTML. The sandbox blocks attribute tricks
# (``{{ ''.__class__ }}``); StrictUndefined turns a missing name into an error, not "".
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def _syntax_error(exc: TemplateSyntaxError) -> PlaygroundError:
    return PlaygroundError.invalid_input(
        f"The prompt's template is not valid (line {exc.lineno}): {exc.message}.", line=exc.lineno
    )


@lru_cache(maxsize=1024)
def _parse(text: str) -> nodes.Template:
    try:
        return _ENV.parse(text)
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc) from None


@lru_cache(maxsize=1024)
def _compile(text: str) -> Template:
    """Compiled once per text: a 1,000-row run renders the same prompt 1,000 times."""
    try:
        return _ENV.from_string(text)
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc) from None


def _has_markup(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def template_variables(text: str) -> set[str]:
    """The variable names one template text uses (``{{ name }}``, ``{% if name %}``, ...)."""
    if not _has_markup(text):
        return set()
    return set(meta.find_undeclared_variables(_parse(text)))


def _texts(messages: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    """Every templatable text in API-format messages: string contents and text parts."""
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            yield content
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                    yield part["text"]


def prompt_variables(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    """The variables a prompt (system prompt included, as a message) uses, sorted."""
    names: set[str] = set()
    for text in _texts(messages):
        names |= template_variables(text)
    return sorted(names)


def render_text(text: str, values: Mapping[str, Any]) -> str:
    """Render one template text. Raises PlaygroundError (INVALID_INPUT) on a missing variable."""
    if not _has_markup(text):
        return text
    missing = sorted(template_variables(text) - set(values))
    if missing:
        raise _missing_error(missing)
    try:
        return _compile(text).render(**values)
    except UndefinedError as exc:  # e.g. an attribute of a supplied value that does not exist
        raise PlaygroundError.invalid_input(f"A variable could not be filled: {exc.message}.") from None
    except SecurityError as exc:
        raise PlaygroundError.invalid_input(f"The template does something the sandbox forbids: {exc}.") from None


def _missing_error(missing: list[str]) -> PlaygroundError:
    listed = ", ".join(missing)
    return PlaygroundError.invalid_input(
        f"Fill in the variable{'s' if len(missing) > 1 else ''} {listed} before sending.", missing=missing
    )


def render_messages(messages: list[dict[str, Any]], values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A rendered deep copy of API-format ``messages``. Every missing variable is named at once."""
    missing = sorted(set(prompt_variables(messages)) - set(values))
    if missing:
        raise _missing_error(missing)
    rendered = copy.deepcopy(messages)
    for message in rendered:
        content = message.get("content")
        if isinstance(content, str):
            message["content"] = render_text(content, values)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                    part["text"] = render_text(part["text"], values)
    return rendered


def render_request(request: ChatRequest, values: Mapping[str, Any]) -> ChatRequest:
    """A new request with every message rendered; ``request`` itself is unchanged."""
    return ChatRequest(
        model=request.model,
        messages=render_messages(request.messages, values),
        params=request.params.model_copy(deep=True),
        tools=copy.deepcopy(request.tools),
        tool_choice=copy.deepcopy(request.tool_choice),
        parallel_tool_calls=request.parallel_tool_calls,
        response_format=copy.deepcopy(request.response_format),
        store=request.store,
    )
