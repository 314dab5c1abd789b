"""``{{name}}`` variables in the chat: the request is rendered from the workspace's values, a missing
variable refuses the message before anything is sent, replies are never templates, and the values
travel with the session document."""

from __future__ import annotations

import pytest

from playground.conversation import Status
from playground.errors import ErrorKind, PlaygroundError
from playground.store import SessionDocument, apply_session_document, session_document_from_workspace
from playground.workspace import Workspace


def test_the_request_is_rendered_from_the_variables():
    workspace = Workspace(system_prompt="You answer for {{ company }}.")
    workspace.set_variable("company", "Acme")
    workspace.set_variable("product", "rockets")
    workspace.submit("Tell me about {{product}}.")
    messages = workspace.build_request().messages
    assert messages[0]["content"] == "You answer for Acme."
    assert messages[1]["content"] == "Tell me about rockets."
    # The conversation keeps the template: changing a value changes the next request.
    assert workspace.conversation.messages[0].content == "Tell me about {{product}}."
    workspace.set_variable("product", "anvils")
    assert workspace.build_request().messages[1]["content"] == "Tell me about anvils."


def test_a_missing_variable_refuses_the_message_and_names_every_missing_one():
    workspace = Workspace(system_prompt="You answer for {{company}}.")
    with pytest.raises(PlaygroundError) as caught:
        workspace.submit("About {{product}}?")
    assert caught.value.kind is ErrorKind.INVALID_INPUT
    assert "company, product" in caught.value.message
    assert workspace.conversation.messages == [] and not workspace.awaiting_reply
    # The form now asks for both (empty), and an empty value still counts as missing.
    assert workspace.prompt_variables() == ["company", "product"]
    with pytest.raises(PlaygroundError):
        workspace.submit("About {{product}}?")
    workspace.set_variable("company", "Acme")
    workspace.set_variable("product", "rockets")
    workspace.submit("About {{product}}?")
    assert workspace.build_request().messages[-1]["content"] == "About rockets?"


def test_build_request_refuses_a_missing_variable_so_view_code_never_shows_braces():
    workspace = Workspace(system_prompt="Hi {{name}}")
    workspace.conversation.add_user("hello")
    with pytest.raises(PlaygroundError, match="name"):
        workspace.build_request()


def test_replies_are_not_templates_and_plain_conversations_need_no_values():
    workspace = Workspace()
    workspace.submit("Show me a Jinja example")
    reply = workspace.conversation.start_reply("m")
    reply.content, reply.status = "Use {{ user.name }} in the template.", Status.COMPLETE
    workspace.submit("thanks")
    assert workspace.prompt_variables() == []
    assert workspace.build_request().messages[1]["content"] == "Use {{ user.name }} in the template."


def test_the_sandbox_blocks_attribute_tricks():
    workspace = Workspace(system_prompt="{{ ''.__class__.__mro__ }}")
    workspace.conversation.add_user("hi")
    with pytest.raises(PlaygroundError):
        workspace.build_request()


def test_a_template_syntax_error_is_a_clear_refusal():
    workspace = Workspace()
    with pytest.raises(PlaygroundError, match="not valid"):
        workspace.submit("broken {{ name")
    assert workspace.conversation.messages == []


def test_variables_are_saved_with_the_session_and_restored():
    workspace = Workspace(system_prompt="For {{company}}")
    workspace.set_variable("company", "Acme")
    document = session_document_from_workspace(workspace)
    assert document.variables == {"company": "Acme"}
    again = apply_session_document(SessionDocument.model_validate_json(document.model_dump_json()))
    assert again.variables == {"company": "Acme"}
    other = Workspace()
    other.open_session(again)
    assert other.variables == {"company": "Acme"}
    fresh = Workspace()
    fresh.restore_setup(again)
    assert fresh.variables == {"company": "Acme"}


def test_the_real_request_sent_is_rendered(openai_settings, fake):
    workspace = Workspace(connection=openai_settings, system_prompt="You work for {{company}}.")
    workspace.set_variable("company", "Acme")
    workspace.submit("hello")
    for _ in workspace.stream_next_reply():
        pass
    sent = fake.chat_requests()[-1].json["messages"]
    assert sent[0] == {"role": "system", "content": "You work for Acme."}
    assert "{{" not in str(sent)
