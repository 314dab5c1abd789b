"""Importing tool definitions from elsewhere and converting them to Chat Completions ``tools``.

Accepted (JSON text): the legacy ``functions`` / ``function_call`` format, a whole request body
pasted from elsewhere (its ``tools`` or ``functions``, ``tool_choice`` or ``function_call`` and
``parallel_tool_calls`` are taken, the rest ignored), a list of tools or bare functions, and an
OpenAPI 3 document (each operation becomes one tool: operationId → name, summary/description →
description, parameters + JSON requestBody → one parameters object).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from playground.errors import ErrorKind, PlaygroundError
from playground.toolloop.mocks import ToolMock

TEMPLATES_PATH = Path(__file__).resolve().parent.parent / "tool_templates.json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_MAX_REF_DEPTH = 32


class ImportedTools(BaseModel):
    """What an import produced. ``notes`` say what was converted or dropped, for the user."""

    tools: list[dict[str, Any]]
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    notes: list[str] = Field(default_factory=list)


class ToolTemplate(BaseModel):
    """A ready-made tool with a mock that answers it."""

    tool: dict[str, Any]
    mock: ToolMock

    @property
    def name(self) -> str:
        return str(self.tool["function"]["name"])


@cache
def load_templates() -> dict[str, ToolTemplate]:
    """The bundled templates (``playground/tool_templates.json``: each a tool and its mock), by tool name."""
    raw = json.loads(TEMPLATES_PATH.read_text(encoding="utf-8"))
    return {key: ToolTemplate.model_validate(value) for key, value in raw.items()}


def _invalid(message: str) -> PlaygroundError:
    return PlaygroundError(ErrorKind.INVALID_INPUT, message)


def function_to_tool(function: Any, where: str) -> dict[str, Any]:
    """A legacy function object (or a tool) as a Chat Completions tool."""
    if isinstance(function, dict) and function.get("type") == "function" and isinstance(function.get("function"), dict):
        function = function["function"]
    if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
        raise _invalid(f"{where} needs a 'name'.")
    converted: dict[str, Any] = {"name": function["name"], "description": str(function.get("description") or "")}
    converted["parameters"] = function.get("parameters") or {"type": "object", "properties": {}}
    if "strict" in function:
        converted["strict"] = bool(function["strict"])
    return {"type": "function", "function": converted}


def convert_function_call(function_call: Any) -> str | dict[str, Any]:
    """Legacy ``function_call`` ("auto", "none" or {"name": ...}) as ``tool_choice``."""
    if function_call in ("auto", "none"):
        return str(function_call)
    if isinstance(function_call, dict) and isinstance(function_call.get("name"), str):
        return {"type": "function", "function": {"name": function_call["name"]}}
    raise _invalid(f"function_call must be 'auto', 'none' or {{'name': ...}}, not {json.dumps(function_call)}.")


def from_request_body(body: dict[str, Any]) -> ImportedTools:
    """The tool parts of a Chat Completions request body (new or legacy format)."""
    notes: list[str] = []
    if "tools" in body:
        items, label = body["tools"], "tools"
    elif "functions" in body:
        items, label = body["functions"], "functions"
        notes.append("Converted the legacy 'functions' list to 'tools'.")
    else:
        raise _invalid("The request body has neither 'tools' nor 'functions'.")
    if not isinstance(items, list):
        raise _invalid(f"'{label}' must be a list.")
    tools = [function_to_tool(item, f"{label}[{index}]") for index, item in enumerate(items)]
    tool_choice: str | dict[str, Any] | None = None
    if "tool_choice" in body:
        tool_choice = body["tool_choice"]
    elif "function_call" in body:
        tool_choice = convert_function_call(body["function_call"])
        notes.append("Converted the legacy 'function_call' to 'tool_choice'.")
    parallel = body.get("parallel_tool_calls")
    _check_unique(tools)
    return ImportedTools(
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=parallel if isinstance(parallel, bool) else None,
        notes=notes,
    )


def _check_unique(tools: list[dict[str, Any]]) -> None:
    names = [tool["function"]["name"] for tool in tools]
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        raise _invalid(f"Tool names must be unique: {', '.join(duplicates)}.")


# --- OpenAPI ---------------------------------------------------------------------------------
def _resolve(document: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """``node`` with local ``$ref``s inlined (a recursive schema stops at a depth guard)."""
    if depth > _MAX_REF_DEPTH:
        raise _invalid("The OpenAPI document's $refs nest too deeply (a recursive schema?).")
    if isinstance(node, list):
        return [_resolve(document, item, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(ref := node.get("$ref"), str):
        if not ref.startswith("#/"):
            raise _invalid(f"Only local $refs (#/...) can be imported, not {ref}.")
        target: Any = document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise _invalid(f"The $ref {ref} points at nothing in the document.")
            target = target[part]
        return _resolve(document, target, depth + 1)
    return {key: _resolve(document, value, depth + 1) for key, value in node.items()}


def _operation_name(operation: dict[str, Any], method: str, path: str) -> str:
    name = operation.get("operationId") or f"{method}_{path}"
    return _NAME_UNSAFE.sub("_", str(name)).strip("_")[:64] or method


def _operation_tool(document: dict[str, Any], path: str, method: str, path_item: dict[str, Any]) -> dict[str, Any]:
    operation = path_item[method]
    properties: dict[str, Any] = {}
    required: list[str] = []
    parameters = [*path_item.get("parameters", []), *operation.get("parameters", [])]
    for parameter in (_resolve(document, item) for item in parameters):
        if not isinstance(parameter, dict) or "name" not in parameter:
            continue
        schema = dict(parameter.get("schema") or {"type": "string"})
        if parameter.get("description") and "description" not in schema:
            schema["description"] = parameter["description"]
        properties[parameter["name"]] = schema  # an operation-level parameter overrides the path's
        if parameter.get("required") or parameter.get("in") == "path":
            required.append(parameter["name"])
    body = _resolve(document, operation.get("requestBody") or {})
    content = body.get("content") or {}
    json_type = next((kind for kind in content if kind.split(";")[0].strip().endswith("json")), None)
    if json_type is not None:
        schema = content[json_type].get("schema") or {}
        if schema.get("type") == "object" and isinstance(schema.get("properties"), dict):
            properties.update(schema["properties"])
            required += [name for name in schema.get("required", []) if name not in required]
        else:
            properties["body"] = schema
            if body.get("required"):
                required.append("body")
    parameters_schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters_schema["required"] = list(dict.fromkeys(required))
    description = " ".join(part for part in (operation.get("summary"), operation.get("description")) if part)
    return {
        "type": "function",
        "function": {
            "name": _operation_name(operation, method, path),
            "description": description,
            "parameters": parameters_schema,
        },
    }


def from_openapi(document: dict[str, Any], operation_ids: list[str] | None = None) -> ImportedTools:
    """One tool per operation of an OpenAPI 3 document (only ``operation_ids`` if given)."""
    if not str(document.get("openapi", "")).startswith("3"):
        raise _invalid("Only OpenAPI 3 documents can be imported (the 'openapi' field must be 3.x).")
    tools: list[dict[str, Any]] = []
    for path, path_item in (document.get("paths") or {}).items():
        for method in HTTP_METHODS:
            if isinstance(path_item, dict) and isinstance(path_item.get(method), dict):
                tool = _operation_tool(document, path, method, path_item)
                if operation_ids is None or tool["function"]["name"] in operation_ids:
                    tools.append(tool)
    if not tools:
        wanted = f" named {', '.join(operation_ids)}" if operation_ids else ""
        raise _invalid(f"The OpenAPI document has no operations{wanted}.")
    _check_unique(tools)
    return ImportedTools(tools=tools, notes=[f"Imported {len(tools)} OpenAPI operation(s)."])


def import_tools(text: str) -> ImportedTools:
    """Detect what was pasted (see the module docstring) and convert it to ``tools``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise _invalid(
            f"The pasted text is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from error
    if isinstance(data, dict) and "openapi" in data:
        return from_openapi(data)
    if isinstance(data, dict) and ("tools" in data or "functions" in data):
        return from_request_body(data)
    items = data if isinstance(data, list) else [data]
    tools = [function_to_tool(item, f"Item {index + 1}") for index, item in enumerate(items)]
    _check_unique(tools)
    return ImportedTools(tools=tools)
