import ast
from pathlib import Path

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


# --- one owner for state ----------------------------------------------------------------------------
def test_a_reply_is_recorded_in_the_ledger_when_its_stream_ends(fake, openai_settings):
    workspace = Workspace(connection=openai_settings)
    workspace.submit("hello")
    updates = workspace.stream_next_reply()
    next(updates)
    reply = workspace.conversation.messages[-1]
    assert workspace.usage_ledger == {}  # streaming: nothing recorded yet
    list(updates)
    assert set(workspace.usage_ledger) == {reply.id} and workspace.usage_ledger[reply.id].prompt_tokens
    paid = workspace.session_cost()
    workspace.clear_chat()
    assert paid > 0 and workspace.session_cost() == pytest.approx(paid)


def test_a_reply_stopped_mid_stream_is_still_settled(fake, openai_settings):
    from tests.fakes.server import Scenario

    workspace = Workspace(connection=openai_settings)
    fake.enqueue(Scenario(text="one two three four five six seven eight"))
    workspace.submit("hello")
    updates = workspace.stream_next_reply()
    next(updates)
    recorded = []
    workspace.record_usage = recorded.append  # type: ignore[method-assign]
    updates.close()  # what a Stop click does to the consumer
    assert recorded == [[workspace.conversation.messages[-1]]]


def test_a_schema_run_is_recorded_when_its_stream_ends(fake, openai_settings):
    from playground.schema import load_templates
    from playground.schema_run import prepare_run
    from tests.fakes.server import Scenario

    workspace = Workspace(connection=openai_settings)
    schema = load_templates()["feedback_analysis"]["schema"]
    workspace.response_schema = ResponseSchema(name="feedback_analysis", schema=schema)
    fake.enqueue(Scenario(text='{"sentiment": "positive", "category": "x", "priority": "low", "summary": "s"}'))
    result = prepare_run(workspace, "Great service")
    list(workspace.stream_schema_run(result))
    assert set(workspace.usage_ledger) == {result.reply.id}
    assert workspace.conversation.messages == [] and workspace.session_cost() > 0  # paid, not part of the chat


def test_reading_the_meter_never_writes():
    from playground.conversation import Message, ReplyStats

    workspace = Workspace(system_prompt="Be brief.")
    workspace.submit("hello")
    stats = ReplyStats(model="gpt-4.1-mini", prompt_tokens=10, completion_tokens=2)
    workspace.conversation.messages.append(Message(role="assistant", content="hi", stats=stats))
    before = repr(workspace)
    cost = workspace.session_cost()
    assert cost > 0 and workspace.usage_rows() and workspace.breakdown("draft").total
    assert workspace.check_fits("draft").fits and workspace.check_fits().fits and workspace.paid_reply_count() == 1
    assert workspace.usage_ledger == {} and repr(workspace) == before  # the reply counts, unrecorded


def test_check_fits_gives_the_fixes_for_a_draft_that_cannot_fit():
    from playground.connection import ConnectionSettings
    from playground.conversation import Message

    workspace = Workspace(
        connection=ConnectionSettings(
            provider="azure",
            azure_endpoint="https://example.openai.azure.com",
            deployment="gpt-4.1-mini",
            azure_deployment_type="standard",  # a 128,000-token window
        ),
        params=ChatParams(max_completion_tokens=32_768),
    )
    for turn in range(3):
        workspace.conversation.add_user(" ".join(["alpha"] * 20_000))
        workspace.conversation.messages.append(Message(role="assistant", content=f"answer {turn}"))
    assert workspace.check_fits("a short question").fits
    draft = " ".join(["beta"] * 80_000)
    verdict = workspace.check_fits(draft)
    assert not verdict.fits and verdict.breakdown.has_next_message
    turns = verdict.plan("turns")
    # The draft is the new latest message: every exchange of the conversation may go, the last one too.
    assert turns is not None and turns.fits and turns.count == 3 and turns.messages == 6
    assert verdict.plan("images") is None  # no images to drop
    assert turns.label.startswith("Drop the 3 oldest turns (frees ")
    assert len(workspace.conversation.messages) == 6  # a verdict changes nothing
    assert workspace.check_fits().fits  # without the draft, the conversation as it is fits

    assert workspace.make_room("turns", draft) == turns
    assert workspace.conversation.messages == [] and not workspace.awaiting_reply  # the caller sends the draft
    assert workspace.check_fits(draft).fits
    workspace.submit(draft)
    assert workspace.hold_oversized_request() is None and workspace.awaiting_reply


MUTATORS = {"append", "extend", "insert", "pop", "popitem", "remove", "clear", "update", "setdefault", "sort"}
MUTATORS |= {"reverse", "add_user", "start_reply", "delete", "edit_and_truncate", "rewind_for_retry"}
MUTATORS |= {"settle_interrupted"}
SETTERS = ("setattr", "delattr")


def _fields_after_workspace(node: ast.expr) -> list[str] | None:
    """The attribute chain after ``workspace`` in ``workspace.a.b`` (None: not rooted at a workspace)."""
    names = []
    while isinstance(node, ast.Attribute | ast.Subscript):
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        names.append(node.id)
    names.reverse()
    return names[names.index("workspace") + 1 :] if "workspace" in names else None


def workspace_mutations(source: str) -> list[str]:
    """Lines of ``source`` that change a Workspace's fields directly, as "line: what"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign | ast.Delete):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            parts = [part for part in ast.walk(target) if isinstance(part, ast.Attribute | ast.Subscript)]
            if chains := [fields for part in parts if (fields := _fields_after_workspace(part))]:
                found.append(f"{line}: assigns workspace.{'.'.join(chains[0])}")
        is_mutator = isinstance(node, ast.Attribute) and node.attr in MUTATORS
        if is_mutator and len(fields := _fields_after_workspace(node) or []) >= 2:
            found.append(f"{line}: mutates workspace.{'.'.join(fields)}")
        is_setattr = isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SETTERS
        if is_setattr and node.args and _fields_after_workspace(node.args[0]) is not None:
            found.append(f"{line}: {node.func.id} on a workspace")
    return found


def test_the_state_guard_sees_direct_changes():
    sample = """
workspace.price_tier = "x"
workspace.response_schema.strict += 1
del workspace.conversation.messages[:2]
workspace.tools.append(tool)
st.button("Delete", on_click=workspace.conversation.delete)
setattr(workspace.response_schema, "name", "n")
store.workspace.pending_images = []
workspace.set_price_tier("x")
workspace.clear_chat()
text = workspace.system_prompt
"""
    assert sorted(workspace_mutations(sample)) == [
        "2: assigns workspace.price_tier",
        "3: assigns workspace.response_schema.strict",
        "4: assigns workspace.conversation.messages",
        "5: mutates workspace.tools.append",
        "6: mutates workspace.conversation.delete",
        "7: setattr on a workspace",
        "8: assigns workspace.pending_images",
    ]


def test_only_the_workspace_changes_its_state():
    """No module but playground/workspace.py changes a Workspace's fields (house rule: one owner).

    A syntactic guard: it relies on the project's convention that a Workspace is named
    ``workspace`` (or reached as ``<something>.workspace``), and sees assignments, ``del``,
    ``setattr`` and list/dict/conversation mutators (called or passed as callbacks) on such chains.
    It cannot see through aliases (``target = workspace.tools; target.append(...)``) or into
    functions handed a part of the workspace; review covers those.
    """
    root = Path(__file__).resolve().parents[2]
    sources = [
        root / "app.py",
        *root.glob("pages/*.py"),
        *root.glob("components/*.py"),
        *root.glob("playground/**/*.py"),
    ]
    assert len(sources) > 20
    found = [
        f"{path.relative_to(root)}:{finding}"
        for path in sources
        if path != root / "playground" / "workspace.py"
        for finding in workspace_mutations(path.read_text())
    ]
    assert found == []
