"""What a run says: per-variant pass rate, cost and latency; failing rows first; two runs (or two
variants) compared row by row; CSV and JSON export; the migration check's one-line summary."""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from playground.evals.runs import RowResult, RunState

_OUTCOME_ORDER = {"error": 0, "fail": 1, "pass": 2}
_METRIC_COLUMNS = (
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "judge_cost_usd",
    "latency_s",
    "finish_reason",
    "error",
)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` (0.01 to 0.99) quantile by linear interpolation; None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


@dataclass(frozen=True)
class VariantSummary:
    variant_id: str
    label: str
    rows: int
    passed: int
    failed: int
    errors: int
    #: None when an answered row has no price (a model the registry does not know).
    cost_usd: float | None
    #: None when a judgement was paid for at no known price (the judge's model is not priced).
    judge_cost_usd: float | None
    #: True when some cost is a guess (another registry entry's prices).
    cost_is_estimate: bool
    p50_latency_s: float | None
    p95_latency_s: float | None
    prompt_tokens: int
    completion_tokens: int

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.rows if self.rows else None


def summarize(state: RunState) -> list[VariantSummary]:
    """One summary per variant, in the run's variant order."""
    summaries = []
    for variant in state.config.variants:
        results = [result for result in state.results if result.variant_id == variant.id]
        latencies = [result.latency_s for result in results if result.latency_s is not None and result.error is None]
        outcomes = [result.outcome for result in results]
        summaries.append(
            VariantSummary(
                variant_id=variant.id,
                label=variant.title,
                rows=len(results),
                passed=outcomes.count("pass"),
                failed=outcomes.count("fail"),
                errors=outcomes.count("error"),
                cost_usd=None
                if any(result.cost_usd is None and result.error is None for result in results)
                else sum(result.cost_usd or 0.0 for result in results),
                judge_cost_usd=None
                if any(result.judge_cost_usd is None for result in results)
                else sum(result.judge_cost_usd or 0.0 for result in results),
                cost_is_estimate=any(result.cost_is_estimate for result in results),
                p50_latency_s=percentile(latencies, 0.5),
                p95_latency_s=percentile(latencies, 0.95),
                prompt_tokens=sum(result.prompt_tokens for result in results),
                completion_tokens=sum(result.completion_tokens for result in results),
            )
        )
    return summaries


def failing_first(results: Iterable[RowResult]) -> list[RowResult]:
    """Errors, then failures, then passes; within each, the order given (stable)."""
    return sorted(results, key=lambda result: _OUTCOME_ORDER[result.outcome])


@dataclass(frozen=True)
class VerdictChange:
    """A row whose outcome differs between two result sets (before -> after)."""

    row_id: str
    before: str
    after: str
    before_output: str
    after_output: str

    @property
    def regressed(self) -> bool:
        return self.before == "pass" and self.after != "pass"


def verdict_changes(before: Iterable[RowResult], after: Iterable[RowResult]) -> list[VerdictChange]:
    """Rows present in both whose outcome changed, in ``before``'s order (rows are joined by id)."""
    later = {result.row_id: result for result in after}
    changes = []
    for old in before:
        new = later.get(old.row_id)
        if new is not None and new.outcome != old.outcome:
            changes.append(VerdictChange(old.row_id, old.outcome, new.outcome, old.output, new.output))
    return changes


def variant_results(state: RunState, variant_id: str) -> list[RowResult]:
    return [result for result in state.results if result.variant_id == variant_id]


def compare_runs(before: RunState, after: RunState, variant_id: str | None = None) -> list[VerdictChange]:
    """Rows whose outcome changed between two runs, for ``variant_id`` (default: each run's first variant)."""
    before_id = variant_id or before.config.variants[0].id
    after_id = variant_id or after.config.variants[0].id
    return verdict_changes(variant_results(before, before_id), variant_results(after, after_id))


def compare_variants(state: RunState, baseline_id: str, candidate_id: str) -> list[VerdictChange]:
    """Rows whose outcome differs between two variants of the same run."""
    return verdict_changes(variant_results(state, baseline_id), variant_results(state, candidate_id))


@dataclass(frozen=True)
class MigrationReport:
    """gpt-4.1-mini (baseline) against a candidate model over the same test set."""

    baseline: VariantSummary
    candidate: VariantSummary
    changes: list[VerdictChange]
    summary: str

    @property
    def regressions(self) -> list[VerdictChange]:
        return [change for change in self.changes if change.regressed]


def _relative(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "unknown"
    if before == 0:
        return "unchanged" if after == 0 else "up from zero"
    change = (after - before) / before
    return f"{change:+.0%}"


def migration_report(state: RunState, baseline_id: str, candidate_id: str) -> MigrationReport:
    """Where verdicts differ, the cost and latency change, and a sentence a stakeholder can read."""
    by_id = {summary.variant_id: summary for summary in summarize(state)}
    baseline, candidate = by_id[baseline_id], by_id[candidate_id]
    changes = compare_variants(state, baseline_id, candidate_id)
    regressions = sum(1 for change in changes if change.regressed)
    improvements = sum(1 for change in changes if change.after == "pass")

    def rate(summary: VariantSummary) -> str:
        return f"{summary.pass_rate:.0%}" if summary.pass_rate is not None else "n/a"

    cost_note = " (estimated prices)" if baseline.cost_is_estimate or candidate.cost_is_estimate else ""
    summary = (
        f"{candidate.label} passes {rate(candidate)} of {candidate.rows} rows vs {rate(baseline)} for "
        f"{baseline.label} ({regressions} worse, {improvements} better); cost "
        f"{_relative(baseline.cost_usd, candidate.cost_usd)}{cost_note}, median latency "
        f"{_relative(baseline.p50_latency_s, candidate.p50_latency_s)}."
    )
    return MigrationReport(baseline=baseline, candidate=candidate, changes=changes, summary=summary)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(text: str) -> str:
    """Model and user text can start like a spreadsheet formula: quote it so it opens as text."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def export_csv(state: RunState) -> str:
    """One line per (row, variant): variables, expected, output, outcome, each grader, tokens, cost, latency.

    Text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) get a leading ``'``.
    """
    test_set = state.config.test_set
    columns = test_set.columns
    graders = list(dict.fromkeys(verdict.grader for result in state.results for verdict in result.verdicts))
    titles = {variant.id: variant.title for variant in state.config.variants}
    rows_by_id = {row.id: row for row in test_set.rows}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            *("row_id", "variant", *columns, "expected", "output", "outcome", *graders),
            *(
                "prompt_tokens",
                "completion_tokens",
                "cost_usd",
                "judge_cost_usd",
                "latency_s",
                "finish_reason",
                "error",
            ),
        ]
    )
    for result in state.results:
        row = rows_by_id.get(result.row_id)
        verdicts = {verdict.grader: verdict for verdict in result.verdicts}
        writer.writerow(
            [_text_cell(result.row_id), _text_cell(titles.get(result.variant_id, result.variant_id))]
            + [_text_cell(row.variables.get(column, "")) if row else "" for column in columns]
            + [_text_cell(row.expected or "") if row else "", _text_cell(result.output), result.outcome]
            + [_text_cell(f"{v.status}: {v.reason}") if (v := verdicts.get(name)) else "" for name in graders]
            + [
                result.prompt_tokens,
                result.completion_tokens,
                "" if result.cost_usd is None else f"{result.cost_usd:.8f}",
                "" if result.judge_cost_usd is None else f"{result.judge_cost_usd:.8f}",
                "" if result.latency_s is None else f"{result.latency_s:.4f}",
                result.finish_reason or "",
                _text_cell(result.error or ""),
            ]
        )
    return buffer.getvalue()


def export_json(state: RunState) -> str:
    """The whole run (configuration, results, per-variant summaries) as JSON."""
    payload = state.model_dump(mode="json")
    payload["summaries"] = [{**summary.__dict__, "pass_rate": summary.pass_rate} for summary in summarize(state)]
    return json.dumps(payload, ensure_ascii=False, indent=2)
