"""Planning a run on the Batch API: the operator's settings (from how many requests a run goes there
by default, how often a batch is polled), the engine a run of a given size gets, and what the batch
tier is expected to save before anything is sent.

Settings come from the environment or ``[batch]`` in the server's secrets (secrets first):
``PLAYGROUND_BATCH_THRESHOLD`` / ``threshold`` (requests = rows x variants, default 1,000) and
``PLAYGROUND_BATCH_POLL_SECONDS`` / ``poll_seconds`` (default 30).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from playground.errors import PlaygroundError
from playground.evals.testsets import TestSet
from playground.evals.variants import Variant
from playground.tokens import count_chat_tokens

Engine = Literal["live", "batch"]
THRESHOLD_VARIABLE = "PLAYGROUND_BATCH_THRESHOLD"
POLL_VARIABLE = "PLAYGROUND_BATCH_POLL_SECONDS"
SECRETS_SECTION = "batch"
#: Rows counted for the estimate; a bigger test set is sampled evenly and scaled up.
ESTIMATE_SAMPLE_ROWS = 100


class BatchSettings(BaseModel):
    """The operator's Batch API settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: A run of at least this many requests (rows x variants) goes to the Batch API by default.
    threshold: int = Field(default=1_000, ge=1)
    #: Seconds between two status checks of a batch.
    poll_interval_s: float = Field(default=30.0, gt=0, le=3_600)

    def engine_for(self, requests: int) -> Engine:
        """The engine a run of ``requests`` requests gets unless the user picks one."""
        return "batch" if requests >= self.threshold else "live"


def load_batch_settings(env: Mapping[str, str], secrets: Mapping[str, Any] | None = None) -> BatchSettings:
    """The settings from ``[batch]`` in secrets, else the environment, else the defaults.

    Raises PlaygroundError naming the setting when a value is not valid (the caller may fall back
    to ``BatchSettings()`` and show the message).
    """
    table = (secrets or {}).get(SECRETS_SECTION)
    table = table if isinstance(table, Mapping) else {}
    values: dict[str, Any] = {}
    for field, key, variable in (
        ("threshold", "threshold", THRESHOLD_VARIABLE),
        ("poll_interval_s", "poll_seconds", POLL_VARIABLE),
    ):
        raw = table.get(key, env.get(variable))
        if raw is not None and str(raw).strip():
            values[field] = str(raw).strip()
    try:
        return BatchSettings.model_validate(values)
    except ValidationError as error:
        problem = error.errors()[0]
        name = {"threshold": THRESHOLD_VARIABLE, "poll_interval_s": POLL_VARIABLE}[str(problem["loc"][0])]
        raise PlaygroundError.invalid_input(
            f"{name} = {problem['input']!r} is not valid ({problem['msg']}); the default is used."
        ) from None


@dataclass(frozen=True)
class BatchSaving:
    """The input side of a run at live and at batch prices (output tokens are not known before)."""

    requests: int
    prompt_tokens: int
    live_input_usd: float
    batch_input_usd: float
    #: True when rows were sampled (the figures are scaled up from the sample).
    sampled: bool
    #: Variants with no live or batch price (left out of the figures).
    unpriced: tuple[str, ...] = ()

    @property
    def saving_usd(self) -> float:
        return self.live_input_usd - self.batch_input_usd

    @property
    def saving_fraction(self) -> float | None:
        return self.saving_usd / self.live_input_usd if self.live_input_usd else None


def _sample(rows: Sequence[Any], size: int) -> list[Any]:
    if len(rows) <= size:
        return list(rows)
    step = len(rows) / size
    return [rows[int(index * step)] for index in range(size)]


def estimate_batch_saving(
    test_set: TestSet, variants: Sequence[Variant], *, sample_rows: int = ESTIMATE_SAMPLE_ROWS
) -> BatchSaving | None:
    """What the run's prompts cost at live and at batch prices (tokenizer counts; at most
    ``sample_rows`` rows are counted and scaled up). None when no variant has both prices or the
    test set is empty. Rows missing a variable are left out of the count.
    """
    rows = test_set.rows
    if not rows or not variants:
        return None
    sample = _sample(rows, sample_rows)
    scale = len(rows) / len(sample)
    tokens = live = batch = 0.0
    unpriced = []
    for variant in variants:
        live_price, _ = variant.price()
        batch_price, _ = variant.price(batch=True)
        if live_price is None or batch_price is None:
            unpriced.append(variant.title)
            continue
        counted = 0
        for row in sample:
            try:
                request = variant.build_request(row.variables)
            except PlaygroundError:
                continue
            counted += count_chat_tokens(request.messages, model=variant.spec().id)
        variant_tokens = counted * scale
        tokens += variant_tokens
        live += variant_tokens * live_price.input / 1e6
        batch += variant_tokens * batch_price.input / 1e6
    if len(unpriced) == len(variants):
        return None
    return BatchSaving(
        requests=len(rows) * len(variants),
        prompt_tokens=round(tokens),
        live_input_usd=live,
        batch_input_usd=batch,
        sampled=len(sample) < len(rows),
        unpriced=tuple(unpriced),
    )
