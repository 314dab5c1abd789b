"""The cost and context meter's arithmetic, by job: what the next request carries (``breakdown``),
making room when it cannot fit (``room``), what the session used and cost (``usage``), where its
money went beyond the chat (``spend``), and
projections (``projection``). Price helpers are in :mod:`playground.costs`.

Everything here is pure Python (no Streamlit) and takes plain inputs (messages, tools, a model
spec, prices): nothing here reads or changes the Workspace, which calls these functions with its
own state. Figures the registry holds (windows, prices, token rules, image rules) are read from it,
never restated.
"""

from playground.meter.breakdown import (
    DRAFT_ID,
    FILL_FULL,
    FILL_NEAR,
    Breakdown,
    FillLevel,
    MessageCounter,
    MessageTokens,
    Part,
    PartKind,
    context_categories,
    prompt_breakdown,
)
from playground.meter.projection import (
    DAYS_PER_MONTH,
    NextRequestCost,
    Projection,
    growth_per_turn,
    next_request_cost,
    project,
    turns_left,
)
from playground.meter.room import STRATEGIES, FitVerdict, RoomPlan, RoomStrategy, fit_verdict, plan_room
from playground.meter.spend import PaidCost, RunCost, SessionSpend, total_cost
from playground.meter.usage import (
    CSV_COLUMNS,
    EstimateAccuracy,
    ReplyCoster,
    TurnUsage,
    paid_cost,
    paid_replies,
    replies_with_usage,
    running_accuracy,
    session_cost,
    usage_csv,
    usage_rows,
)

__all__ = [
    "CSV_COLUMNS",
    "DAYS_PER_MONTH",
    "DRAFT_ID",
    "FILL_FULL",
    "FILL_NEAR",
    "STRATEGIES",
    "Breakdown",
    "EstimateAccuracy",
    "FillLevel",
    "FitVerdict",
    "MessageCounter",
    "MessageTokens",
    "NextRequestCost",
    "PaidCost",
    "Part",
    "PartKind",
    "Projection",
    "ReplyCoster",
    "RoomPlan",
    "RoomStrategy",
    "RunCost",
    "SessionSpend",
    "TurnUsage",
    "context_categories",
    "fit_verdict",
    "growth_per_turn",
    "next_request_cost",
    "paid_cost",
    "paid_replies",
    "plan_room",
    "project",
    "prompt_breakdown",
    "replies_with_usage",
    "running_accuracy",
    "session_cost",
    "total_cost",
    "turns_left",
    "usage_csv",
    "usage_rows",
]
