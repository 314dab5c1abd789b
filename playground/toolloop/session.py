"""What the Functions panel saves: its prompt, tools and options, scenarios, the last run and comparison."""

from __future__ import annotations

from pydantic import BaseModel, Field

from playground.toolloop.loop import LoopSetup
from playground.toolloop.scenarios import MockScenario, ScenarioOutcome
from playground.toolloop.timeline import Timeline


class ToolLoopSession(BaseModel):
    """The panel's whole state, JSON-serialisable for the saved session and the prompt library."""

    prompt: str = ""  # the user message every run (and every scenario) starts from
    setup: LoopSetup = Field(default_factory=lambda: LoopSetup(tools=[]))
    scenarios: list[MockScenario] = Field(default_factory=list)
    timeline: Timeline | None = None
    comparison: list[ScenarioOutcome] = Field(default_factory=list)
