"""The cost and context meter's arithmetic: how full the next request is, what the session cost."""

from __future__ import annotations

from dataclasses import dataclass

from playground.workspace import Workspace


@dataclass(frozen=True)
class ContextUsage:
    prompt_tokens: int
    reserved_output: int
    window: int

    @property
    def used(self) -> int:
        return self.prompt_tokens + self.reserved_output

    @property
    def fraction(self) -> float:
        return self.used / self.window if self.window else 1.0

    @property
    def fits(self) -> bool:
        return self.used <= self.window


def context_usage(workspace: Workspace, draft: str = "") -> ContextUsage:
    """Tokens the next request would carry, with the reply's maximum length reserved."""
    spec = workspace.model_spec()
    reserved = workspace.params.max_completion_tokens or spec.max_output_tokens
    return ContextUsage(workspace.estimate_prompt_tokens(draft), reserved, spec.context_window)


def session_cost(workspace: Workspace) -> float:
    """USD spent so far: the sum of every reply's cost (from the API's usage)."""
    return sum(
        message.stats.cost_usd
        for message in workspace.conversation.messages
        if message.stats is not None and message.stats.cost_usd is not None
    )
