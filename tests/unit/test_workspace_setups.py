"""Workspace.restore_setup (a library version into the session) and Workspace.open_session (a
session from a file): what each replaces and what each keeps."""

from __future__ import annotations

from pydantic import SecretStr

from playground.connection import ConnectionSettings
from playground.conversation import ImageAttachment, ReplyStats
from playground.store import apply_session_document, session_document_from_workspace
from playground.workspace import Workspace

PIXEL = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def setup() -> Workspace:
    source = Workspace(
        connection=ConnectionSettings(provider="compatible", base_url="http://elsewhere/v1", model="llama3"),
        system_prompt="Saved prompt.",
    )
    source.set_params(source.params.model_copy(update={"temperature": 0.3}))
    source.add_tool({"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}, "{}")
    source.set_tool_choice("required")
    source.set_parallel_tool_calls(False)
    source.response_schema.load_template("feedback_analysis")
    source.set_schema_option("enabled", True)
    source.conversation.add_user("Saved question")
    return source


def current() -> Workspace:
    workspace = Workspace(
        connection=ConnectionSettings(provider="compatible", base_url="http://mine/v1", api_key=SecretStr("sk-mine"))
    )
    workspace.set_system_prompt("Mine.")
    workspace.attach_image(ImageAttachment(name="next.png", url=PIXEL))
    workspace.set_price_tier("batch")
    return workspace


def test_restore_takes_the_setup_and_keeps_where_requests_go_the_key_and_the_queued_images():
    workspace, source = current(), setup()
    workspace.restore_setup(source)
    assert workspace.system_prompt == "Saved prompt." and workspace.params.temperature == 0.3
    assert [m.content for m in workspace.conversation.messages] == ["Saved question"]
    assert workspace.tools == source.tools and workspace.tool_choice == "required"
    assert workspace.parallel_tool_calls is False and workspace.tool_mock_outputs == {"lookup": "{}"}
    assert workspace.response_schema == source.response_schema and workspace.response_schema.enabled
    assert workspace.connection.model == "llama3"
    assert workspace.connection.base_url == "http://mine/v1" and workspace.connection.key == "sk-mine"
    assert [image.name for image in workspace.pending_images] == ["next.png"] and workspace.price_tier == "batch"
    # Copies, not shared parts: editing the restored session leaves the source as it was.
    workspace.response_schema.schema["title"] = "changed"
    workspace.tools[0]["function"]["name"] = "changed"
    workspace.conversation.add_user("another")
    assert "title" not in source.response_schema.schema and len(source.conversation.messages) == 1


def test_restore_keeps_replies_it_drops_in_the_session_cost():
    workspace = current()
    workspace.conversation.add_user("hi")
    reply = workspace.conversation.start_reply("gpt-4.1-mini")
    reply.stats = ReplyStats(model="gpt-4.1-mini", prompt_tokens=10, completion_tokens=5)
    workspace.settle_interrupted()
    workspace.restore_setup(setup())
    assert reply.id in workspace.usage_ledger


def test_open_session_becomes_the_other_session_wholly():
    other = setup()
    other.set_price_tier("flex")
    opened = apply_session_document(session_document_from_workspace(other), current().connection)
    workspace = current()
    workspace.awaiting_reply = True
    workspace.open_session(opened)
    assert session_document_from_workspace(workspace) == session_document_from_workspace(opened)
    assert workspace.pending_images == [] and workspace.price_tier == "flex" and not workspace.awaiting_reply
    assert workspace.connection.key == "sk-mine"  # laid over this session's settings by apply_session_document
