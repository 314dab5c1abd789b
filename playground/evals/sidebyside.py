"""Side by side: one input to 2-4 variants at once, each column streaming; a word diff of two outputs."""

from __future__ import annotations

import difflib
import queue
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from playground.errors import ErrorKind, PlaygroundError
from playground.evals.completion import ClientCompleter, Completion, StoppedError, collect
from playground.evals.variants import Variant
from playground.meter.spend import PaidCost

MIN_COLUMNS, MAX_COLUMNS = 2, 4
DEFAULT_REFRESH_S = 0.05


@dataclass(frozen=True)
class ColumnUpdate:
    """The state of one column. ``done`` once, last, with ``completion`` (or ``error``) and cost."""

    column: int
    variant_id: str
    text: str
    done: bool = False
    completion: Completion | None = None
    cost_usd: float | None = None
    cost_is_estimate: bool = False
    error: PlaygroundError | None = None

    def paid(self) -> PaidCost | None:
        """What this column's reply cost, once its stream has ended with the API's usage (None:
        still streaming, or no reply to pay for: an error, a stop)."""
        if not self.done or self.completion is None:
            return None
        return PaidCost.of(self.cost_usd, estimated=self.cost_is_estimate)


def stream_side_by_side(
    variants: Sequence[Variant],
    values: Mapping[str, Any],
    completer: ClientCompleter,
    *,
    refresh_interval_s: float = DEFAULT_REFRESH_S,
) -> Iterator[ColumnUpdate]:
    """Send ``values`` rendered into each variant, all in parallel, yielding column updates.

    Each column yields at most once per ``refresh_interval_s`` while streaming and once when done
    (``done``: with the completion and its cost, or the error and the partial text).
    Every request is rendered before any is sent (a missing variable raises PlaygroundError and
    sends nothing). Stopping the iteration stops every column's stream.
    """
    if not MIN_COLUMNS <= len(variants) <= MAX_COLUMNS:
        raise PlaygroundError.invalid_input(f"Compare {MIN_COLUMNS} to {MAX_COLUMNS} variants (got {len(variants)}).")
    requests = [variant.build_request(values) for variant in variants]
    clients = [completer.client_for(variant) for variant in variants]
    updates: queue.Queue[ColumnUpdate] = queue.Queue()
    stop = threading.Event()

    def run(column: int, variant: Variant) -> None:
        latest = ""

        def on_text(text: str) -> None:
            nonlocal latest
            latest = text
            updates.put(ColumnUpdate(column, variant.id, text))

        try:
            completion = collect(
                clients[column],
                requests[column],
                on_text=on_text,
                refresh_interval_s=refresh_interval_s,
                should_stop=stop.is_set,
            )
        except StoppedError:
            updates.put(ColumnUpdate(column, variant.id, latest, done=True))
            return
        except PlaygroundError as error:  # the partial text is kept beside the error
            updates.put(ColumnUpdate(column, variant.id, latest, done=True, error=error))
            return
        except Exception as error:  # a bug must end its column, not hang the others
            wrapped = PlaygroundError(ErrorKind.SERVER, f"Unexpected error ({type(error).__name__}).")
            updates.put(ColumnUpdate(column, variant.id, latest, done=True, error=wrapped))
            return
        cost, estimate = variant.cost(
            completion.prompt_tokens,
            completion.completion_tokens,
            completion.cached_tokens,
            served_model=completion.served_model,
        )
        updates.put(
            ColumnUpdate(
                column,
                variant.id,
                completion.text,
                done=True,
                completion=completion,
                cost_usd=cost,
                cost_is_estimate=estimate,
            )
        )

    threads = [
        threading.Thread(target=run, args=(column, variant), name=f"compare-{column}", daemon=True)
        for column, variant in enumerate(variants)
    ]
    for thread in threads:
        thread.start()
    remaining = len(threads)
    try:
        while remaining:
            update = updates.get()
            remaining -= update.done
            yield update
    finally:
        stop.set()


DiffOp = Literal["equal", "insert", "delete", "replace"]


@dataclass(frozen=True)
class DiffChunk:
    """A run of words: ``before`` from the first output, ``after`` from the second."""

    op: DiffOp
    before: str
    after: str


_TOKEN = re.compile(r"\s+|[^\s]+")


def word_diff(before: str, after: str) -> list[DiffChunk]:
    """The word-level difference between two outputs (whitespace kept, so chunks rejoin exactly)."""
    old, new = _TOKEN.findall(before), _TOKEN.findall(after)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [DiffChunk(op, "".join(old[i1:i2]), "".join(new[j1:j2])) for op, i1, i2, j1, j2 in matcher.get_opcodes()]
