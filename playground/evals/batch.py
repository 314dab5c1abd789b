"""Big runs on the provider's Batch API: JSONL built from a test set, uploaded, polled, downloaded,
parsed (joined by ``custom_id``, in any order), graded and priced at the batch tier.

:class:`BatchJob` is the serialisable status (kept in ``RunState.batches``), so a batch survives a
reload or a restart: call :func:`poll_batch` with the restored job. :class:`SdkBatchApi` is the one
place that touches the ``openai`` SDK for this; everything else sees our types and
``PlaygroundError``. A test double only needs the :class:`BatchApi` methods.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from playground.client import PlaygroundClient, client_errors
from playground.errors import ErrorKind, PlaygroundError
from playground.evals.batch_status import BatchJob, BatchStatusName
from playground.evals.completion import Completion
from playground.evals.graders import Judge
from playground.evals.runs import RowResult, RunState, grade_completion
from playground.evals.variants import Variant

MAX_BATCH_REQUESTS = 50_000
MAX_BATCH_BYTES = 200 * 1024 * 1024
OPENAI_BATCH_URL = "/v1/chat/completions"
AZURE_BATCH_URL = "/chat/completions"


@dataclass(frozen=True)
class BatchStatus:
    """What the provider says about a batch (our type, not the SDK's)."""

    batch_id: str
    status: BatchStatusName
    input_file_id: str
    total: int
    completed: int
    failed: int
    output_file_id: str | None
    error_file_id: str | None


class BatchApi(Protocol):
    def upload(self, filename: str, data: bytes) -> str: ...
    def create(self, input_file_id: str, endpoint: str, metadata: dict[str, str]) -> BatchStatus: ...
    def get(self, batch_id: str) -> BatchStatus: ...
    def cancel(self, batch_id: str) -> BatchStatus: ...
    def download(self, file_id: str) -> str: ...


class SdkBatchApi:
    """The Files and Batches endpoints through the connection's ``PlaygroundClient`` (same SDK client,
    key, timeouts and Azure routing); SDK errors become PlaygroundError."""

    def __init__(self, client: PlaygroundClient) -> None:
        self.client = client

    def _call(self, action: Callable[[Any], Any]) -> Any:
        try:
            return action(self.client._sdk())
        except client_errors() as exc:
            raise self.client._fail(exc) from exc

    @staticmethod
    def _status(batch: Any) -> BatchStatus:
        counts = batch.request_counts
        return BatchStatus(
            batch_id=batch.id,
            status=batch.status,
            input_file_id=batch.input_file_id,
            total=counts.total if counts else 0,
            completed=counts.completed if counts else 0,
            failed=counts.failed if counts else 0,
            output_file_id=batch.output_file_id,
            error_file_id=batch.error_file_id,
        )

    def upload(self, filename: str, data: bytes) -> str:
        return str(
            self._call(lambda sdk: sdk.files.create(file=(filename, data, "application/jsonl"), purpose="batch")).id
        )

    def create(self, input_file_id: str, endpoint: str, metadata: dict[str, str]) -> BatchStatus:
        batch = self._call(
            lambda sdk: sdk.batches.create(
                input_file_id=input_file_id,
                endpoint=cast(Any, endpoint),  # Azure takes "/chat/completions", outside the SDK's literal
                completion_window="24h",
                metadata=metadata,
            )
        )
        return self._status(batch)

    def get(self, batch_id: str) -> BatchStatus:
        return self._status(self._call(lambda sdk: sdk.batches.retrieve(batch_id)))

    def cancel(self, batch_id: str) -> BatchStatus:
        return self._status(self._call(lambda sdk: sdk.batches.cancel(batch_id)))

    def download(self, file_id: str) -> str:
        return str(self._call(lambda sdk: sdk.files.content(file_id)).text)


def batch_lines(state: RunState, variant: Variant, *, azure: bool = False) -> list[dict[str, Any]]:
    """One Batch API request per test-set row (``custom_id`` = row id), rendered, non-streaming.

    On Azure ``url`` is ``/chat/completions`` and ``body.model`` the deployment (``variant.model``).
    Raises PlaygroundError naming the rows that lack a variable (nothing is built).
    """
    rows = state.config.test_set.rows
    if len(rows) > MAX_BATCH_REQUESTS:
        raise PlaygroundError.invalid_input(
            f"A batch takes at most {MAX_BATCH_REQUESTS:,} rows (this set has {len(rows):,})."
        )
    if missing := state.config.test_set.missing_variables(variant.variables()):
        first = next(iter(missing))
        raise PlaygroundError.invalid_input(
            f"{len(missing)} row(s) lack variables the prompt uses (row {first}: {', '.join(missing[first])}).",
            rows=list(missing),
        )
    url = AZURE_BATCH_URL if azure else OPENAI_BATCH_URL
    lines = []
    for row in rows:
        body = variant.build_request(row.variables).to_kwargs()
        body.pop("stream", None)
        body.pop("stream_options", None)
        lines.append({"custom_id": row.id, "method": "POST", "url": url, "body": body})
    return lines


def build_batch_jsonl(state: RunState, variant: Variant, *, azure: bool = False) -> bytes:
    """The JSONL input file (UTF-8). Raises PlaygroundError above the provider's size limit."""
    data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in batch_lines(state, variant, azure=azure))
    encoded = data.encode()
    if len(encoded) > MAX_BATCH_BYTES:
        raise PlaygroundError.invalid_input(
            f"The batch file would be {len(encoded) / 1e6:.0f} MB; the limit is {MAX_BATCH_BYTES / 1e6:.0f} MB. "
            "Split the test set."
        )
    return encoded


@dataclass(frozen=True)
class BatchItem:
    """One parsed result line: a completion, or the error the provider gave for that request."""

    custom_id: str
    completion: Completion | None = None
    error: str | None = None
    status_code: int | None = None


def _completion_from_body(body: dict[str, Any], request_id: str | None) -> Completion:
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    usage = body.get("usage") or {}
    details = usage.get("prompt_tokens_details") or {}
    return Completion(
        text=message.get("content") or "",
        refusal=message.get("refusal"),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0),
        finish_reason=choice.get("finish_reason"),
        served_model=body.get("model"),
        request_id=request_id,
    )


def parse_batch_results(*files: str) -> dict[str, BatchItem]:
    """custom_id -> result, from the output and error files' text (lines in any order).

    Raises PlaygroundError on a line that is not JSON (the file is not a batch result file).
    """
    items: dict[str, BatchItem] = {}
    for text in files:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise PlaygroundError(
                    ErrorKind.SERVER, f"Batch result line {number} is not JSON; the file may be damaged."
                ) from None
            custom_id = str(record.get("custom_id"))
            response = record.get("response") or {}
            status_code = response.get("status_code")
            body = response.get("body") or {}
            if record.get("error") or (status_code is not None and status_code != 200) or "error" in body:
                error = record.get("error") or body.get("error") or {}
                message = error.get("message") if isinstance(error, dict) else str(error)
                items[custom_id] = BatchItem(
                    custom_id, error=f"The request failed ({status_code}): {message}", status_code=status_code
                )
            else:
                items[custom_id] = BatchItem(
                    custom_id,
                    completion=_completion_from_body(body, response.get("request_id")),
                    status_code=status_code,
                )
    return items


def _variant(state: RunState, variant_id: str) -> Variant:
    for variant in state.config.variants:
        if variant.id == variant_id:
            return variant
    raise PlaygroundError.invalid_input(f"The run has no variant {variant_id!r}.")


def _job_for(state: RunState, variant_id: str) -> BatchJob | None:
    return next((job for job in reversed(state.batches) if job.variant_id == variant_id), None)


def submit_batch(state: RunState, variant_id: str, api: BatchApi, *, azure: bool = False) -> BatchJob:
    """Build, upload and create the batch for one variant; the job is added to ``state.batches``."""
    variant = _variant(state, variant_id)
    data = build_batch_jsonl(state, variant, azure=azure)
    file_id = api.upload(f"run-{state.id}-{variant.id}.jsonl", data)
    status = api.create(
        file_id, AZURE_BATCH_URL if azure else OPENAI_BATCH_URL, {"run_id": state.id, "variant_id": variant.id}
    )
    job = BatchJob(batch_id=status.batch_id, variant_id=variant.id, input_file_id=file_id)
    _update(job, status)
    state.batches.append(job)
    state.status = "running"
    return job


def _update(job: BatchJob, status: BatchStatus) -> None:
    job.status = status.status
    job.total, job.completed, job.failed = status.total, status.completed, status.failed
    job.output_file_id, job.error_file_id = status.output_file_id, status.error_file_id


def poll_batch(job: BatchJob, api: BatchApi) -> BatchJob:
    """Ask the provider for the job's status (in place) and return it."""
    _update(job, api.get(job.batch_id))
    return job


def cancel_batch(job: BatchJob, api: BatchApi) -> BatchJob:
    _update(job, api.cancel(job.batch_id))
    return job


def collect_batch(state: RunState, job: BatchJob, api: BatchApi, *, judge: Judge | None = None) -> list[RowResult]:
    """Download a finished job's results, grade them at the batch tier and record them in ``state``.

    Rows the provider returned nothing for are recorded as errors (a resume can re-run them).
    """
    if job.status != "completed" and not (job.is_terminal and (job.output_file_id or job.error_file_id)):
        raise PlaygroundError.invalid_input(f"Batch {job.batch_id} is {job.status}: there are no results to collect.")
    variant = _variant(state, job.variant_id)
    texts = [api.download(file_id) for file_id in (job.output_file_id, job.error_file_id) if file_id]
    items = parse_batch_results(*texts)
    results = []
    for row in state.config.test_set.rows:
        item = items.get(row.id)
        if item is not None and item.completion is not None:
            result = grade_completion(state.config, variant, row, item.completion, judge=judge, batch=True)
        else:
            reason = item.error if item is not None else f"The batch returned no result for row {row.id}."
            result = RowResult(row_id=row.id, variant_id=variant.id, error=reason, error_kind=str(ErrorKind.SERVER))
        state.record(result)
        results.append(result)
    job.collected = True
    if all(existing.collected for existing in state.batches):
        state.status = "completed"
        state.finished_at = dt.datetime.now(dt.UTC)
    return results


def run_batch(
    state: RunState,
    variant_id: str,
    api: BatchApi,
    *,
    azure: bool = False,
    judge: Judge | None = None,
    poll_interval_s: float = 30.0,
    on_status: Callable[[BatchJob], None] | None = None,
    cancel: threading.Event | None = None,
) -> BatchJob:
    """Submit (or resume: a job in ``state.batches`` not collected yet is polled, not resubmitted),
    poll until the batch ends, then collect. ``cancel`` cancels the batch at the provider.
    """
    cancel = cancel or threading.Event()
    job = _job_for(state, variant_id)
    if job is None or job.collected:
        job = submit_batch(state, variant_id, api, azure=azure)
        if on_status is not None:
            on_status(job)
    while not job.is_terminal:
        if cancel.wait(poll_interval_s):
            cancel_batch(job, api)
            cancel.clear()  # keep polling until the provider confirms
        poll_batch(job, api)
        if on_status is not None:
            on_status(job)
    if job.status == "cancelled" and not job.output_file_id:
        state.status, state.stop_reason = "cancelled", "The batch was cancelled."
        return job
    if job.output_file_id or job.error_file_id:
        collect_batch(state, job, api, judge=judge)
    else:
        state.status, state.stop_reason = "cancelled", f"The batch ended {job.status} without results."
    return job
