"""Compare and evaluate (issue 13), UI-free: variables, graders, test sets, runs, side by side,
the Batch API and the migration check. Pure Python: the Compare panel calls these.

Typical use::

    test_set = import_test_set(upload.name, upload.getvalue())
    state = RunState(config=RunConfig(test_set=test_set, variants=[v1, v1.on_model("gpt-5-mini")],
                                      graders=[RegexGrader(pattern=r"^Yes")], concurrency=8, spend_cap_usd=1.0))
    run_evaluation(state, ClientCompleter({"default": client}), judge=ClientJudge(client),
                   on_progress=save, cancel=cancel_event)
    summarize(state); failing_first(state.results); migration_report(state, v1.id, state.config.variants[1].id)
"""

from playground.evals.batch import (
    BatchApi,
    BatchItem,
    BatchStatus,
    SdkBatchApi,
    batch_lines,
    build_batch_jsonl,
    cancel_batch,
    collect_batch,
    parse_batch_results,
    poll_batch,
    run_batch,
    submit_batch,
)
from playground.evals.batch_status import BatchJob
from playground.evals.completion import ClientCompleter, ClientJudge, Completer, Completion, collect
from playground.evals.graders import (
    GRADERS,
    ContainsGrader,
    CostGrader,
    ExactGrader,
    FieldEqualsGrader,
    Grader,
    JsonSchemaGrader,
    Judge,
    JudgeGrader,
    JudgeReply,
    LatencyGrader,
    RegexGrader,
    Sample,
    Verdict,
    grade,
)
from playground.evals.results import (
    MigrationReport,
    VariantSummary,
    VerdictChange,
    compare_runs,
    compare_variants,
    export_csv,
    export_json,
    failing_first,
    migration_report,
    summarize,
)
from playground.evals.runs import Progress, RetryPolicy, RowResult, RunConfig, RunState, run_evaluation
from playground.evals.sidebyside import ColumnUpdate, DiffChunk, stream_side_by_side, word_diff
from playground.evals.testsets import TestRow, TestSet, import_csv, import_jsonl, import_test_set
from playground.evals.variables import prompt_variables, render_messages, render_request, render_text
from playground.evals.variants import Variant

__all__ = [
    "GRADERS",
    "BatchApi",
    "BatchItem",
    "BatchJob",
    "BatchStatus",
    "ClientCompleter",
    "ClientJudge",
    "ColumnUpdate",
    "Completer",
    "Completion",
    "ContainsGrader",
    "CostGrader",
    "DiffChunk",
    "ExactGrader",
    "FieldEqualsGrader",
    "Grader",
    "JsonSchemaGrader",
    "Judge",
    "JudgeGrader",
    "JudgeReply",
    "LatencyGrader",
    "MigrationReport",
    "Progress",
    "RegexGrader",
    "RetryPolicy",
    "RowResult",
    "RunConfig",
    "RunState",
    "Sample",
    "SdkBatchApi",
    "TestRow",
    "TestSet",
    "Variant",
    "VariantSummary",
    "Verdict",
    "VerdictChange",
    "batch_lines",
    "build_batch_jsonl",
    "cancel_batch",
    "collect",
    "collect_batch",
    "compare_runs",
    "compare_variants",
    "export_csv",
    "export_json",
    "failing_first",
    "grade",
    "import_csv",
    "import_jsonl",
    "import_test_set",
    "migration_report",
    "parse_batch_results",
    "poll_batch",
    "prompt_variables",
    "render_messages",
    "render_request",
    "render_text",
    "run_batch",
    "run_evaluation",
    "stream_side_by_side",
    "submit_batch",
    "summarize",
    "word_diff",
]
