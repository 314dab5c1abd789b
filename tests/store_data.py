"""Test data for the store tests: a workspace that uses every saved part, small real images."""

from __future__ import annotations


def png_data_url(seed: int = 0) -> str:
    """A small real PNG as a data URL (distinct bytes per ``seed``)."""
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (seed % 256, 10, 20)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


SECRET_KEY = "sk-test-secret-must-never-be-stored-0123456789"


def rich_workspace():
    """A workspace using every saved part: system prompt, tools and mocks, schema, parameters,
    a connection with a key, an image, a tool call round, a failed and a stopped reply, stats,
    a schema verdict, price overrides and the usage ledger."""
    from pydantic import SecretStr

    from playground.connection import ConnectionSettings
    from playground.conversation import ErrorInfo, ImageAttachment, Status, ToolCall
    from playground.errors import ErrorKind
    from playground.registry import Price
    from playground.request import ChatParams
    from playground.schema.reply import ReplyValidation
    from playground.workspace import ResponseSchema, Workspace

    workspace = Workspace(
        connection=ConnectionSettings(
            provider="azure",
            api_key=SecretStr(SECRET_KEY),
            azure_endpoint="https://example.openai.azure.com",
            deployment="mini-prod",
            api_version="2024-10-21",
        ),
        system_prompt="You are terse.\nAnswer in French.",
        params=ChatParams(temperature=0.3, max_completion_tokens=300, stop=["END"], seed=7),
        tools=[{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}],
        tool_choice="required",
        parallel_tool_calls=False,
        response_schema=ResponseSchema(name="answer", schema={"type": "object", "properties": {}}, enabled=True),
        price_tier="azure_global",
        price_overrides={"gpt-4.1-mini": Price(input=0.5, output=2.0)},
    )
    workspace.pending_images = [ImageAttachment(name="next.png", url=png_data_url(9), width=4, height=4)]
    from playground.toolloop import CannedCase, CannedMock

    workspace.set_tool_mock(
        "weather", CannedMock(cases=[CannedCase(match={"city": "Oslo"}, output="-3")], default='{"temp": 21}')
    )
    workspace.set_tool_code("weather", "def run(arguments):\n    return {'temp': 21}")
    workspace.set_loop_prompt("Weather in Paris?")
    workspace.add_fault_scenarios()
    first = workspace.conversation.add_user(
        "What is in this picture?",
        [
            ImageAttachment(name="cat.png", url=png_data_url(1), detail="low", width=4, height=4, sent_bytes=70),
            ImageAttachment(name="remote", url="https://example.com/dog.jpg"),
        ],
    )
    reply = workspace.conversation.start_reply("gpt-4.1-mini")
    reply.tool_calls = [ToolCall("call_1", "weather", '{"city": "Paris"}')]
    reply.status = Status.COMPLETE
    assert reply.stats is not None
    reply.stats.prompt_tokens, reply.stats.completion_tokens, reply.stats.cost_usd = 120, 9, 0.0001
    reply.stats.content_filter = {"hate": {"filtered": False}}
    workspace.usage_ledger[reply.id] = reply.stats
    from playground.meter import PaidCost, RunCost

    workspace.compare_ledger["s1.0"] = PaidCost(0.0003, False, 0, 1)
    workspace.compare_ledger["s1.1"] = PaidCost(unpriced=1, requests=1)
    workspace.run_ledger["run1"] = RunCost(PaidCost(0.012, True, 0, 10), done=True)
    tool = workspace.conversation.messages
    from playground.conversation import Message

    tool.append(Message(role="tool", content='{"temp": 21}', tool_call_id="call_1", name="weather"))
    failed = workspace.conversation.start_reply("gpt-4.1-mini")
    failed.status = Status.FAILED
    failed.error = ErrorInfo(ErrorKind.RATE_LIMIT, "Slow down.", "req_1", retryable=True)
    workspace.conversation.add_user("again")
    stopped = workspace.conversation.start_reply("gpt-4.1-mini")
    stopped.content, stopped.status = '{"a": 1', Status.STOPPED
    stopped.schema_check = ReplyValidation(ok=False, parsed=None, truncated=True)
    assert first.images
    return workspace
