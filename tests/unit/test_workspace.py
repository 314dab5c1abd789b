import pytest

from playground.conversation import ImageAttachment
from playground.errors import ErrorKind, PlaygroundError
from playground.request import ChatParams
from playground.workspace import ResponseSchema, Workspace


def test_submit_attaches_pending_images_and_requests_a_reply():
    workspace = Workspace()
    workspace.pending_images = [ImageAttachment(name="x.png", url="data:image/png;base64,AA==")]
    message = workspace.submit("look")
    assert message.images and workspace.pending_images == [] and workspace.awaiting_reply


def test_empty_submit_is_refused():
    with pytest.raises(PlaygroundError) as caught:
        Workspace().submit("   ")
    assert caught.value.kind is ErrorKind.INVALID_INPUT


def test_request_carries_system_prompt_history_and_schema():
    workspace = Workspace(system_prompt="Be terse.")
    workspace.submit("first")
    workspace.conversation.start_reply("m").content = "ok"
    workspace.submit("second")
    workspace.response_schema = ResponseSchema(name="answer", schema={"type": "object"}, enabled=True)
    kwargs = workspace.build_request().to_kwargs()
    assert [m["role"] for m in kwargs["messages"]] == ["system", "user", "assistant", "user"]
    assert kwargs["response_format"]["json_schema"] == {"name": "answer", "schema": {"type": "object"}, "strict": True}


def test_invalid_parameters_block_the_request():
    workspace = Workspace(params=ChatParams(temperature=5))
    workspace.submit("hi")
    with pytest.raises(PlaygroundError) as caught:
        workspace.build_request()
    assert "temperature" in caught.value.message


def test_retry_and_edit_leave_the_conversation_ready_to_resend():
    workspace = Workspace()
    first = workspace.submit("one")
    workspace.conversation.start_reply("m").content = "partial"
    workspace.awaiting_reply = False
    workspace.retry()
    assert workspace.awaiting_reply and [m.content for m in workspace.conversation.messages] == ["one"]
    workspace.awaiting_reply = False
    workspace.edit_and_resend(first.id, "uno")
    assert workspace.awaiting_reply and workspace.conversation.messages[0].content == "uno"


def test_estimate_counts_the_draft():
    workspace = Workspace()
    assert workspace.estimate_prompt_tokens("a fairly long draft message here") > workspace.estimate_prompt_tokens()


def test_azure_deployment_maps_to_the_model_the_server_reports(fake, azure_settings):
    from playground.chat import stream_reply
    from tests.fakes.server import Scenario

    workspace = Workspace(connection=azure_settings)
    assert workspace.model_spec().is_estimate  # "my-mini" is a deployment name, not a model
    fake.enqueue(Scenario(text="hi", model="gpt-4o-2024-11-20"))
    workspace.submit("hello")
    request = workspace.build_request()
    reply = workspace.conversation.start_reply(request.model)
    list(stream_reply(workspace.client(), request, reply))
    assert reply.stats.served_model == "gpt-4o-2024-11-20"
    spec = workspace.model_spec()
    assert spec.id == "gpt-4o" and not spec.is_estimate


def test_a_pinned_registry_entry_wins_over_the_reported_model(azure_settings):
    workspace = Workspace(connection=azure_settings.model_copy(update={"registry_entry": "gpt-4.1-nano"}))
    workspace.conversation.start_reply("my-mini").stats.served_model = "gpt-4o-2024-11-20"
    assert workspace.model_spec().id == "gpt-4.1-nano"


def test_regenerate_with_pending_images_sends_exactly_the_conversation():
    workspace = Workspace()
    workspace.submit("describe the weather")
    workspace.conversation.start_reply("m").content = "sunny"
    workspace.pending_images = [ImageAttachment(name="x.png", url="data:image/png;base64,AA==")]
    workspace.retry()
    request = workspace.build_request()
    assert request.messages == workspace.conversation.to_api() == [{"role": "user", "content": "describe the weather"}]
    assert workspace.pending_images  # still waiting for the next message the user sends


def test_a_deployment_serving_gpt_4o_is_priced_as_gpt_4o_from_its_first_reply(fake, azure_settings):
    from playground.chat import stream_reply
    from tests.fakes.server import Scenario

    workspace = Workspace(connection=azure_settings)
    usage = {"prompt_tokens": 1_000_000, "completion_tokens": 0, "total_tokens": 1_000_000}
    for turn in range(2):
        fake.enqueue(Scenario(text="ok", model="gpt-4o-2024-11-20", usage=usage))
        workspace.submit(f"turn {turn}")
        request = workspace.build_request()
        list(
            stream_reply(
                workspace.client(),
                request,
                workspace.conversation.start_reply(request.model),
                price_of=workspace.reply_price,
            )
        )
    assert [m.stats.cost_usd for m in workspace.conversation.messages if m.stats] == [2.50, 2.50]
    assert [row.cost_usd for row in workspace.usage_rows()] == [2.50, 2.50]
    assert workspace.session_cost() == 5.00


def test_a_known_model_ignores_a_leftover_pin():
    from playground.connection import ConnectionSettings

    workspace = Workspace(connection=ConnectionSettings(model="gpt-4.1-mini", registry_entry="gpt-4o"))
    spec = workspace.model_spec()
    assert spec.id == "gpt-4.1-mini" and not spec.is_estimate


def test_stream_next_reply_clears_the_request_flag_first_and_fills_the_reply(fake, openai_settings):
    from playground.conversation import Status

    workspace = Workspace(connection=openai_settings)
    workspace.submit("hello")
    updates = workspace.stream_next_reply()
    assert not workspace.awaiting_reply  # a rerun from here on cannot send it again
    final = list(updates)[-1]
    assert final is workspace.conversation.messages[-1] and final.status is Status.COMPLETE
    assert final.content == "Echo: hello" and final.stats.estimated_prompt_tokens == 8
    assert final.stats.cost_usd is not None  # priced at usage time


def test_stream_next_reply_refuses_invalid_parameters_before_sending(fake, openai_settings):
    workspace = Workspace(connection=openai_settings, params=ChatParams(top_p=3))
    workspace.submit("hello")
    with pytest.raises(PlaygroundError, match="top_p"):
        workspace.stream_next_reply()
    assert fake.chat_requests() == [] and [m.role for m in workspace.conversation.messages] == ["user"]


def test_a_reply_is_checked_once_against_the_schema_it_was_asked_to_follow(fake, openai_settings):
    from playground.schema import load_templates
    from tests.fakes.server import Scenario

    workspace = Workspace(connection=openai_settings)
    fake.enqueue(Scenario(text="Sure, happy to help!"))
    workspace.submit("hi")
    list(workspace.stream_next_reply())
    schema = load_templates()["feedback_analysis"]["schema"]
    workspace.response_schema = ResponseSchema(name="feedback_analysis", schema=schema, enabled=True)
    fake.enqueue(Scenario(text='{"sentiment": "positive", "category": "x", "priority": "urgent", "summary": "s"}'))
    workspace.submit("rate this")
    list(workspace.stream_next_reply())
    prose, structured = workspace.conversation.messages[1], workspace.conversation.messages[3]
    assert prose.schema_check is None  # sent before the schema was in use: no verdict, no false "Invalid"
    assert structured.schema_check is not None and not structured.schema_check.ok
    assert [error.field for error in structured.schema_check.errors] == ["priority"]
