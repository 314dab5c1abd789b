"""Runs that outlive the script run (and the browser tab) that started them.

Streamlit reruns the page on every click, so a run goes on a thread of its own. Its state is the
plain, serialisable :class:`RunState`: the thread writes it (``save``, throttled) as results come
in, the page reads it to draw progress, and a reload finds it again by id here (same process) or
in the database (after a restart: resume it, rows already answered are skipped).

A Batch API run (:func:`start_batch_run`) goes on a thread too: it submits one batch per variant,
polls them every ``poll_interval_s`` (or at once when the page asks: ``RunHandle.wake``), saves the
state on every status change, and collects and grades each batch as it completes. A resumed run
polls the batch ids its state already has; it never submits a variant twice.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from playground.errors import PlaygroundError
from playground.evals.batch import BatchApi, cancel_batch, collect_batch, poll_batch, submit_batch
from playground.evals.batch_status import BatchJob
from playground.evals.completion import Completer
from playground.evals.graders import Judge
from playground.evals.runs import RETRY_KINDS, Progress, RunState, run_evaluation

SAVE_EVERY_S = 1.0


@dataclass
class RunHandle:
    """A run going on in this process: its live state, the latest progress and its cancel switch."""

    state: RunState
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: Progress | None = None
    thread: threading.Thread | None = None
    error: str | None = None
    #: Set to make a batch run check its batches now instead of at the end of its poll interval.
    wake: threading.Event = field(default_factory=threading.Event)
    #: A batch run's last transient problem (a status check that failed and will be tried again).
    note: str | None = None
    #: When a batch run last heard from the provider (``time.time()``).
    checked_at: float | None = None

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


_RUNS: dict[str, RunHandle] = {}
_LOCK = threading.Lock()


def live_run(run_id: str) -> RunHandle | None:
    """The run ``run_id`` if this process is running it (or ran it since it started)."""
    with _LOCK:
        return _RUNS.get(run_id)


def _register(state: RunState, alongside: Collection[str] = ()) -> tuple[RunHandle, bool]:
    """(handle, True) for a new handle of ``state``; (its live handle, False) when it is running.

    Raises PlaygroundError when one of the runs ``alongside`` (by id: the session's others) is
    still going over the same test set with the same variants: a second click spends twice.
    """
    with _LOCK:
        existing = _RUNS.get(state.id)
        if existing is not None and existing.alive:
            return existing, False
        for run_id in alongside:
            other = _RUNS.get(run_id)
            if run_id != state.id and other is not None and other.alive and other.state.config.same_work(state.config):
                raise PlaygroundError.invalid_input(
                    "Not started: this test set is already running with these variants. "
                    "Wait for that run to end, or cancel it."
                )
        handle = RunHandle(state)
        _RUNS[state.id] = handle
        return handle, True


def start_run(
    state: RunState,
    completer: Completer,
    *,
    judge: Judge | None = None,
    save: Callable[[RunState], None] | None = None,
    save_every_s: float = SAVE_EVERY_S,
    alongside: Collection[str] = (),
) -> RunHandle:
    """Run ``state`` on a thread; ``save`` gets the state at most every ``save_every_s`` and at the end.

    Starting a run that is already going returns its handle (a double click starts nothing); one
    of the runs ``alongside`` (the session's, by id) still going over the same test set and
    variants refuses it (PlaygroundError).
    """
    handle, fresh = _register(state, alongside)
    if not fresh:
        return handle
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


def _snapshot(job: BatchJob) -> tuple[object, ...]:
    return job.status, job.total, job.completed, job.failed, job.output_file_id, job.error_file_id


def _pause(handle: RunHandle, seconds: float) -> None:
    """Sleep up to ``seconds``; back at once on cancel or wake (wake is consumed)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0 and not handle.cancel.is_set():
        if handle.wake.wait(min(left, 0.1)):
            break
    handle.wake.clear()


def _latest_jobs(state: RunState) -> list[BatchJob]:
    """Each variant's latest job (in variant order)."""
    latest = {job.variant_id: job for job in state.batches}
    return [latest[variant.id] for variant in state.config.variants if variant.id in latest]


@dataclass(frozen=True)
class BatchRoute:
    """Where one connection's batches go: its Files/Batches API, and whether it is Azure (whose batch
    lines name the deployment and use the ``/chat/completions`` URL)."""

    api: BatchApi
    azure: bool = False


def drive_batches(
    handle: RunHandle,
    api: BatchApi,
    *,
    azure: bool = False,
    routes: Mapping[str, BatchRoute] | None = None,
    judge: Judge | None = None,
    save: Callable[[RunState], None] | None = None,
    poll_interval_s: float = 30.0,
) -> RunState:
    """Submit a batch for each variant that has none, poll until every batch ends, collect the results.

    ``api`` / ``azure`` serve the variants on the default connection; ``routes`` those on other
    connections, by the variant's ``connection`` name (a batch goes where its variant's requests go).

    Runs on the caller's thread (:func:`start_batch_run` gives it one). ``save`` gets the state after
    each submission, status change and collection. ``handle.cancel`` cancels the batches at the
    provider (polling goes on until the provider confirms; rows it answered are kept). A status
    check that fails transiently is retried at the next interval (``handle.note`` says why); any
    other failure stops polling with the state left "running", so a resume checks again.
    """
    state = handle.state
    default = BatchRoute(api, azure)
    connection_of = {variant.id: variant.connection for variant in state.config.variants}

    def route(variant_id: str) -> BatchRoute:
        return (routes or {}).get(connection_of.get(variant_id, ""), default)

    def saved() -> None:
        if save is not None:
            save(state)

    state.status, state.stop_reason, state.finished_at = "running", None, None
    saved()
    submitted = {job.variant_id for job in state.batches}
    for variant in state.config.variants:
        if handle.cancel.is_set():
            break
        if variant.id in submitted:
            continue
        try:
            submit_batch(state, variant.id, route(variant.id).api, azure=route(variant.id).azure)
        except PlaygroundError as error:
            handle.cancel.set()  # half a run is not what was asked for: the batches already sent go too
            state.stop_reason = f"The batch for {variant.title} was not submitted: {error.message}"
            break
        saved()
    cancel_sent: set[str] = set()
    first = True
    while True:
        jobs = _latest_jobs(state)
        for job in jobs:
            if job.is_terminal and not job.collected and (job.output_file_id or job.error_file_id):
                collect_batch(state, job, route(job.variant_id).api, judge=judge)
                saved()
        waiting = [job for job in jobs if not job.is_terminal]
        if handle.cancel.is_set():
            for job in waiting:
                if job.batch_id not in cancel_sent:
                    cancel_sent.add(job.batch_id)
                    try:
                        cancel_batch(job, route(job.variant_id).api)
                    except PlaygroundError as error:
                        handle.note = f"Cancelling {job.batch_id} failed: {error.message} (tried again next check)."
                        cancel_sent.discard(job.batch_id)
                    saved()
            waiting = [job for job in waiting if not job.is_terminal]
        if not waiting:
            break
        if not first:
            _pause(handle, poll_interval_s)
            if handle.cancel.is_set() and any(job.batch_id not in cancel_sent for job in waiting):
                continue  # cancel first (at the top), then poll
        first = False
        for job in waiting:
            before = _snapshot(job)
            try:
                poll_batch(job, route(job.variant_id).api)
            except PlaygroundError as error:
                if error.kind not in RETRY_KINDS:
                    state.stop_reason = (
                        f"Checking the batches stopped: {error.message} They go on at the provider: "
                        "Check now tries again."
                    )
                    saved()
                    return state
                handle.note = f"The last status check failed ({error.message}); trying again."
                continue
            handle.note, handle.checked_at = None, time.time()
            if _snapshot(job) != before:
                saved()
    _finish(state, handle.cancel.is_set())
    saved()
    return state


def _finish(state: RunState, cancelled: bool) -> None:
    jobs = _latest_jobs(state)
    ended = [job for job in jobs if job.status != "completed"]
    state.finished_at = state.finished_at or dt.datetime.now(dt.UTC)
    if cancelled or any(job.status == "cancelled" for job in jobs):
        state.status = "cancelled"
        state.stop_reason = state.stop_reason or "Cancelled at the provider; rows it had answered are kept."
    elif ended:
        titles = {variant.id: variant.title for variant in state.config.variants}
        state.status = "cancelled"
        state.stop_reason = (
            "; ".join(
                f"The batch for {titles.get(job.variant_id, job.variant_id)} ended {job.status}"
                + ("" if job.collected else " without results")
                for job in ended
            )
            + "."
        )
    else:
        state.status = "completed"


def start_batch_run(
    state: RunState,
    api: BatchApi,
    *,
    azure: bool = False,
    routes: Mapping[str, BatchRoute] | None = None,
    judge: Judge | None = None,
    save: Callable[[RunState], None] | None = None,
    poll_interval_s: float = 30.0,
    alongside: Collection[str] = (),
) -> RunHandle:
    """:func:`drive_batches` on a thread; a run already going returns its handle (nothing resubmitted);
    a twin still going among ``alongside`` refuses it, as :func:`start_run` does."""
    handle, fresh = _register(state, alongside)
    if not fresh:
        return handle

    def work() -> None:
        try:
            drive_batches(
                handle, api, azure=azure, routes=routes, judge=judge, save=save, poll_interval_s=poll_interval_s
            )
        except Exception as error:  # the page must learn why, not see "running" forever
            handle.error = f"The batch run stopped on an unexpected error ({type(error).__name__}: {error})."
            state.stop_reason = handle.error
            if save is not None:
                save(state)

    handle.thread = threading.Thread(target=work, name=f"eval-batch-{state.id}", daemon=True)
    handle.thread.start()
    return handle
