"""The function-calling loop: model → calls answered (code, mock or typed) → model, to a final answer.

The loop is written against :class:`ModelEndpoint` ("send this request, give me the assistant
turn"), so the real client (:class:`~playground.toolloop.client_model.StreamingModel`) and test
doubles drive it alike. Its whole state is the :class:`~playground.toolloop.timeline.Timeline`:
:func:`run_loop` advances it until a final answer, a pause, a call that needs a typed answer, the
max-steps guard, the stop control or an error, and can be called again to continue from there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, Field

from playground.errors import ErrorKind, PlaygroundError
from playground.toolloop.coderun import CodeLimits, Isolation, detect_isolation, run_tool_code
from playground.toolloop.mocks import MockError, ToolMock
from playground.toolloop.timeline import (
    CallRecord,
    CallVerdict,
    LoopStatus,
    ResultSource,
    Step,
    StepStats,
    Timeline,
    ToolResult,
)
from playground.tools import argument_errors

DEFAULT_MAX_STEPS = 8
MAX_PARALLEL_CODE_CALLS = 4


class SandboxTool(BaseModel):
    """A tool (Chat Completions format) with what answers it: an optional mock and Python code."""

    tool: dict[str, Any]
    mock: ToolMock | None = None
    code: str | None = None

    @property
    def name(self) -> str:
        return str(self.tool["function"]["name"])


class LoopSetup(BaseModel):
    """How the loop runs. ``mock_overrides`` (by tool name) win over code and mocks: scenarios."""

    tools: list[SandboxTool]
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    max_steps: int = Field(default=DEFAULT_MAX_STEPS, ge=1)
    # A forced tool_choice ("required" or a named function) sent on every step would make the model
    # call tools forever; like agent SDKs, send it on the first step only and "auto" after that.
    reset_tool_choice: bool = True
    pause_before_each_step: bool = False
    mock_overrides: dict[str, ToolMock] = Field(default_factory=dict)
    code_limits: CodeLimits = Field(default_factory=CodeLimits)

    def tool_choice_for(self, step_number: int) -> str | dict[str, Any] | None:
        """The ``tool_choice`` to send on step ``step_number`` (1-based)."""
        forced = self.tool_choice not in (None, "auto", "none")
        return "auto" if forced and self.reset_tool_choice and step_number > 1 else self.tool_choice

    def tool_named(self, name: str) -> SandboxTool | None:
        return next((tool for tool in self.tools if tool.name == name), None)


@dataclass(frozen=True)
class StepRequest:
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None


@dataclass(frozen=True)
class ModelCall:
    id: str
    name: str
    arguments: str


@dataclass
class AssistantReply:
    """The assistant turn a request produced. ``error`` (a sentence) or ``stopped`` end the loop."""

    content: str = ""
    refusal: str | None = None
    tool_calls: list[ModelCall] = field(default_factory=list)
    stats: StepStats = field(default_factory=StepStats)
    error: str | None = None
    stopped: bool = False


class CancelToken:
    """The stop control: set from anywhere; the loop checks it between steps and while streaming."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class ModelEndpoint(Protocol):
    def complete(self, request: StepRequest, cancel: CancelToken) -> AssistantReply:
        """Send ``request``; return the assistant turn (stopping early, ``stopped=True``, once cancelled)."""
        ...


def validate_call(tool: SandboxTool | None, arguments: str) -> CallVerdict:
    """The call's arguments against its tool's parameters schema; errors name the field path."""
    errors = argument_errors(tool.tool if tool is not None else None, arguments)
    return CallVerdict(valid=not errors, errors=errors)


def _record(call: ModelCall, setup: LoopSetup) -> CallRecord:
    return CallRecord(
        id=call.id,
        name=call.name,
        arguments=call.arguments,
        verdict=validate_call(setup.tool_named(call.name), call.arguments),
    )


def answer_automatically(call: CallRecord, setup: LoopSetup, isolation: Isolation | None = None) -> None:
    """Fill ``call.result`` from a scenario override, the tool's code (if enabled) or its mock.

    Leaves the result empty and says why in ``call.problem`` when none of them can answer.
    """
    tool = setup.tool_named(call.name)
    arguments = call.parsed_arguments
    if tool is None:
        call.problem = f"The model called '{call.name}', which is not defined: type the result."
        return
    if arguments is None:
        call.problem = "The arguments are not a JSON object, so no mock or code can answer: type the result."
        return
    mock = setup.mock_overrides.get(call.name)
    mode = isolation or detect_isolation()
    if mock is None and tool.code and mode is not Isolation.DISABLED:
        outcome = run_tool_code(tool.code, arguments, setup.code_limits, isolation=mode)
        call.result = ToolResult(
            content=outcome.content,
            source=ResultSource.CODE,
            duration_s=outcome.duration_s,
            ok=outcome.ok,
            detail=f"{outcome.status.value}; {outcome.isolation.sentence}",
        )
        call.problem = None
        return
    mock = mock or tool.mock
    if mock is None:
        call.problem = (
            "No mock is saved for this tool"
            + (" and Python tools are off on this server" if tool.code else "")
            + ": type the result."
        )
        return
    started = time.perf_counter()
    try:
        content = mock.produce(arguments)
    except MockError as error:
        call.problem = f"The mock could not answer: {error}"
        return
    ok = not (mock.kind == "fault" and mock.fault in ("error", "timeout"))
    call.result = ToolResult(
        content=content, source=ResultSource.MOCK, duration_s=time.perf_counter() - started, ok=ok, detail=mock.kind
    )
    call.problem = None


def answer_together(calls: list[CallRecord], setup: LoopSetup, isolation: Isolation | None = None) -> None:
    """Answer one turn's parallel calls at once: code calls run side by side (each its own process,
    bounded by its wall clock), so a turn takes as long as its slowest call, not their sum."""
    if len(calls) < 2:
        for call in calls:
            answer_automatically(call, setup, isolation)
        return
    with ThreadPoolExecutor(max_workers=min(len(calls), MAX_PARALLEL_CODE_CALLS)) as pool:
        list(pool.map(lambda call: answer_automatically(call, setup, isolation), calls))


def start_timeline(messages: list[dict[str, Any]], scenario: str | None = None) -> Timeline:
    """A fresh timeline for a prompt (the API-format messages: system prompt, user turn, ...)."""
    if not messages:
        raise PlaygroundError(ErrorKind.INVALID_INPUT, "Write a prompt first: the loop needs at least one message.")
    return Timeline(messages=[dict(message) for message in messages], scenario=scenario)


def set_result(timeline: Timeline, call_id: str, content: str) -> None:
    """Type (or edit) the result of a call. Editing an earlier step drops the steps after it, so
    the next :func:`run_loop` re-runs from there; the loop then waits as PAUSED (ready to send)."""
    try:
        index, call = timeline.find_call(call_id)
    except KeyError:
        raise PlaygroundError(ErrorKind.INVALID_INPUT, f"There is no call {call_id} in this run.") from None
    call.result = ToolResult(content=content, source=ResultSource.TYPED)
    call.problem = None
    del timeline.steps[index + 1 :]
    timeline.final_answer = None
    pending = timeline.pending_calls()
    timeline.status = LoopStatus.NEEDS_INPUT if pending else LoopStatus.PAUSED


def discard_last_step(timeline: Timeline) -> None:
    """Drop a stopped or failed last step so the next :func:`run_loop` sends that request again."""
    if timeline.steps and (timeline.steps[-1].stopped or timeline.steps[-1].error is not None):
        timeline.steps.pop()
        timeline.status = LoopStatus.PAUSED if timeline.steps else LoopStatus.READY


def run_loop(
    timeline: Timeline,
    setup: LoopSetup,
    model: ModelEndpoint,
    *,
    cancel: CancelToken | None = None,
    isolation: Isolation | None = None,
    on_update: Callable[[Timeline], None] | None = None,
) -> Timeline:
    """Advance ``timeline`` (in place, also returned) until it needs the user or ends.

    Resuming a PAUSED or NEEDS_INPUT timeline sends the pending results without pausing again
    first. ``on_update`` is called after every step and every batch of answers (to redraw).
    """
    cancel = cancel or CancelToken()
    resuming = timeline.status in (LoopStatus.PAUSED, LoopStatus.NEEDS_INPUT)
    if timeline.status is LoopStatus.FINISHED:
        return timeline

    def settle(status: LoopStatus) -> Timeline:
        timeline.status = status
        if on_update is not None:
            on_update(timeline)
        return timeline

    while True:
        if cancel.cancelled:
            return settle(LoopStatus.STOPPED)
        last = timeline.steps[-1] if timeline.steps else None
        if last is not None:
            if last.error is not None:
                return settle(LoopStatus.FAILED)
            if last.stopped:
                return settle(LoopStatus.STOPPED)
            if not last.calls:
                timeline.final_answer = last.content or last.refusal or ""
                return settle(LoopStatus.FINISHED)
            answer_together(timeline.pending_calls(), setup, isolation)
            if on_update is not None:
                on_update(timeline)
            if timeline.pending_calls():
                return settle(LoopStatus.NEEDS_INPUT)
            if setup.pause_before_each_step and not resuming:
                return settle(LoopStatus.PAUSED)
        resuming = False
        if len(timeline.steps) >= setup.max_steps:
            return settle(LoopStatus.MAX_STEPS)
        if cancel.cancelled:
            return settle(LoopStatus.STOPPED)
        timeline.status = LoopStatus.RUNNING
        request = StepRequest(
            messages=timeline.request_messages(),
            tools=[tool.tool for tool in setup.tools],
            tool_choice=setup.tool_choice_for(len(timeline.steps) + 1),
            parallel_tool_calls=setup.parallel_tool_calls,
        )
        reply = model.complete(request, cancel)
        timeline.steps.append(
            Step(
                number=len(timeline.steps) + 1,
                content=reply.content,
                refusal=reply.refusal,
                calls=[_record(call, setup) for call in reply.tool_calls],
                stats=reply.stats,
                error=reply.error,
                stopped=reply.stopped,
            )
        )
        if on_update is not None:
            on_update(timeline)
