"""The function-calling sandbox: tool definitions, their checks, and answering the model's calls.

Tools are kept in Chat Completions format (what is sent and what the meter counts). Their
templates, mocks and the loop that answers calls automatically are in :mod:`playground.toolloop`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema

from playground.conversation import Conversation, Message, ToolCall
from playground.errors import ErrorKind, PlaygroundError
from playground.schema import lint_name, lint_strict, load_json_text


def _as_tool(item: Any, position: int) -> dict[str, Any]:
    """One tool in Chat Completions form, checked whole: a named function whose ``parameters`` is a
    valid JSON Schema for an object. Anything else is refused here, before it reaches the workspace
    (and from there every request and the meter)."""
    where = f"Tool {position + 1}"
    function = item.get("function", item) if isinstance(item, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT,
            f"{where} needs a 'name' (give either {{'type': 'function', 'function': {{...}}}} "
            "or the function object itself).",
        )
    where = f"Tool {function['name']!r}"
    description = function.get("description", "")
    if not isinstance(description, str):
        raise PlaygroundError(ErrorKind.INVALID_INPUT, f"{where}: 'description' must be a string.")
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    _check_parameters(parameters, where)
    tool_function: dict[str, Any] = {"name": function["name"], "description": description, "parameters": parameters}
    if "strict" in function:
        tool_function["strict"] = bool(function["strict"])
    return {"type": "function", "function": tool_function}


def _check_parameters(parameters: Any, where: str) -> None:
    """``parameters`` must be a JSON Schema (by the metaschema) describing an object."""
    if not isinstance(parameters, dict):
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT,
            f"{where}: 'parameters' must be a JSON Schema object such as "
            '{"type": "object", "properties": {...}}, not ' + f"{json.dumps(parameters)[:40]}.",
        )
    try:
        jsonschema.Draft202012Validator.check_schema(parameters)
    except jsonschema.SchemaError as error:
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT, f"{where}: 'parameters' is not a valid JSON Schema ({error.message})."
        ) from None
    except RecursionError:
        raise PlaygroundError(ErrorKind.INVALID_INPUT, f"{where}: 'parameters' is nested too deeply.") from None
    if parameters.get("type", "object") != "object":
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT,
            f'{where}: \'parameters\' must describe an object ("type": "object"), '
            f"not {json.dumps(parameters['type'])}: a function's arguments are named.",
        )


def parse_tools(text: str) -> list[dict[str, Any]]:
    """Tools from pasted JSON: a list (or one) of tools or bare function objects, normalised.

    The whole paste is checked before anything is returned (bounded parse, names, parameters):
    one bad tool refuses the paste, with a message naming it.
    """
    data = load_json_text(text, "tool list") if text.strip() else []
    items = data if isinstance(data, list) else [data]
    tools = [_as_tool(item, position) for position, item in enumerate(items)]
    names = [tool["function"]["name"] for tool in tools]
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        raise PlaygroundError(ErrorKind.INVALID_INPUT, f"Tool names must be unique: {', '.join(duplicates)}.")
    return tools


def tool_problems(tool: dict[str, Any], provider: str) -> list[str]:
    """Why the API would reject this tool: its name, and (for strict tools) the strict subset."""
    function = tool["function"]
    problems = [f"name: {violation.message}" for violation in lint_name(function["name"])]
    if function.get("strict"):
        problems += [f"{v.path}: {v.message}" for v in lint_strict(function["parameters"], provider)]
    else:
        try:
            jsonschema.Draft202012Validator.check_schema(function["parameters"])
        except jsonschema.SchemaError as error:
            problems.append(f"parameters: not a valid JSON Schema ({error.message}).")
    return problems


def argument_errors(tool: dict[str, Any] | None, arguments: str) -> list[str]:
    """Whether the model's arguments parse and match the tool's parameters schema."""
    if tool is None:
        return ["The model called a tool that is not defined."]
    try:
        value = load_json_text(arguments or "{}", "arguments")
    except PlaygroundError as error:
        return [error.message]
    try:
        validator = jsonschema.Draft202012Validator(tool["function"]["parameters"])
        return [
            f"{'/'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"
            for error in validator.iter_errors(value)
        ]
    except (jsonschema.SchemaError, jsonschema.exceptions.UnknownType, re.error) as error:
        # The tool's own schema is broken (an unknown type, a bad pattern): say so, don't crash.
        return [f"The tool's parameters schema cannot check them: {str(error).splitlines()[0]}"]


def unanswered_calls(conversation: Conversation) -> list[ToolCall]:
    """Tool calls of the latest assistant message that have no tool result yet."""
    answered: set[str] = set()
    for message in reversed(conversation.messages):
        if message.role == "tool" and message.tool_call_id:
            answered.add(message.tool_call_id)
        elif message.role == "assistant":
            return [call for call in message.sent_tool_calls if call.id not in answered]
        else:
            return []
    return []


def answer_calls(conversation: Conversation, outputs: dict[str, str]) -> list[Message]:
    """Append one tool message per unanswered call (``outputs`` maps call id to the output text)."""
    pending = unanswered_calls(conversation)
    if missing := [call.name for call in pending if call.id not in outputs]:
        raise PlaygroundError(ErrorKind.INVALID_INPUT, f"Give an output for every call first: {', '.join(missing)}.")
    added = [Message(role="tool", content=outputs[call.id], tool_call_id=call.id, name=None) for call in pending]
    conversation.messages.extend(added)
    return added
