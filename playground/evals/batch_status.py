"""A Batch API job's status as stored with its run (serialisable, so it survives a restart)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

BatchStatusName = Literal[
    "validating", "in_progress", "finalizing", "completed", "failed", "expired", "cancelling", "cancelled"
]
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


class BatchJob(BaseModel):
    """One variant's batch, as the provider last reported it."""

    batch_id: str
    variant_id: str
    input_file_id: str
    status: BatchStatusName = "validating"
    total: int = 0
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    #: True once the results are downloaded and graded into the run.
    collected: bool = False
    created_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL
