"""Running variants over a test set: a concurrency limit, retries on 429 that honour retry-after,
a spend cap, cancel, progress with ETA, and a run state that survives a reload.

:func:`run_evaluation` fills a :class:`RunState` in place. The state is a pydantic model: store
``state.model_dump_json()`` whenever ``on_progress`` fires, and after a reload pass the restored
state back in: rows already answered are skipped (rows that ended in an error are tried again).

Threads, not asyncio: the client is synchronous. Results are recorded and ``on_progress`` is called
on the thread that called :func:`run_evaluation` only, so the state needs no lock.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from playground.errors import ErrorKind, PlaygroundError
from playground.evals.batch_status import BatchJob
from playground.evals.completion import Completer, Completion, StoppedError
from playground.evals.graders import Grader, Judge, JudgeGrader, Sample, Verdict, grade, passed
from playground.evals.testsets import TestRow, TestSet
from playground.evals.variants import Variant
from playground.meter.spend import PaidCost, total_cost

RunStatus = Literal["pending", "running", "completed", "cancelled", "spend_cap"]
#: Errors worth another attempt after a wait (quota, auth, bad requests are not).
RETRY_KINDS = frozenset({ErrorKind.RATE_LIMIT, ErrorKind.SERVER, ErrorKind.TIMEOUT, ErrorKind.CONNECTION})


class RetryPolicy(BaseModel):
    """Waits between attempts: the server's retry-after when it sends one, else exponential."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=4, ge=1, le=20)
    base_backoff_s: float = Field(default=1.0, ge=0)
    max_wait_s: float = Field(default=60.0, gt=0)

    def wait_s(self, error: PlaygroundError, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        retry_after = retry_after_s(error)
        if retry_after is not None:
            return min(retry_after, self.max_wait_s)
        return min(self.base_backoff_s * 2 ** (attempt - 1), self.max_wait_s)


def retry_after_s(error: PlaygroundError) -> float | None:
    """The server's ``retry-after`` (seconds or an HTTP date) from the error, if it sent one."""
    raw = error.details.get("retry_after")
    if raw is None or raw == "":
        return None
    try:
        return max(0.0, float(str(raw)))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(str(raw))
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


class RunConfig(BaseModel):
    """Everything a run needs to be repeated exactly (stored with its results)."""

    model_config = ConfigDict(extra="forbid")

    test_set: TestSet
    variants: list[Variant] = Field(min_length=1)
    graders: list[Grader] = Field(default_factory=list)
    concurrency: int = Field(default=4, ge=1, le=64)
    spend_cap_usd: float | None = Field(default=None, gt=0)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    #: "live": requests as the run goes (concurrency, spend cap); "batch": the provider's Batch API
    #: (playground.evals.background.start_batch_run), priced at the batch tier.
    engine: Literal["live", "batch"] = "live"

    def same_work(self, other: RunConfig) -> bool:
        """Whether ``other`` runs the same test set through the same variants (a second click)."""
        return self.test_set == other.test_set and self.variants == other.variants

    def unpriced(self, judge_pricing: Callable[[str], Variant] | None = None) -> list[str]:
        """What has no price in this run: each variant's title, and each LLM judge's model
        (``judge_pricing``: what prices the judge's replies on a model; by default the registry's
        OpenAI tier, as :class:`~playground.evals.completion.ClientJudge` does)."""
        batch = self.engine == "batch"
        names = [variant.title for variant in self.variants if variant.price(batch=batch)[0] is None]
        pricing = judge_pricing or (lambda model: Variant(id="judge", model=model))
        judges = dict.fromkeys(grader.model for grader in self.graders if isinstance(grader, JudgeGrader))
        names += [f"the judge model {model}" for model in judges if pricing(model).price()[0] is None]
        return names


def check_spend_cap(config: RunConfig, judge_pricing: Callable[[str], Variant] | None = None) -> None:
    """Refuse a run whose spend cap cannot see all of it: requests with no price would count as $0
    toward the cap, so the cap could not stop them (raises PlaygroundError naming what is unpriced).

    Refusing, rather than starting with a warning: a cap is a promise about the most a run can
    cost, and a run that can spend past it unseen breaks that promise; the fix is one step away
    (price the variant, or clear the cap).
    """
    if config.spend_cap_usd is None or config.engine != "live":
        return
    if unpriced := config.unpriced(judge_pricing):
        judges = [name for name in unpriced if name.startswith("the judge model ")]
        fixes = []
        if len(judges) < len(unpriced):
            fixes.append('choose whose prices apply in the column\'s Parameters ("Prices and limits from")')
        if judges:
            fixes.append("give the LLM judge a model with a price")
        raise PlaygroundError.invalid_input(
            "Not started: the spend cap cannot count requests with no price, and none is known for "
            f"{'; '.join(unpriced)}. To keep the cap, {' and '.join(fixes)}; or clear the spend cap to run "
            "without one."
        )


class RowResult(BaseModel):
    """One row through one variant: the output, each grader's verdict and what it cost."""

    row_id: str
    variant_id: str
    output: str = ""
    verdicts: list[Verdict] = Field(default_factory=list)
    passed: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    #: The reply's cost (None: no price known); the judge's cost is ``judge_cost_usd``, apart.
    cost_usd: float | None = None
    cost_is_estimate: bool = False
    #: What judging the row cost: None when a judge's model has no price (unknown, not $0).
    #: Rows stored before this could be None say 0.0 and stay valid.
    judge_cost_usd: float | None = 0.0
    latency_s: float | None = None
    finish_reason: str | None = None
    served_model: str | None = None
    request_id: str | None = None
    attempts: int = 1
    error: str | None = None
    error_kind: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.row_id, self.variant_id

    @property
    def unpriced_reply(self) -> bool:
        """The reply was paid for (it has usage) but no price is known."""
        return self.cost_usd is None and bool(self.prompt_tokens or self.completion_tokens)

    @property
    def spent_usd(self) -> float | None:
        """The reply's and the judge's cost; None when either was paid for at no known price."""
        if self.unpriced_reply or self.judge_cost_usd is None:
            return None
        return (self.cost_usd or 0.0) + self.judge_cost_usd

    def paid(self) -> PaidCost:
        """The row's spend as the session's cost counts it: the reply (one request; an error with no
        usage adds nothing), and the judge's when it cost anything or has no price."""
        if self.unpriced_reply:
            cost = PaidCost.of(None)
        else:
            cost = PaidCost(self.cost_usd or 0.0, self.cost_is_estimate and self.cost_usd is not None, 0, 1)
        if self.judge_cost_usd is None:
            cost += PaidCost.of(None)
        elif self.judge_cost_usd:
            cost += PaidCost.of(self.judge_cost_usd)
        return cost

    @property
    def outcome(self) -> Literal["pass", "fail", "error"]:
        if self.error is not None or any(v.status == "error" for v in self.verdicts):
            return "error"
        return "pass" if self.passed else "fail"


class RunState(BaseModel):
    """A run and its results so far. Serialisable: ``model_dump_json`` / ``model_validate_json``."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    config: RunConfig
    status: RunStatus = "pending"
    results: list[RowResult] = Field(default_factory=list)
    stop_reason: str | None = None
    #: Batch API jobs of this run (see playground.evals.batch), kept so a reload can keep polling.
    batches: list[BatchJob] = Field(default_factory=list)
    created_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished_at: dt.datetime | None = None

    @property
    def total(self) -> int:
        return len(self.config.test_set.rows) * len(self.config.variants)

    @property
    def spent_usd(self) -> float | None:
        """What the run has spent, the judge included; None when a paid request had no price
        (see :meth:`paid` for the priced part and how many were not)."""
        spent = [result.spent_usd for result in list(self.results)]
        return None if None in spent else sum(value or 0.0 for value in spent)

    @property
    def judge_spent_usd(self) -> float | None:
        """What the LLM judge has cost; None when a judge's model has no price."""
        spent = [result.judge_cost_usd for result in list(self.results)]
        return None if None in spent else sum(value or 0.0 for value in spent)

    def paid(self) -> PaidCost:
        """What the run has spent so far, the judge included: replies and judgements with usage but
        no price are ``unpriced``; an estimated price anywhere makes the sum an estimate."""
        return total_cost(result.paid() for result in list(self.results))  # the run's thread may add to it

    def finished_keys(self) -> set[tuple[str, str]]:
        """(row id, variant id) of results that need no new attempt (errors are retried on resume)."""
        return {result.key for result in self.results if result.error is None}

    def result(self, row_id: str, variant_id: str) -> RowResult | None:
        for result in self.results:
            if result.key == (row_id, variant_id):
                return result
        return None

    def record(self, result: RowResult) -> None:
        """Add ``result``, replacing an earlier one for the same row and variant."""
        for index, existing in enumerate(self.results):
            if existing.key == result.key:
                self.results[index] = result
                return
        self.results.append(result)


@dataclass(frozen=True)
class Progress:
    """Handed to ``on_progress`` after each result. ``eta_s`` is None until a result is in."""

    done: int
    total: int
    passed: int
    failed: int
    errors: int
    #: The priced requests' spend (what the spend cap counts); ``unpriced`` requests are not in it.
    spent_usd: float
    judge_spent_usd: float
    elapsed_s: float
    eta_s: float | None
    state: RunState
    #: Paid requests (replies or judgements) with no price: their cost is unknown, not in the sums.
    unpriced: int = 0

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


class _Stop:
    """Why workers should stop: the caller's cancel event, or the spend cap."""

    def __init__(self, cancel: threading.Event | None) -> None:
        self.cancel = cancel or threading.Event()
        self.capped = threading.Event()

    def is_set(self) -> bool:
        return self.cancel.is_set() or self.capped.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True (at once) when the run is stopped meanwhile."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.cancel.wait(min(left, 0.05)) or self.capped.is_set():
                return True
        return self.is_set()


def _answer(
    completer: Completer, variant: Variant, row: TestRow, policy: RetryPolicy, stop: _Stop
) -> tuple[Completion | None, PlaygroundError | None, int]:
    """(completion, last error, attempts); (None, None, n) when stopped before an answer."""
    try:
        request = variant.build_request(row.variables)
    except PlaygroundError as error:
        return None, error, 0
    attempt = 0
    while True:
        attempt += 1
        if stop.is_set():
            return None, None, attempt - 1
        try:
            return completer(variant, request, stop.is_set), None, attempt
        except StoppedError:
            return None, None, attempt
        except PlaygroundError as error:
            if error.kind not in RETRY_KINDS or attempt >= policy.max_attempts:
                return None, error, attempt
            if stop.wait(policy.wait_s(error, attempt)):
                return None, None, attempt
        except Exception as error:  # a bug in one row must not end the run (or leave it "running")
            unexpected = f"Unexpected error ({type(error).__name__}: {error})."
            return None, PlaygroundError(ErrorKind.SERVER, unexpected), attempt


def evaluate_row(
    config: RunConfig,
    completer: Completer,
    variant: Variant,
    row: TestRow,
    *,
    judge: Judge | None = None,
    stop: _Stop | None = None,
) -> RowResult | None:
    """Answer and grade one row with one variant (None: stopped before it was answered)."""
    stop = stop or _Stop(None)
    completion, error, attempts = _answer(completer, variant, row, config.retry, stop)
    if error is not None:
        return RowResult(
            row_id=row.id,
            variant_id=variant.id,
            attempts=attempts,
            error=error.message,
            error_kind=str(error.kind),
            request_id=error.request_id,
        )
    if completion is None:
        return None
    return grade_completion(config, variant, row, completion, judge=judge, attempts=attempts)


def grade_completion(
    config: RunConfig,
    variant: Variant,
    row: TestRow,
    completion: Completion,
    *,
    judge: Judge | None = None,
    attempts: int = 1,
    batch: bool = False,
) -> RowResult:
    """Price and grade one reply (``batch``: at the variant's batch tier)."""
    cost, estimate = variant.cost(
        completion.prompt_tokens,
        completion.completion_tokens,
        completion.cached_tokens,
        served_model=completion.served_model,
        batch=batch,
    )
    sample = Sample(
        output=completion.text,
        expected=row.expected,
        variables=row.variables,
        latency_s=completion.latency_s,
        cost_usd=cost,
    )
    verdicts = grade(config.graders, sample, judge)
    return RowResult(
        row_id=row.id,
        variant_id=variant.id,
        output=completion.text,
        verdicts=verdicts,
        passed=passed(verdicts),
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        cached_tokens=completion.cached_tokens,
        cost_usd=cost,
        cost_is_estimate=estimate,
        judge_cost_usd=_judge_cost(verdicts),
        latency_s=completion.latency_s,
        finish_reason=completion.finish_reason,
        served_model=completion.served_model,
        request_id=completion.request_id,
        attempts=attempts,
    )


def _judge_cost(verdicts: list[Verdict]) -> float | None:
    """The verdicts' cost together; None when one had no price."""
    costs = [verdict.cost_usd for verdict in verdicts]
    return None if None in costs else sum(cost or 0.0 for cost in costs)


def run_evaluation(
    state: RunState,
    completer: Completer,
    *,
    judge: Judge | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> RunState:
    """Run every (row, variant) pair not finished yet, ``config.concurrency`` at a time.

    Stops early when ``cancel`` is set (status "cancelled": in-flight streams are closed and their
    rows left for a resume) or when the spend so far reaches ``spend_cap_usd`` (status
    "spend_cap"; requests already in flight may add up to ``concurrency`` replies' cost).
    """
    config = state.config
    stop = _Stop(cancel)
    finished = state.finished_keys()
    todo = deque(
        (variant, row)
        for row in config.test_set.rows
        for variant in config.variants
        if (row.id, variant.id) not in finished
    )
    retried = {result.key for result in state.results if result.error is not None}
    tally = _Tally(state.results)
    state.status = "running"
    state.stop_reason = None
    state.finished_at = None
    started = time.monotonic()
    done_before = len(finished)
    done_now = 0
    cap = config.spend_cap_usd
    if cap is not None and tally.spent_usd >= cap:
        stop.capped.set()

    def submit_next(pool: ThreadPoolExecutor, pending: set[Future[RowResult | None]]) -> None:
        # Jobs are handed out as workers free up (not all at once): a stop leaves nothing queued.
        while todo and len(pending) < config.concurrency and not stop.is_set():
            variant, row = todo.popleft()
            pending.add(pool.submit(evaluate_row, config, completer, variant, row, judge=judge, stop=stop))

    with ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="eval") as pool:
        pending: set[Future[RowResult | None]] = set()
        submit_next(pool, pending)
        while pending:
            completed, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in completed:
                result = future.result()
                if result is None:
                    continue
                if result.key in retried:
                    state.record(result)  # replaces the earlier error
                else:
                    state.results.append(result)
                tally.add(result)
                done_now += 1
                if cap is not None and tally.spent_usd >= cap:
                    stop.capped.set()
                if on_progress is not None:
                    on_progress(tally.progress(state, done_before + done_now, done_now, started))
            submit_next(pool, pending)
    if stop.cancel.is_set():
        state.status, state.stop_reason = "cancelled", "Cancelled."
    elif stop.capped.is_set() and len(state.finished_keys()) < state.total:
        state.status = "spend_cap"
        state.stop_reason = f"Stopped at the spend cap (${state.paid().usd:.4f} of ${cap:.4f})."
    else:
        state.status = "completed"
    state.finished_at = dt.datetime.now(dt.UTC)
    return state


class _Tally:
    """Running totals, so each result costs O(1) however long the run (a 1,000-row run is measured)."""

    def __init__(self, results: list[RowResult]) -> None:
        self.spent_usd = 0.0
        self.judge_spent_usd = 0.0
        self.unpriced = 0
        self.outcomes: dict[tuple[str, str], str] = {}
        self.counts: Counter[str] = Counter()
        for result in results:
            self.add(result)

    def add(self, result: RowResult) -> None:
        # Spend only grows (an error replaced by an answer was paid for too); outcomes are replaced.
        paid = result.paid()
        self.spent_usd += paid.usd
        self.judge_spent_usd += result.judge_cost_usd or 0.0
        self.unpriced += paid.unpriced
        if (previous := self.outcomes.get(result.key)) is not None:
            self.counts[previous] -= 1
        self.outcomes[result.key] = result.outcome
        self.counts[result.outcome] += 1

    def progress(self, state: RunState, done: int, done_now: int, started: float) -> Progress:
        elapsed = time.monotonic() - started
        counts = self.counts
        remaining = max(state.total - done, 0)
        return Progress(
            done=done,
            total=state.total,
            passed=counts["pass"],
            failed=counts["fail"],
            errors=counts["error"],
            spent_usd=self.spent_usd,
            judge_spent_usd=self.judge_spent_usd,
            elapsed_s=elapsed,
            eta_s=elapsed / done_now * remaining if done_now else None,
            state=state,
            unpriced=self.unpriced,
        )
