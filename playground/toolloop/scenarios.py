"""Scenarios: named variants of the mocks, and running one prompt under each for a side-by-side view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from playground.toolloop.coderun import Isolation
from playground.toolloop.loop import CancelToken, LoopSetup, ModelEndpoint, run_loop, start_timeline
from playground.toolloop.mocks import FaultKind, FaultMock, ToolMock
from playground.toolloop.timeline import LoopStatus, Timeline

BASELINE = "As saved"
FAULT_NAMES: dict[FaultKind, str] = {
    "error": "Tool errors",
    "timeout": "Tool times out",
    "empty": "Tool returns nothing",
    "huge": "Tool returns a huge payload",
}


class MockScenario(BaseModel):
    """A named set of mock overrides (by tool name); tools not named keep their own mock or code."""

    name: str
    mocks: dict[str, ToolMock] = Field(default_factory=dict)


class ScenarioOutcome(BaseModel):
    """One column of the side-by-side view."""

    scenario: str
    status: LoopStatus
    final_answer: str | None
    step_count: int
    cost_usd: float | None
    timeline: Timeline


def fault_scenarios(tool_names: list[str]) -> list[MockScenario]:
    """The standard variants: every named tool errors / times out / returns nothing / returns a huge payload."""
    return [
        MockScenario(name=label, mocks={name: FaultMock(fault=fault) for name in tool_names})
        for fault, label in FAULT_NAMES.items()
    ]


def run_scenarios(
    model: ModelEndpoint,
    setup: LoopSetup,
    messages: list[dict[str, Any]],
    scenarios: list[MockScenario],
    *,
    include_baseline: bool = True,
    cancel: CancelToken | None = None,
    isolation: Isolation | None = None,
    on_outcome: Callable[[ScenarioOutcome], None] | None = None,
) -> list[ScenarioOutcome]:
    """Run the prompt once per scenario (auto-run, no pauses), plus once as saved if asked.

    A stopped run stops the remaining scenarios too; their outcomes are left out. ``on_outcome``
    gets each outcome as soon as its run ends (so an interrupted comparison keeps those done).
    """
    cancel = cancel or CancelToken()
    runs = ([MockScenario(name=BASELINE)] if include_baseline else []) + scenarios
    outcomes: list[ScenarioOutcome] = []
    for scenario in runs:
        if cancel.cancelled:
            break
        scenario_setup = setup.model_copy(
            update={"pause_before_each_step": False, "mock_overrides": {**setup.mock_overrides, **scenario.mocks}}
        )
        timeline = run_loop(
            start_timeline(messages, scenario=scenario.name), scenario_setup, model, cancel=cancel, isolation=isolation
        )
        outcome = ScenarioOutcome(
            scenario=scenario.name,
            status=timeline.status,
            final_answer=timeline.final_answer,
            step_count=timeline.step_count,
            cost_usd=timeline.total_cost_usd,
            timeline=timeline,
        )
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes
