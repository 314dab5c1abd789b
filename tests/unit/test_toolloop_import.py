"""Importing tools: the seeds' legacy format, pasted request bodies, OpenAPI 3; and the templates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from playground.errors import PlaygroundError
from playground.toolloop import from_openapi, import_tools, load_templates, validate_call
from playground.toolloop.loop import SandboxTool

# The seed documents lie in shared/ beside the checkout (on a developer machine and in CI).
SEED = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_e45bf53112d59d17.txt"
SEED_BODY = {
    "model": "gpt-4.1-mini-2025-04-14",
    "messages": [{"role": "user", "content": "Get the current weather in New York and suggest appropriate clothing."}],
    "functions": [
        {
            "name": "get_weather",
            "description": "Get current weather information for a location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "City and state, e.g. San Francisco, CA"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["location"],
            },
        }
    ],
    "function_call": "auto",
}


def test_legacy_request_body_becomes_tools_and_tool_choice() -> None:
    imported = import_tools(json.dumps(SEED_BODY))
    assert imported.tools == [{"type": "function", "function": SEED_BODY["functions"][0]}]  # type: ignore[index]
    assert imported.tool_choice == "auto"
    assert any("legacy" in note for note in imported.notes)


@pytest.mark.skipif(not SEED.exists(), reason="the shared seed documents are not on this machine")
def test_the_seed_documents_function_calling_example_imports() -> None:
    blocks = re.findall(r"```json\n(.*?)```", SEED.read_text(), re.S)
    body = next(block for block in blocks if '"functions"' in block)
    assert import_tools(body).tools[0]["function"]["name"] == "get_weather"


def test_named_function_call_and_new_format_body() -> None:
    legacy = import_tools(json.dumps({**SEED_BODY, "function_call": {"name": "get_weather"}}))
    assert legacy.tool_choice == {"type": "function", "function": {"name": "get_weather"}}
    body = {"tools": legacy.tools, "tool_choice": "required", "parallel_tool_calls": False, "temperature": 0}
    imported = import_tools(json.dumps(body))
    assert (imported.tools, imported.tool_choice, imported.parallel_tool_calls) == (legacy.tools, "required", False)


def test_bare_functions_list_and_errors() -> None:
    assert import_tools(json.dumps([{"name": "a"}, {"name": "b"}]))
    with pytest.raises(PlaygroundError, match="unique: a"):
        import_tools(json.dumps([{"name": "a"}, {"name": "a"}]))
    with pytest.raises(PlaygroundError, match="needs a 'name'"):
        import_tools(json.dumps({"functions": [{"description": "no name"}]}))
    with pytest.raises(PlaygroundError, match=r"not valid JSON.*line 1"):
        import_tools("{tools: []}")


OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "Shop", "version": "1"},
    "paths": {
        "/orders/{order_id}": {
            "parameters": [{"name": "order_id", "in": "path", "schema": {"type": "string"}, "description": "Order"}],
            "get": {
                "operationId": "getOrder",
                "summary": "Get an order.",
                "description": "Returns status and items.",
                "parameters": [{"$ref": "#/components/parameters/Expand"}],
            },
        },
        "/tickets": {
            "post": {
                "operationId": "create ticket!",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ticket"}}},
                },
            }
        },
    },
    "components": {
        "parameters": {"Expand": {"name": "expand", "in": "query", "schema": {"type": "boolean"}}},
        "schemas": {
            "Ticket": {
                "type": "object",
                "properties": {"subject": {"type": "string"}, "priority": {"$ref": "#/components/schemas/Priority"}},
                "required": ["subject"],
            },
            "Priority": {"type": "string", "enum": ["low", "high"]},
        },
    },
}


def test_openapi_operations_become_tools() -> None:
    imported = import_tools(json.dumps(OPENAPI))
    get_order, create_ticket = (tool["function"] for tool in imported.tools)
    assert get_order == {
        "name": "getOrder",
        "description": "Get an order. Returns status and items.",
        "parameters": {
            "type": "object",
            "properties": {
                "order_id": {"type": "string", "description": "Order"},
                "expand": {"type": "boolean"},
            },
            "required": ["order_id"],
        },
    }
    assert create_ticket["name"] == "create_ticket"
    assert create_ticket["parameters"] == {
        "type": "object",
        "properties": {"subject": {"type": "string"}, "priority": {"type": "string", "enum": ["low", "high"]}},
        "required": ["subject"],
    }


def test_openapi_select_one_operation_and_reject_bad_documents() -> None:
    assert [t["function"]["name"] for t in from_openapi(OPENAPI, ["getOrder"]).tools] == ["getOrder"]
    with pytest.raises(PlaygroundError, match="OpenAPI 3"):
        from_openapi({"openapi": "2.0", "paths": {}})
    broken = {**OPENAPI, "components": {}}
    with pytest.raises(PlaygroundError, match="points at nothing"):
        from_openapi(broken)


def test_every_template_mock_answers_a_valid_call_with_json() -> None:
    examples = {
        "get_weather": {"location": "New York, NY"},
        "get_order_status": {"order_id": "A-10234", "email": None},
        "search_products": {"query": "tent", "max_price": 120, "in_stock_only": True},
        "create_support_ticket": {"subject": "Broken zip", "description": "d", "priority": "high", "order_id": None},
        "check_calendar_availability": {
            "attendees": ["a@example.com"],
            "window_start": "2026-12-02T09:00:00Z",
            "window_end": "2026-12-02T17:00:00Z",
            "duration_minutes": 30,
        },
        "create_calendar_event": {
            "title": "Sync",
            "start": "2026-12-02T09:00:00Z",
            "duration_minutes": 30,
            "attendees": ["a@example.com"],
        },
    }
    templates = load_templates()
    assert set(templates) == set(examples)
    for name, arguments in examples.items():
        template = templates[name]
        assert validate_call(SandboxTool(tool=template.tool), json.dumps(arguments)).valid, name
        json.loads(template.mock.produce(arguments))
    assert templates["get_weather"].tool["function"]["parameters"] == SEED_BODY["functions"][0]["parameters"]  # type: ignore[index]
