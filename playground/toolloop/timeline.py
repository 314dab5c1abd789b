"""The trace of one function-calling loop: steps (model requests), their calls and results.

Everything is pydantic and JSON-serialisable: the store saves it with the session and the panel
exports it (:meth:`Timeline.to_json`). ``Timeline.request_messages`` rebuilds what the next
request sends, so the trace is the single source of truth for the loop's state.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class ResultSource(StrEnum):
    TYPED = "typed"  # entered (or edited) by the user
    MOCK = "mock"
    CODE = "code"


class CallVerdict(BaseModel):
    """Whether the call's arguments parse and match the tool's parameters schema."""

    valid: bool
    errors: list[str] = Field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.valid:
            return "Arguments are valid against the tool's schema."
        return "Invalid arguments: " + "; ".join(self.errors)


class ToolResult(BaseModel):
    """The answer sent back for one call. ``ok`` is False for a tool failure (still sent)."""

    content: str
    source: ResultSource
    duration_s: float = 0.0
    ok: bool = True
    detail: str | None = None  # e.g. the code runner's status and isolation, or the mock kind


class CallRecord(BaseModel):
    """One tool call of an assistant turn, its verdict and (once answered) its result."""

    id: str
    name: str
    arguments: str
    verdict: CallVerdict
    result: ToolResult | None = None
    # Why no result could be produced automatically (no mock, a broken mock, code switched off...).
    problem: str | None = None

    @property
    def parsed_arguments(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.arguments or "{}")
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    @property
    def pretty_arguments(self) -> str:
        parsed = self.parsed_arguments
        return json.dumps(parsed, indent=2, ensure_ascii=False) if parsed is not None else self.arguments


class StepStats(BaseModel):
    """What one model request cost and how it went."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0
    cost_usd: float | None = None
    latency_s: float | None = None
    time_to_first_token_s: float | None = None
    finish_reason: str | None = None
    request_id: str | None = None
    served_model: str | None = None


class Step(BaseModel):
    """One model request and the assistant turn it produced."""

    number: int
    content: str = ""
    refusal: str | None = None
    calls: list[CallRecord] = Field(default_factory=list)
    stats: StepStats = Field(default_factory=StepStats)
    error: str | None = None
    stopped: bool = False

    def assistant_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.calls:
            message["tool_calls"] = [
                {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
                for call in self.calls
            ]
        elif not self.content:
            message["content"] = ""
        return message


class LoopStatus(StrEnum):
    READY = "ready"  # nothing sent yet
    RUNNING = "running"
    PAUSED = "paused"  # results are ready (and editable); the next request waits for a resume
    NEEDS_INPUT = "needs_input"  # some call has no automatic answer: type it, then resume
    FINISHED = "finished"  # the model gave a final answer
    STOPPED = "stopped"  # the stop control (or a stopped stream)
    MAX_STEPS = "max_steps"  # the guard ended it with calls still pending
    FAILED = "failed"  # a request failed; see the last step's error


class Timeline(BaseModel):
    """A whole loop: the messages it started from and every step since."""

    messages: list[dict[str, Any]]
    steps: list[Step] = Field(default_factory=list)
    status: LoopStatus = LoopStatus.READY
    final_answer: str | None = None
    scenario: str | None = None

    def request_messages(self) -> list[dict[str, Any]]:
        """What the next request sends: the start, then each turn and its results by tool_call_id."""
        messages = [dict(message) for message in self.messages]
        for step in self.steps:
            messages.append(step.assistant_message())
            messages += [
                {"role": "tool", "tool_call_id": call.id, "content": call.result.content}
                for call in step.calls
                if call.result is not None
            ]
        return messages

    def pending_calls(self) -> list[CallRecord]:
        """Calls of the last step that have no result yet."""
        return [call for call in self.steps[-1].calls if call.result is None] if self.steps else []

    def find_call(self, call_id: str) -> tuple[int, CallRecord]:
        for index, step in enumerate(self.steps):
            for call in step.calls:
                if call.id == call_id:
                    return index, call
        raise KeyError(call_id)

    @property
    def step_count(self) -> int:
        return len(self.steps)

    @property
    def total_cost_usd(self) -> float | None:
        """The loop's cost, or None when some step's price is unknown."""
        costs = [step.stats.cost_usd for step in self.steps]
        return None if any(cost is None for cost in costs) else sum(cost for cost in costs if cost is not None)

    @property
    def total_tokens(self) -> int:
        return sum((step.stats.prompt_tokens or 0) + (step.stats.completion_tokens or 0) for step in self.steps)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> Timeline:
        return cls.model_validate_json(text)
