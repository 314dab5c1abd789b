"""Test-set runs on the provider's Batch API, in the Compare panel: the engine choice (automatic
above the operator's threshold, or the user's), the saving expected before a run, the runner's launch,
and each variant's batch status while it goes (Cancel, Check now; found again after a reload or a
restart, from the database). The work itself is :func:`playground.evals.background.start_batch_run`.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping

import streamlit as st

from components import format as fmt
from components.state import server_secrets, widget_value
from playground.client import PlaygroundClient
from playground.errors import PlaygroundError
from playground.evals import ClientJudge, RunState, SdkBatchApi, TestSet, Variant
from playground.evals.background import BatchRoute, RunHandle, start_batch_run
from playground.evals.batch_plan import BatchSaving, BatchSettings, Engine, estimate_batch_saving, load_batch_settings
from playground.evals.batch_status import BatchJob
from playground.workspace import Workspace

ENGINE_KEY = "compare.engine"
ENGINES = {
    "auto": "Automatic",
    "live": "Live requests",
    "batch": "Batch API",
}
BATCH_MARK = "Ran through the Batch API: priced at the batch tier (50 % off)."
_STATUS_WORDS = {
    "validating": "validating",
    "in_progress": "in progress",
    "finalizing": "finalizing",
    "completed": "completed",
    "failed": "failed",
    "expired": "expired (not done within 24 h)",
    "cancelling": "cancelling",
    "cancelled": "cancelled",
}


def batch_settings() -> tuple[BatchSettings, str | None]:
    """The operator's settings (environment, ``[batch]`` in secrets); a bad value falls back to the
    defaults, with the message to show."""
    try:
        return load_batch_settings(os.environ, server_secrets()), None
    except PlaygroundError as error:
        return BatchSettings(), error.message


def chosen_engine(requests: int) -> Engine:
    """The engine the choice stands for now (``auto``: by the operator's threshold)."""
    choice = widget_value(ENGINE_KEY, "auto")
    if choice in ("live", "batch"):
        return choice
    return batch_settings()[0].engine_for(requests)


# Estimates by content (shared by sessions: a test set and variants carry no credentials).
_ESTIMATES: OrderedDict[str, BatchSaving | None] = OrderedDict()
_ESTIMATES_LOCK = threading.Lock()


def _saving(test_set: TestSet, variants: list[Variant]) -> BatchSaving | None:
    digest = hashlib.sha256(test_set.model_dump_json().encode())
    for variant in variants:
        digest.update(variant.model_dump_json().encode())
    key = digest.hexdigest()
    with _ESTIMATES_LOCK:
        if key in _ESTIMATES:
            _ESTIMATES.move_to_end(key)
            return _ESTIMATES[key]
    saving = estimate_batch_saving(test_set, variants)
    with _ESTIMATES_LOCK:
        _ESTIMATES[key] = saving
        while len(_ESTIMATES) > 64:
            _ESTIMATES.popitem(last=False)
    return saving


def saving_text(saving: BatchSaving) -> str:
    about = "about " if saving.sampled else ""
    text = (
        f"Prompts of this run: {about}{saving.prompt_tokens:,} tokens, "
        f"{fmt.money(saving.live_input_usd)} live or {fmt.money(saving.batch_input_usd)} on the Batch API: "
        f"you save {about}{fmt.money(saving.saving_usd)} on input, and half of the output's cost "
        "(not known before the replies)."
    )
    if saving.unpriced:
        text += f" No price known for {', '.join(saving.unpriced)}: left out."
    return fmt.md_text(text)


def engine_choice(workspace: Workspace, test_set: TestSet | None, variants: Callable[[], list[Variant]]) -> Engine:
    """The engine radio (automatic by default), the saving expected, and notes for this connection."""
    settings, problem = batch_settings()
    built: list[Variant] = []
    if test_set is not None and test_set.rows:
        try:
            built = variants()
        except PlaygroundError:
            built = []
    requests = len(test_set.rows) * len(built) if test_set is not None else 0
    automatic = settings.engine_for(requests)
    captions = [
        f"The Batch API from {settings.threshold:,} requests (rows × variants); this run: {requests:,} → "
        f"{ENGINES[automatic].lower()}",
        "Answers as they come; concurrency and the spend cap apply",
        "50 % off, results within 24 h",
    ]
    choice = st.radio("Engine", list(ENGINES), format_func=ENGINES.__getitem__, captions=captions, key=ENGINE_KEY)
    engine: Engine = automatic if choice == "auto" else choice  # type: ignore[assignment]
    if problem:
        st.warning(fmt.md_text(problem), icon=":material/settings:")
    if test_set is not None and built:
        saving = _saving(test_set, built)
        if saving is not None and saving.saving_usd > 0:
            st.caption(saving_text(saving))
    if engine == "batch":
        if note := workspace.provider().batch_note():
            st.caption(fmt.md_text(note))
        st.caption(
            "A batch answers every row: concurrency and the spend cap apply to live runs only. "
            f"The batches are checked every {interval(settings.poll_interval_s)}; they go on at the provider "
            "when you close the tab."
        )
    return engine


def launch_batch(
    workspace: Workspace,
    clients: Mapping[str, PlaygroundClient],
    state: RunState,
    save: Callable[[RunState], None] | None,
    alongside: Collection[str] = (),
) -> RunHandle:
    """Start (or resume: saved batch ids are polled, never resubmitted) ``state`` on the Batch API;
    each variant's batch goes through the client of its connection (``clients``, by name)."""
    client = workspace.client()
    return start_batch_run(
        state,
        SdkBatchApi(client),
        azure=client.provider.is_azure,
        routes={name: BatchRoute(SdkBatchApi(other), other.provider.is_azure) for name, other in clients.items()},
        judge=ClientJudge(client),
        save=save,
        poll_interval_s=batch_settings()[0].poll_interval_s,
        alongside=alongside,
    )


def job_text(title: str, job: BatchJob | None) -> tuple[str, float]:
    """(the line shown for one variant's batch, its progress fraction)."""
    if job is None:
        return f"{title}: not submitted yet", 0.0
    done = job.completed + job.failed
    fraction = done / job.total if job.total else (1.0 if job.is_terminal else 0.0)
    words = _STATUS_WORDS.get(job.status, job.status)
    if job.status in ("in_progress", "finalizing", "completed", "cancelled") and job.total:
        words += f" {done:,}/{job.total:,}"
    if job.failed:
        words += f" ({job.failed:,} failed)"
    if job.status == "completed" and not job.collected:
        words += ", downloading the results"
    return f"{title}: {words}", fraction


def interval(seconds: float) -> str:
    """A poll interval or an age as people say it: 0.2 s, 30 s, 5 min, 1 h."""
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 3_600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3_600:.0f} h"


def _ago(moment: float | None) -> str:
    if moment is None:
        return ""
    return f" · checked {interval(max(0.0, time.time() - moment))} ago"


def batch_progress(
    key: str,
    current: Callable[[], tuple[RunState | None, RunHandle | None]],
    resume: Callable[[], None],
) -> None:
    """Each variant's batch status and counts, the spend at batch prices, Cancel and Check now;
    redrawn every second by itself while this process polls the run."""
    state, handle = current()
    if state is None:
        return
    alive = handle is not None and handle.alive

    @st.fragment(run_every=1.0 if alive else None)
    def live() -> None:
        now_state, now_handle = current()
        if now_state is None:
            return
        running = now_handle is not None and now_handle.alive
        if running != alive:
            # Finished since the page was drawn (draw the results), or resumed by Check now here
            # (a fragment rerun keeps the run_every it was drawn with): redraw the whole page.
            st.rerun(scope="app")
        latest = {job.variant_id: job for job in now_state.batches}
        for variant in now_state.config.variants:
            text, fraction = job_text(variant.title, latest.get(variant.id))
            st.progress(min(fraction, 1.0), text=fmt.md_text(text))
        pending = any(not job.is_terminal for job in latest.values()) or (
            running and len(latest) < len(now_state.config.variants)
        )
        collected = bool(latest) and all(job.collected for job in latest.values())
        spent = f"Spent {fmt.paid(now_state.paid())} at batch prices" + (
            "" if collected else " (known as each batch's results come in)"
        )
        if running:
            st.caption(fmt.md_text(spent + _ago(now_handle.checked_at if now_handle else None)))
            if now_handle is not None and now_handle.note:
                st.caption(fmt.md_text(now_handle.note))
        else:
            st.caption(
                fmt.md_text(
                    f"{spent} · {now_state.status.replace('_', ' ')}"
                    + (f": {now_state.stop_reason}" if now_state.stop_reason else "")
                )
            )
        with st.container(horizontal=True):
            if running and pending and not (now_handle is not None and now_handle.cancel.is_set()):
                st.button(
                    "Cancel",
                    key=f"{key}.batch_cancel",
                    on_click=_cancel,
                    args=(now_handle,),
                    icon=":material/cancel:",
                    help="Cancels the batches at the provider; rows already answered are kept.",
                )
            if pending or (not running and now_state.status == "running"):
                st.button(
                    "Check now",
                    key=f"{key}.batch_check",
                    on_click=_check_now,
                    args=(now_handle, resume),
                    icon=":material/refresh:",
                    help="Asks the provider for the batches' status now (after a restart: goes on polling).",
                )

    live()


def _cancel(handle: RunHandle | None) -> None:
    if handle is not None:
        handle.cancel.set()


def _check_now(handle: RunHandle | None, resume: Callable[[], None]) -> None:
    if handle is not None and handle.alive:
        handle.wake.set()
    else:
        resume()
