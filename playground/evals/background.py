"""Runs that outlive the script run (and the browser tab) that started them.

Streamlit reruns the page on every click, so a run goes on a thread of its own. Its state is the
plain, serialisable :class:`RunState`: the thread writes it (``save``, throttled) as results come
in, the page reads it to draw progress, and a reload finds it again by id here (same process) or
in the database (after a restart: resume it, rows already answered are skipped).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from playground.evals.completion import Completer
from playground.evals.graders import Judge
from playground.evals.runs import Progress, RunState, run_evaluation

SAVE_EVERY_S = 1.0


@dataclass
class RunHandle:
    """A run going on in this process: its live state, the latest progress and its cancel switch."""

    state: RunState
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: Progress | None = None
    thread: threading.Thread | None = None
    error: str | None = None

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


_RUNS: dict[str, RunHandle] = {}
_LOCK = threading.Lock()


def live_run(run_id: str) -> RunHandle | None:
    """The run ``run_id`` if this process is running it (or ran it since it started)."""
    with _LOCK:
        return _RUNS.get(run_id)


def start_run(
    state: RunState,
    completer: Completer,
    *,
    judge: Judge | None = None,
    save: Callable[[RunState], None] | None = None,
    save_every_s: float = SAVE_EVERY_S,
) -> RunHandle:
    """Run ``state`` on a thread; ``save`` gets the state at most every ``save_every_s`` and at the end.

    Starting a run that is already going returns its handle (a double click starts nothing).
    """
    with _LOCK:
        existing = _RUNS.get(state.id)
        if existing is not None and existing.alive:
            return existing
        handle = RunHandle(state)
        _RUNS[state.id] = handle
    last_save = 0.0

    def on_progress(progress: Progress) -> None:
        nonlocal last_save
        handle.progress = progress
        if save is not None and (now := time.monotonic()) - last_save >= save_every_s:
            last_save = now
            save(state)

    def work() -> None:
        try:
            run_evaluation(state, completer, judge=judge, on_progress=on_progress, cancel=handle.cancel)
        except Exception as error:  # the page must learn why, not see "running" forever
            handle.error = f"The run stopped on an unexpected error ({type(error).__name__}: {error})."
            state.status, state.stop_reason = "cancelled", handle.error
        if save is not None:
            save(state)

    if save is not None:
        save(state)
    handle.thread = threading.Thread(target=work, name=f"eval-run-{state.id}", daemon=True)
    handle.thread.start()
    return handle
