"""Everything one browser session works on, in pure Python: the panels' shared state and actions.

``components/state.py`` keeps exactly one Workspace per Streamlit session; pages call its methods.
The Workspace is the one owner of that state: only its methods change it, and its reads (the
meter's breakdown, usage rows, session cost) never write. The session's client lives here too, so
two sessions never share a client or a key.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from playground.chat import DEFAULT_REFRESH_S, stream_reply
from playground.client import PlaygroundClient
from playground.connection import ConnectionSettings
from playground.conversation import Conversation, ImageAttachment, Message, ReplyStats, Status
from playground.costs import price_for, price_label, reply_coster
from playground.errors import ErrorKind, PlaygroundError
from playground.meter import (
    DRAFT_ID,
    Breakdown,
    FitVerdict,
    MessageCounter,
    PaidCost,
    RoomPlan,
    RoomStrategy,
    RunCost,
    SessionSpend,
    TurnUsage,
    fit_verdict,
    paid_cost,
    paid_replies,
    plan_room,
    prompt_breakdown,
    replies_with_usage,
    session_cost,
    total_cost,
    usage_rows,
)
from playground.meter.room import droppable_images
from playground.providers import Provider
from playground.registry import ModelSpec, Price, resolve_model
from playground.request import ChatParams, ChatRequest, ensure_valid, params_for_model
from playground.schema import validate_reply
from playground.schema.document import ResponseSchema
from playground.toolloop import (
    CancelToken,
    LoopSetup,
    MockError,
    MockScenario,
    SandboxTool,
    StreamingModel,
    Timeline,
    ToolLoopSession,
    ToolMock,
    detect_isolation,
    discard_last_step,
    fault_scenarios,
    run_loop,
    run_scenarios,
    set_result,
    start_timeline,
)
from playground.toolloop.timeline import LoopStatus
from playground.tools import answer_calls, unanswered_calls

if TYPE_CHECKING:
    from playground.demo.recording import RecordedTurn
    from playground.demo.replay import Clock
    from playground.evals.runs import RunState
    from playground.evals.sidebyside import ColumnUpdate
    from playground.schema_run import StructuredResult

#: The response schema's settings the schema panel edits directly (the schema itself is edited
#: through the schema document's helpers).
SchemaOption = Literal["name", "strict", "enabled"]
Update = TypeVar("Update")
Edited = TypeVar("Edited")


@dataclass
class Workspace:
    connection: ConnectionSettings = field(default_factory=ConnectionSettings)
    conversation: Conversation = field(default_factory=Conversation)
    system_prompt: str = ""
    params: ChatParams = field(default_factory=ChatParams)
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str = "auto"  # "auto", "none", "required", or one tool's name
    parallel_tool_calls: bool = True
    # The Functions panel's loop: its prompt, mocks and code per tool, scenarios, last run.
    tool_loop: ToolLoopSession = field(default_factory=ToolLoopSession)
    response_schema: ResponseSchema = field(default_factory=ResponseSchema)
    pending_images: list[ImageAttachment] = field(default_factory=list)
    price_tier: str | None = None
    price_overrides: dict[str, Price] = field(default_factory=dict)
    # Every reply with usage, by message id, kept when the conversation drops it: the session paid for it.
    usage_ledger: dict[str, ReplyStats] = field(default_factory=dict)
    # What the Compare panel spent: each side-by-side reply (by "<send id>.<column>") and each run
    # launched from this session (by run id), its spend as last settled (see settle_runs).
    compare_ledger: dict[str, PaidCost] = field(default_factory=dict)
    run_ledger: dict[str, RunCost] = field(default_factory=dict)
    awaiting_reply: bool = False
    # Values of the prompt's {{name}} variables (see Workspace.build_request); "" = not filled in.
    variables: dict[str, str] = field(default_factory=dict)
    available_models: list[str] = field(default_factory=list)
    # Token counts cached per model for this session only (see Workspace.message_counter).
    message_counters: dict[str, MessageCounter] = field(default_factory=dict, repr=False)
    _client: PlaygroundClient | None = field(default=None, repr=False)
    _client_fingerprint: str = field(default="", repr=False)
    # Called after every streamed update (an autosave: see set_progress_hook).
    _progress_hook: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._sync_loop_setup()  # a workspace built from parts (a loaded session) starts consistent

    # --- model, price, client -----------------------------------------------------------------
    def model_spec(self) -> ModelSpec:
        """The registry entry whose limits and prices apply to the current connection."""
        settings = self.connection
        spec = resolve_model(settings.request_model, settings.registry_entry, self.conversation.last_served_model())
        return spec.with_context_cap(self.provider().context_cap())

    def tier(self) -> str:
        return self.price_tier or self.provider().default_tier()

    def price(self) -> Price | None:
        return price_for(self.model_spec(), self.tier(), self.price_overrides)

    def reply_price(self, stats: ReplyStats) -> Price | None:
        """The price of one reply: that of the model which served it, at the tier that applies now."""
        spec = resolve_model(stats.model, self.connection.registry_entry, stats.served_model)
        return price_for(spec, self.tier(), self.price_overrides)

    def applied_price_label(self) -> str:
        """Which prices the costs use: the session override, or the tier's label."""
        return price_label(self.tier(), overridden=self.model_spec().id in self.price_overrides)

    def set_price_tier(self, tier: str) -> None:
        """Price every turn at ``tier`` (a registry tier id) from now on."""
        self.price_tier = tier

    def set_price_override(self, price: Price | None) -> None:
        """Use ``price`` for the current model for the rest of the session (None: back to the tier)."""
        model = self.model_spec().id
        if price is None:
            self.price_overrides.pop(model, None)
        else:
            self.price_overrides[model] = price

    def client(self) -> PlaygroundClient:
        """This session's client, rebuilt only when the connection settings change."""
        fingerprint = self.connection.fingerprint()
        if self._client is None or fingerprint != self._client_fingerprint:
            previous, self._client = self._client, PlaygroundClient(self.connection)
            if previous is not None:
                self._client.provider.carry_over(previous.provider)
            self._client_fingerprint = fingerprint
        return self._client

    def set_connection(self, settings: ConnectionSettings) -> None:
        self.connection = settings

    def set_available_models(self, models: list[str]) -> None:
        self.available_models = list(models)

    # --- what the next request carries, and the session's usage (the meter) --------------------
    def message_counter(self, spec: ModelSpec | None = None) -> MessageCounter:
        """This session's token counter for ``spec``'s model (default: the current one).

        Kept in the workspace, not the process: its cache holds the session's own texts, which must
        neither outlive the session nor sit in memory other sessions share.
        """
        spec = spec or self.model_spec()
        if spec.id not in self.message_counters:
            self.message_counters[spec.id] = MessageCounter(spec)
        return self.message_counters[spec.id]

    def breakdown(self, draft: str = "", *, with_next_message: bool = True) -> Breakdown:
        """What the next request would carry, part by part (the meter's one counting path).

        With ``with_next_message``, the message being drafted (``draft`` and the pending images)
        is part of it; without, it is the request a reply would be asked with now.
        """
        spec = self.model_spec()
        next_message = None
        if with_next_message and (draft or self.pending_images):
            next_message = Message(role="user", content=draft, images=self.pending_images, id=DRAFT_ID)
        return prompt_breakdown(
            self.message_counter(spec),
            spec,
            system_prompt=self.system_prompt,
            messages=self.conversation.messages,
            tools=self.tools,
            response_format=self.response_schema.response_format(),
            next_message=next_message,
            max_completion_tokens=self.params.max_completion_tokens,
        )

    def usage_rows(self) -> list[TurnUsage]:
        """One row per reply with usage in the conversation, costed at the price that applies now."""
        spec = self.model_spec()
        return usage_rows(
            self.conversation.messages, self.message_counter(spec), spec.context_window, reply_coster(self.reply_price)
        )

    def session_cost(self) -> float:
        """USD the chat panels spent at the applied price, replies no longer in the conversation included
        (the Compare panel's spend is apart: see :meth:`spend`)."""
        return session_cost(self.usage_ledger, self.conversation.messages, reply_coster(self.reply_price))

    def paid_reply_count(self) -> int:
        """Replies this session paid for, in the conversation or not (dropped, cleared, test runs)."""
        return len(paid_replies(self.usage_ledger, self.conversation.messages))

    def record_usage(self, replies: Iterable[Message] | None = None) -> None:
        """Note every reply with usage in the ledger, which outlives the conversation.

        Called when a reply's stream ends (chat and schema runs) and before any action removes
        replies; ``replies`` defaults to the conversation's.
        """
        for message_id, stats in replies_with_usage(self.conversation.messages if replies is None else replies).items():
            self.usage_ledger.setdefault(message_id, stats)

    def spend(self) -> SessionSpend:
        """The session's cost part by part: chat, side-by-side replies, runs (judge included).

        A run this process is running is read from its live state (memory, no database), so the
        figure grows while it goes; the others from the ledger. Changes nothing.
        """
        chat = paid_cost(self.usage_ledger, self.conversation.messages, reply_coster(self.reply_price))
        if self.model_spec().is_estimate:  # the model's figures (prices included) are estimates
            chat = replace(chat, estimated=True)
        return SessionSpend(chat, total_cost(self.compare_ledger.values()), total_cost(self._run_costs()))

    def _run_costs(self) -> Iterator[PaidCost]:
        open_runs = [run_id for run_id, entry in self.run_ledger.items() if not entry.done]
        live = _live_runs(open_runs)
        for run_id, entry in self.run_ledger.items():
            state = live.get(run_id)
            yield entry.cost if state is None else state.paid()

    def record_compare_replies(self, updates: Iterator[ColumnUpdate]) -> Iterator[ColumnUpdate]:
        """Pass a side-by-side stream through, noting each column's reply in the session's cost as
        its stream ends (a column stopped or failed costs nothing here). Iterate it on the script's
        thread: the session's state is written from there only."""
        send = uuid.uuid4().hex[:12]
        for update in updates:
            if (cost := update.paid()) is not None:
                self.compare_ledger.setdefault(f"{send}.{update.column}", cost)
            yield update

    def note_run(self, state: RunState) -> None:
        """A run (test run, migration check) is launched or resumed from this session: its spend,
        all of it so far, counts in the session's cost (by run id: a resumed run is not counted twice)."""
        self.run_ledger[state.id] = RunCost(state.paid())

    def settle_runs(self) -> None:
        """Copy the spend of this session's open runs that this process runs into the ledger, so the
        saved session keeps it (a run that has ended here is settled once, then left alone). Call it
        on the script's thread (a run's own thread never writes the session)."""
        open_runs = [run_id for run_id, entry in self.run_ledger.items() if not entry.done]
        if not open_runs:
            return
        from playground.evals.background import live_run

        for run_id in open_runs:
            if (handle := live_run(run_id)) is None:
                continue
            settled = RunCost(handle.state.paid(), done=not handle.alive)
            if settled != self.run_ledger[run_id]:
                self.run_ledger[run_id] = settled

    # --- holding a request that cannot fit, and making room -------------------------------------
    def _request_breakdown(self, draft: str | None) -> Breakdown:
        """The request sending ``draft`` (with the pending images) would make; None: the one
        waiting for a reply now (the held one), without the pending images."""
        return self.breakdown(draft or "", with_next_message=draft is not None)

    def check_fits(self, draft: str | None = None) -> FitVerdict:
        """Would the request fit the window? If not, the verdict carries a plan per way to make room.

        ``draft`` (even "" with pending images): the request sending it would make, before it is
        sent; None: the request a reply would be asked with now (a held one). Changes nothing.
        """
        breakdown = self._request_breakdown(draft)
        if breakdown.fits:
            return FitVerdict(breakdown)
        return fit_verdict(breakdown, self.conversation.messages, self.message_counter())

    def plan_room(self, strategy: RoomStrategy, draft: str | None = None) -> RoomPlan | None:
        """The least :meth:`make_room` would drop so the request fits (None: fits, or nothing to drop).

        ``draft`` as in :meth:`check_fits`: with one, every exchange may go (the draft becomes the
        latest message); without, the latest user message (the held request) is kept.
        """
        breakdown = self._request_breakdown(draft)
        return plan_room(breakdown, self.conversation.messages, self.message_counter(), strategy)

    def make_room(self, strategy: RoomStrategy, draft: str | None = None) -> RoomPlan | None:
        """Drop what :meth:`plan_room` says: the oldest whole exchanges (``turns``) or the oldest
        images of the conversation (``images``); pending images are never dropped. Dropped replies
        stay in the session's cost. Without ``draft``, a held request that then fits is queued to be
        sent again; with one, nothing is sent (the caller submits the draft)."""
        plan = self.plan_room(strategy, draft)
        if plan is None:
            return None
        if strategy == "turns":
            self.record_usage()
            del self.conversation.messages[: plan.messages]
        else:
            for owner, image, _ in droppable_images(self.conversation.messages, self.message_counter())[: plan.count]:
                owner.images.remove(image)
        if draft is None and plan.fits and self.conversation.ends_with_user_turn():
            self.awaiting_reply = True
        return plan

    def hold_oversized_request(self) -> Breakdown | None:
        """Hold an unanswered request that cannot fit the window: it is not sent.

        Returns its breakdown (None when nothing is held) and clears ``awaiting_reply``: the user's
        message is kept, unanswered, and stays held until room is made (:meth:`make_room`, which
        queues it again) or the message is removed.
        """
        if not (self.awaiting_reply or self.conversation.ends_with_user_turn()):
            return None
        breakdown = self.breakdown(with_next_message=False)
        if breakdown.fits:
            return None
        self.awaiting_reply = False
        return breakdown

    def provider(self) -> Provider:
        """The connection's provider: this session's, with what it has learnt about its server."""
        return self.client().provider

    # --- requests -----------------------------------------------------------------------------
    def api_messages(self, draft: str = "") -> list[dict[str, Any]]:
        """The next message's request as the meter sees it: the conversation, plus the message
        being drafted (``draft`` and the pending images) when there is one."""
        messages = self.conversation.to_api(self.system_prompt)
        if draft or self.pending_images:
            messages.append(Message(role="user", content=draft, images=self.pending_images).to_api())
        return messages

    def estimate_prompt_tokens(self, draft: str = "", *, with_next_message: bool = True) -> int:
        """Prompt tokens of the next request (the meter's one counting path; see playground.meter).

        ``with_next_message=False`` estimates the request a reply would be asked with now.
        """
        return self.breakdown(draft, with_next_message=with_next_message).total

    def request_params(self) -> ChatParams:
        """The parameters a request to the current model carries: what it rejects (temperature,
        top_p for a reasoning model; a reasoning effort for the others) is left out, the rest as set."""
        return params_for_model(self.params, self.model_spec())

    def build_request(self) -> ChatRequest:
        """The request for the next reply, its ``{{name}}`` variables filled in from
        :attr:`variables` (system prompt and user messages); raises PlaygroundError if a parameter is out of bounds or a
        variable has no value (nothing is sent with literal braces)."""
        ensure_valid(self.request_params(), self.model_spec())
        return ChatRequest(
            model=self.connection.request_model,
            # Exactly the conversation: pending images belong to the next message the user sends.
            messages=_rendered(self.conversation.to_api(self.system_prompt), self.filled_variables()),
            params=self.request_params(),
            tools=list(self.tools),
            tool_choice=self._tool_choice_payload(),
            parallel_tool_calls=self.provider().parallel_tool_calls(self.tools, self.parallel_tool_calls),
            response_format=self.response_schema.response_format(),
            store=self.connection.store,
        )

    # --- {{name}} variables ----------------------------------------------------------------------
    def prompt_variables(self) -> list[str]:
        """The variables the system prompt and the user's messages use, and those the form already
        lists (a refused message's), sorted. Replies are never templates: a model's ``{{`` is text."""
        names = set(self.variables)
        templates = _templates(self.conversation.to_api(self.system_prompt))
        if templates:
            from playground.evals.variables import prompt_variables  # Jinja loads when a prompt uses it

            names.update(prompt_variables(templates))
        return sorted(names)

    def filled_variables(self) -> dict[str, str]:
        """The variables that have a value (an empty field counts as not filled in)."""
        return {name: value for name, value in self.variables.items() if value != ""}

    def set_variable(self, name: str, value: str) -> None:
        self.variables[name] = value

    def check_variables(self, draft: str = "") -> None:
        """Raise PlaygroundError naming every variable the next request (with ``draft`` as the next
        user message) would lack; the missing names are added to the form, empty, so it asks for them."""
        messages = [*self.conversation.to_api(self.system_prompt), {"role": "user", "content": draft}]
        templates = _templates(messages)
        if not templates:
            return
        from playground.evals.variables import prompt_variables

        missing = [name for name in prompt_variables(templates) if not self.variables.get(name)]
        for name in missing:
            self.variables.setdefault(name, "")
        _rendered(messages, self.filled_variables())  # raises, naming them all (or a template error)

    def stream_next_reply(self) -> Iterator[Message]:
        """Ask for the reply the conversation is waiting for; returns the stream of its updates.

        Raises PlaygroundError before anything is sent when a parameter is out of bounds. From here
        on nothing re-sends on its own: ``awaiting_reply`` is cleared before the request goes out.
        When the stream ends (complete, failed, or closed early by a Stop), the reply's usage is
        recorded in the ledger.
        """
        self.awaiting_reply = False
        request = self.build_request()
        estimate = self.estimate_prompt_tokens(with_next_message=False)
        reply = self.conversation.start_reply(request.model)
        updates = stream_reply(
            self.client(), request, reply, price_of=self.reply_price, estimated_prompt_tokens=estimate
        )
        if request.response_format and request.response_format.get("type") == "json_schema":
            updates = _checked_when_complete(updates, reply, request.response_format["json_schema"]["schema"])
        return self._recorded_when_done(updates, [reply])

    def stream_schema_run(self, result: StructuredResult) -> Iterator[StructuredResult]:
        """Stream a schema test run (see ``playground.schema_run.run_structured``); when it ends, its
        reply's usage is recorded: a test run is paid for like a chat turn."""
        from playground.schema_run import run_structured  # schema_run imports this module

        return self._recorded_when_done(
            run_structured(self.client(), result, price_of=self.reply_price), [result.reply]
        )

    def replay_turn(
        self,
        turn: RecordedTurn,
        *,
        resume: bool = False,
        clock: Clock | None = None,
        refresh_interval_s: float = DEFAULT_REFRESH_S,
    ) -> Iterator[Message]:
        """Play a recorded turn into the conversation at its recorded pace; nothing is sent or billed.

        ``resume``: the turn's user message is the conversation's last one (its live attempt failed):
        that attempt is dropped (its usage stays in the session's cost) and the recording follows.
        See ``playground.demo.replay_turn``.
        """
        from playground.demo.replay import replay_turn  # demos load when one plays, not with every page

        self.awaiting_reply = False
        self.record_usage()
        return replay_turn(self.conversation, turn, resume=resume, clock=clock, refresh_interval_s=refresh_interval_s)

    def set_progress_hook(self, hook: Callable[[], None] | None) -> None:
        """Call ``hook`` after every update of a streaming reply (chat and schema runs), so a reply
        that is streaming when the process dies can be found saved; None: no hook."""
        self._progress_hook = hook

    def _recorded_when_done(self, updates: Iterator[Update], replies: list[Message]) -> Iterator[Update]:
        try:
            for update in updates:
                yield update
                if self._progress_hook is not None:
                    self._progress_hook()
        finally:  # also when the consumer stops early: a stopped reply may carry usage
            self.record_usage(replies)

    def _tool_choice_payload(self) -> str | dict[str, Any] | None:
        if not self.tools or self.tool_choice == "auto":
            return None
        if self.tool_choice in ("none", "required"):
            return self.tool_choice
        return {"type": "function", "function": {"name": self.tool_choice}}

    # --- conversation actions (each leaves the conversation ready for the next reply) ----------
    def submit(self, text: str) -> Message:
        """Add the user's message, with the images attached so far, and ask for a reply."""
        if not text.strip() and not self.pending_images:
            raise PlaygroundError(ErrorKind.INVALID_INPUT, "Type a message (or attach an image) first.")
        self.check_variables(text)
        if waiting := unanswered_calls(self.conversation):
            names = ", ".join(sorted({call.name for call in waiting}))
            raise PlaygroundError(
                ErrorKind.INVALID_INPUT,
                f"The model is waiting for the output of {names}: send the tool output(s) first "
                "(or delete that reply). The API refuses a new message after unanswered tool calls.",
            )
        message = self.conversation.add_user(text, self.pending_images)
        self.pending_images = []
        self.awaiting_reply = True
        return message

    def retry(self) -> None:
        """Resend the last user turn, dropping the reply it got (Retry after an error, or Regenerate)."""
        self.record_usage()  # the dropped reply was paid for
        self.conversation.rewind_for_retry()
        self.awaiting_reply = self.conversation.ends_with_user_turn()

    def edit_and_resend(self, message_id: str, text: str) -> None:
        self.record_usage()
        self.conversation.edit_and_truncate(message_id, text)
        self.awaiting_reply = True

    def answer_tool_calls(self, outputs: dict[str, str]) -> None:
        """Record the outputs of the model's pending tool calls and ask for the next reply."""
        answer_calls(self.conversation, outputs)
        self.awaiting_reply = True

    def settle_interrupted(self) -> None:
        """Mark replies left streaming by an interrupted script run as stopped (their text is kept)."""
        self.conversation.settle_interrupted()

    def delete_message(self, message_id: str) -> None:
        self.record_usage()
        self.conversation.delete(message_id)

    def clear_chat(self) -> None:
        self.record_usage()
        self.conversation.clear()
        self.awaiting_reply = False

    # --- settings the panels edit -----------------------------------------------------------------
    def set_system_prompt(self, text: str) -> None:
        self.system_prompt = text

    def set_params(self, params: ChatParams) -> None:
        self.params = params

    def set_tools(self, tools: list[dict[str, Any]]) -> None:
        self.tools = list(tools)
        self._sync_loop_setup()

    def add_tool(self, tool: dict[str, Any], mock: ToolMock | None = None) -> None:
        """Add ``tool`` (replacing one of the same name); ``mock`` answers it unless it has one."""
        name = tool["function"]["name"]
        self.tools = [*(existing for existing in self.tools if existing["function"]["name"] != name), tool]
        self._sync_loop_setup()
        sandbox = self.tool_loop.setup.tool_named(name)
        if sandbox is not None and sandbox.mock is None:
            sandbox.mock = mock

    def clear_tools(self) -> None:
        self.tools = []
        self.tool_choice = "auto"
        self._sync_loop_setup()

    def set_tool_choice(self, choice: str) -> None:
        self.tool_choice = choice
        self._sync_loop_setup()

    def set_parallel_tool_calls(self, enabled: bool) -> None:
        self.parallel_tool_calls = enabled
        self._sync_loop_setup()

    def update_tool(
        self, name: str, *, new_name: str | None = None, description: str | None = None, strict: bool | None = None
    ) -> None:
        """Change a tool's name, description or ``strict`` flag; a rename carries its mock, code and
        scenario overrides along (and a tool_choice that forced it)."""
        function = dict(self._tool(name)["function"])
        if description is not None:
            function["description"] = description
        if strict is not None:
            if strict:
                function["strict"] = True
            else:
                function.pop("strict", None)
        renamed = new_name is not None and new_name != name
        if renamed:
            if not new_name:
                raise PlaygroundError(ErrorKind.INVALID_INPUT, "A tool needs a name.")
            if any(tool["function"]["name"] == new_name for tool in self.tools):
                raise PlaygroundError(ErrorKind.INVALID_INPUT, f"There is already a tool named {new_name!r}.")
            function["name"] = new_name
        self._replace_tool(name, {"type": "function", "function": function})
        if renamed and new_name is not None:
            for sandbox in self.tool_loop.setup.tools:
                if sandbox.name == name:
                    sandbox.tool = {"type": "function", "function": function}
            for scenario in self.tool_loop.scenarios:
                if name in scenario.mocks:
                    scenario.mocks[new_name] = scenario.mocks.pop(name)
            if self.tool_choice == name:
                self.tool_choice = new_name
        self._sync_loop_setup()

    def edit_tool_parameters(self, name: str, edit: Callable[[ResponseSchema], Edited]) -> Edited:
        """Run one schema-builder edit (a :class:`ResponseSchema` method) on a tool's ``parameters``.

        The builder edits a schema document; here the document is the tool's parameters, so the
        same field editor builds response schemas and tool parameters. A failed edit changes nothing.
        """
        function = self._tool(name)["function"]
        document = ResponseSchema(name=name, schema=function.get("parameters"), strict=bool(function.get("strict")))
        result = edit(document)
        self._replace_tool(name, {"type": "function", "function": {**function, "parameters": document.current()}})
        self._sync_loop_setup()
        return result

    def _tool(self, name: str) -> dict[str, Any]:
        for tool in self.tools:
            if tool["function"]["name"] == name:
                return tool
        raise PlaygroundError(ErrorKind.INVALID_INPUT, f"There is no tool named {name!r}.")

    def _replace_tool(self, name: str, tool: dict[str, Any]) -> None:
        self.tools = [tool if existing["function"]["name"] == name else existing for existing in self.tools]

    # --- the function-calling loop (the Functions panel) -----------------------------------------
    def _sync_loop_setup(self) -> None:
        """The loop runs exactly the tools and options the chat sends; mocks and code stay by name."""
        setup = self.tool_loop.setup
        kept = {sandbox.name: sandbox for sandbox in setup.tools}
        setup.tools = [
            SandboxTool(
                tool=tool,
                mock=kept[tool["function"]["name"]].mock if tool["function"]["name"] in kept else None,
                code=kept[tool["function"]["name"]].code if tool["function"]["name"] in kept else None,
            )
            for tool in self.tools
        ]
        setup.tool_choice = self._tool_choice_payload()
        setup.parallel_tool_calls = self.parallel_tool_calls

    def loop_setup(self) -> LoopSetup:
        """The setup a run uses: the saved one, with the parallel-calls flag the provider accepts."""
        setup = self.tool_loop.setup
        parallel = self.provider().parallel_tool_calls(self.tools, self.parallel_tool_calls)
        return setup.model_copy(update={"tool_choice": self._tool_choice_payload(), "parallel_tool_calls": parallel})

    def mock_output(self, name: str, arguments: str) -> str | None:
        """What ``name``'s mock answers ``arguments`` (JSON text) with; None when it has no mock or
        the mock cannot answer them (a typed result is needed then). Changes nothing."""
        sandbox = self.tool_loop.setup.tool_named(name)
        if sandbox is None or sandbox.mock is None:
            return None
        try:
            parsed = json.loads(arguments or "{}")
            return sandbox.mock.produce(parsed) if isinstance(parsed, dict) else None
        except (json.JSONDecodeError, MockError):
            return None

    def set_tool_mock(self, name: str, mock: ToolMock | None) -> None:
        """The mock that answers ``name``'s calls on auto-run (None: none)."""
        self._sandbox(name).mock = mock

    def set_tool_code(self, name: str, code: str | None) -> None:
        """The Python implementation of ``name`` (runs only where the server enables tool code)."""
        self._sandbox(name).code = code if code and code.strip() else None

    def _sandbox(self, name: str) -> SandboxTool:
        sandbox = self.tool_loop.setup.tool_named(name)
        if sandbox is None:
            raise PlaygroundError(ErrorKind.INVALID_INPUT, f"There is no tool named {name!r}.")
        return sandbox

    def set_loop_prompt(self, text: str) -> None:
        self.tool_loop.prompt = text

    def set_loop_options(self, *, max_steps: int | None = None, pause_before_each_step: bool | None = None) -> None:
        """The max-steps guard and whether the loop pauses before each step (to edit results)."""
        setup = self.tool_loop.setup
        if max_steps is not None:
            if max_steps < 1:
                raise PlaygroundError(ErrorKind.INVALID_INPUT, "Max steps must be at least 1.")
            setup.max_steps = max_steps
        if pause_before_each_step is not None:
            setup.pause_before_each_step = pause_before_each_step

    def _loop_messages(self) -> list[dict[str, Any]]:
        if not self.tool_loop.prompt.strip():
            raise PlaygroundError(ErrorKind.INVALID_INPUT, "Write the prompt the loop starts from first.")
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt.strip() else []
        return [*system, {"role": "user", "content": self.tool_loop.prompt}]

    def _loop_model(self, on_progress: Callable[[Message], None] | None) -> StreamingModel:
        ensure_valid(self.request_params(), self.model_spec())
        return StreamingModel(
            self.client(),
            self.connection.request_model,
            params=self.request_params(),
            price_of=self.reply_price,
            on_progress=on_progress,
            on_reply=lambda reply: self.record_usage([reply]),  # every step is paid for, like a chat turn
        )

    def start_tool_loop(self) -> Timeline:
        """A fresh run of the prompt (the last run's timeline is replaced)."""
        self.tool_loop.timeline = start_timeline(self._loop_messages())
        return self.tool_loop.timeline

    def run_tool_loop(
        self,
        cancel: CancelToken | None = None,
        *,
        on_update: Callable[[Timeline], None] | None = None,
        on_progress: Callable[[Message], None] | None = None,
    ) -> Timeline:
        """Advance the current run until it ends or needs the user (starting one if there is none).

        The timeline is the session's own, changed in place step by step: a script stopped by a
        click keeps every finished step. A stopped or failed last step is sent again.
        """
        timeline = self.tool_loop.timeline or self.start_tool_loop()
        model = self._loop_model(on_progress)
        discard_last_step(timeline)
        return run_loop(
            timeline, self.loop_setup(), model, cancel=cancel, isolation=detect_isolation(), on_update=on_update
        )

    def settle_tool_loop(self) -> None:
        """A run left RUNNING by an interrupted script (Stop) is STOPPED; its finished steps stay."""
        timeline = self.tool_loop.timeline
        if timeline is not None and timeline.status is LoopStatus.RUNNING:
            timeline.status = LoopStatus.STOPPED

    def set_tool_result(self, call_id: str, content: str) -> None:
        """Type or edit one call's result; steps after it are dropped, to be re-run from there."""
        if self.tool_loop.timeline is None:
            raise PlaygroundError(ErrorKind.INVALID_INPUT, "There is no run to edit: run the loop first.")
        set_result(self.tool_loop.timeline, call_id, content)

    def clear_tool_loop_run(self) -> None:
        self.tool_loop.timeline = None

    def add_fault_scenarios(self) -> None:
        """Add the standard scenarios (every tool errors / times out / returns nothing / a huge payload)."""
        standard = fault_scenarios([tool["function"]["name"] for tool in self.tools])
        names = {scenario.name for scenario in standard}
        self.tool_loop.scenarios = [s for s in self.tool_loop.scenarios if s.name not in names] + standard

    def set_scenario(self, scenario: MockScenario, replacing: str | None = None) -> None:
        """Save ``scenario`` (in place of the one named ``replacing``, or of its own name)."""
        replaced = replacing or scenario.name
        scenarios = self.tool_loop.scenarios
        if scenario.name != replaced and any(s.name == scenario.name for s in scenarios):
            raise PlaygroundError(ErrorKind.INVALID_INPUT, f"There is already a scenario named {scenario.name!r}.")
        position = next((index for index, s in enumerate(scenarios) if s.name == replaced), len(scenarios))
        self.tool_loop.scenarios = [*scenarios[:position], scenario, *scenarios[position + 1 :]]

    def remove_scenario(self, name: str) -> None:
        self.tool_loop.scenarios = [s for s in self.tool_loop.scenarios if s.name != name]

    def compare_scenarios(
        self,
        cancel: CancelToken | None = None,
        *,
        include_baseline: bool = True,
        on_progress: Callable[[Message], None] | None = None,
    ) -> None:
        """Run the prompt as saved and under every scenario; outcomes land in ``tool_loop.comparison``
        one by one as each run ends (a Stop keeps those done)."""
        messages = self._loop_messages()
        model = self._loop_model(on_progress)
        self.tool_loop.comparison = []
        run_scenarios(
            model,
            self.loop_setup(),
            messages,
            self.tool_loop.scenarios,
            include_baseline=include_baseline,
            cancel=cancel,
            isolation=detect_isolation(),
            on_outcome=self.tool_loop.comparison.append,
        )

    def set_schema_option(self, option: SchemaOption, value: str | bool) -> None:
        """Set the response schema's name (str), ``strict`` or ``enabled`` (bool)."""
        setattr(self.response_schema, option, value)

    def attach_image(self, image: ImageAttachment) -> None:
        """Queue ``image`` for the next message the user sends."""
        self.pending_images.append(image)

    def remove_pending_image(self, image_id: str) -> None:
        """Take an image off the next message (nothing happens if it is already gone)."""
        self.pending_images = [image for image in self.pending_images if image.id != image_id]

    # --- whole setups and sessions (the prompt library, session files) -----------------------------
    def restore_setup(self, setup: Workspace) -> None:
        """Take ``setup``'s prompt setup: system prompt, conversation, parameters, tools and their
        mocks, schema, and model (with the deployment). Where requests go, the key, the price tier
        and the images queued for the next message stay this session's; replies dropped from the
        conversation stay in its cost."""
        self.record_usage()
        model = {"model": setup.connection.model}
        if not self.connection.locked and setup.connection.provider == self.connection.provider:
            model["deployment"] = setup.connection.deployment
        self.connection = self.connection.model_copy(update=model)
        self.conversation = Conversation(list(setup.conversation.messages))
        self.system_prompt = setup.system_prompt
        self.params = setup.params.model_copy(deep=True)
        self.tools = [dict(tool) for tool in setup.tools]
        self.tool_choice = setup.tool_choice
        self.parallel_tool_calls = setup.parallel_tool_calls
        # The tools' mocks, code and scenarios come along; a run and a comparison are the source's own.
        self.tool_loop = setup.tool_loop.model_copy(deep=True, update={"timeline": None, "comparison": []})
        self._sync_loop_setup()
        self.response_schema = replace(setup.response_schema, schema=copy.deepcopy(setup.response_schema.schema))
        self.variables = dict(setup.variables)
        self.awaiting_reply = False

    def open_session(self, other: Workspace) -> None:
        """Become ``other`` (a session opened from a file): its connection choice, conversation,
        setup, queued images, prices and paid usage replace this session's. This session's client
        (and so what it learnt about its server) is rebuilt if the connection changed."""
        for name in _SESSION_FIELDS:
            setattr(self, name, getattr(other, name))
        self.awaiting_reply = False


#: What a saved session holds (see Workspace.open_session); the rest is this process's (client, caches).
_SESSION_FIELDS = (
    "connection",
    "conversation",
    "system_prompt",
    "params",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "tool_loop",
    "response_schema",
    "pending_images",
    "price_tier",
    "price_overrides",
    "usage_ledger",
    "compare_ledger",
    "run_ledger",
    "variables",
)


def _live_runs(run_ids: list[str]) -> dict[str, RunState]:
    """The live state of those of ``run_ids`` this process runs (or ran): memory only."""
    if not run_ids:
        return {}  # no run: the eval engine is not even imported
    from playground.evals.background import live_run

    return {run_id: handle.state for run_id in run_ids if (handle := live_run(run_id)) is not None}


_MARKUP = ("{{", "{%", "{#")


def _is_template(message: dict[str, Any]) -> bool:
    """A system or user message whose text holds template markup (replies are never templates)."""
    if message["role"] not in ("system", "user"):
        return False
    content = message["content"]
    texts = [content] if isinstance(content, str) else [part.get("text") or "" for part in content or []]
    return any(mark in text for text in texts for mark in _MARKUP)


def _templates(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [message for message in messages if _is_template(message)]


def _rendered(messages: list[dict[str, Any]], values: dict[str, str]) -> list[dict[str, Any]]:
    """``messages`` with the system and user templates rendered (Jinja's sandbox, strict: a missing
    variable raises PlaygroundError naming them all); a conversation without markup is returned as is."""
    positions = [index for index, message in enumerate(messages) if _is_template(message)]
    if not positions:
        return messages
    from playground.evals.variables import render_messages

    rendered = list(messages)
    for index, message in zip(positions, render_messages([messages[i] for i in positions], values), strict=True):
        rendered[index] = message
    return rendered


def _checked_when_complete(updates: Iterator[Message], reply: Message, schema: dict[str, Any]) -> Iterator[Message]:
    """Pass the stream through; once the reply is complete, check it against the schema it was
    asked to follow (once, so a rerun only reads the verdict)."""
    yield from updates
    if reply.status is Status.COMPLETE and not reply.refusal:
        with suppress(PlaygroundError):  # a schema the validator cannot use: no verdict
            reply.schema_check = validate_reply(schema, reply.content)
            yield reply
