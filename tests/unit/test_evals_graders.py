"""Graders: each verdict (pass / fail / error) and the serialised form."""

from __future__ import annotations

import json
import time

import pytest

from playground.errors import ErrorKind, PlaygroundError
from playground.evals.graders import (
    GRADERS,
    ContainsGrader,
    CostGrader,
    ExactGrader,
    FieldEqualsGrader,
    JsonSchemaGrader,
    JudgeGrader,
    JudgeReply,
    LatencyGrader,
    RegexGrader,
    Sample,
    grade,
    passed,
    resolve_pointer,
)


def status(grader, **sample):
    return grader.grade(Sample(**sample)).status


def test_exact_uses_the_grader_value_or_the_rows_expected():
    assert status(ExactGrader(value="Paris"), output=" Paris\n") == "pass"
    assert status(ExactGrader(), output="Paris", expected="paris") == "fail"
    assert status(ExactGrader(case_sensitive=False), output="Paris", expected="paris") == "pass"
    assert status(ExactGrader(strip=False), output="Paris ", expected="Paris") == "fail"
    assert status(ExactGrader(), output="Paris") == "error"


def test_contains_ignores_case_by_default():
    assert status(ContainsGrader(value="REFUND"), output="We will refund you") == "pass"
    assert status(ContainsGrader(value="refund", case_sensitive=True), output="REFUND") == "fail"


def test_regex_search_full_match_and_bad_pattern():
    assert status(RegexGrader(pattern=r"\d{3}-\d{4}"), output="Call 555-1234 now") == "pass"
    assert status(RegexGrader(pattern=r"\d+", full_match=True), output="123 apples") == "fail"
    assert status(RegexGrader(pattern="yes", ignore_case=True), output="YES") == "pass"
    verdict = RegexGrader(pattern="(unclosed").grade(Sample(output="x"))
    assert verdict.status == "error" and "not a valid regular expression" in verdict.reason


def test_a_catastrophic_pattern_times_out_as_an_error():
    started = time.perf_counter()
    verdict = RegexGrader(pattern=r"(a|aa)+$").grade(Sample(output="a" * 40 + "!"))
    assert verdict.status == "error" and "took longer" in verdict.reason
    assert time.perf_counter() - started < 2


def test_json_schema_uses_the_reply_validator():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert status(JsonSchemaGrader(schema=schema), output='{"n": 3}') == "pass"
    verdict = JsonSchemaGrader(schema=schema).grade(Sample(output='{"n": "three"}'))
    assert verdict.status == "fail" and "$.n" in verdict.reason
    assert status(JsonSchemaGrader(schema=schema), output="not json") == "fail"
    assert status(JsonSchemaGrader(schema={"type": "nope"}), output="{}") == "error"


def test_json_pointer_follows_rfc_6901():
    doc = {"a/b": {"m~n": [10, 20]}}
    assert resolve_pointer(doc, "/a~1b/m~0n/1") == 20
    assert resolve_pointer(doc, "") == doc
    with pytest.raises(KeyError):
        resolve_pointer(doc, "/a~1b/m~0n/7")


def test_field_equals_and_numeric_tolerance():
    output = json.dumps({"order": {"total": 10.04, "currency": "EUR"}})
    assert status(FieldEqualsGrader(pointer="/order/currency", value="EUR"), output=output) == "pass"
    assert status(FieldEqualsGrader(pointer="/order/total", value=10, tolerance=0.05), output=output) == "pass"
    assert status(FieldEqualsGrader(pointer="/order/total", value=10, tolerance=0.01), output=output) == "fail"
    # The row's expected text is read as JSON: "10.04" is the number 10.04.
    assert status(FieldEqualsGrader(pointer="/order/total"), output=output, expected="10.04") == "pass"
    assert status(FieldEqualsGrader(pointer="/order/missing", value=1), output=output) == "fail"
    assert status(FieldEqualsGrader(pointer="/order/currency", value=1, tolerance=1), output=output) == "fail"
    assert status(FieldEqualsGrader(pointer="/x", value=1), output="plain text") == "fail"


def test_latency_and_cost_limits():
    assert status(LatencyGrader(max_s=1), output="", latency_s=0.5) == "pass"
    assert status(LatencyGrader(max_s=1), output="", latency_s=1.5) == "fail"
    assert status(LatencyGrader(max_s=1), output="") == "error"
    assert status(CostGrader(max_usd=0.001), output="", cost_usd=0.002) == "fail"
    assert status(CostGrader(max_usd=0.001), output="", cost_usd=None) == "error"


class RecordingJudge:
    def __init__(self, text: str, cost: float = 0.0001, error: PlaygroundError | None = None):
        self.text, self.cost, self.error, self.calls = text, cost, error, []

    def __call__(self, model, messages):
        self.calls.append((model, messages))
        if self.error:
            raise self.error
        return JudgeReply(text=self.text, cost_usd=self.cost)


def test_llm_judge_uses_its_own_model_and_reports_its_cost_apart():
    judge = RecordingJudge('{"verdict": "fail", "reason": "Too rude."}')
    grader = JudgeGrader(rubric="Polite and correct.", model="gpt-4.1")
    verdict = grader.grade(Sample(output="Go away", expected="Hello", variables={"q": "greet"}), judge)
    assert verdict.status == "fail" and verdict.reason == "Too rude." and verdict.cost_usd == 0.0001
    model, messages = judge.calls[0]
    assert model == "gpt-4.1"
    assert "Polite and correct." in messages[1]["content"] and "Go away" in messages[1]["content"]
    assert '"q": "greet"' in messages[1]["content"]


def test_llm_judge_errors_are_errors_not_failures():
    grader = JudgeGrader(rubric="r")
    assert grader.grade(Sample(output="x"), None).status == "error"
    nonsense = grader.grade(Sample(output="x"), RecordingJudge("I think it is fine", cost=0.5))
    assert nonsense.status == "error" and nonsense.cost_usd == 0.5
    failing = RecordingJudge("", error=PlaygroundError(ErrorKind.RATE_LIMIT, "slow down"))
    assert grader.grade(Sample(output="x"), failing).status == "error"


def test_graders_round_trip_through_json():
    graders = [
        ExactGrader(name="exact answer"),
        RegexGrader(pattern=r"^\d+$"),
        JsonSchemaGrader(schema={"type": "object"}),
        FieldEqualsGrader(pointer="/a", value=1.5, tolerance=0.1),
        LatencyGrader(max_s=2),
        CostGrader(max_usd=0.01),
        JudgeGrader(rubric="Be brief", model="gpt-4.1"),
        ContainsGrader(value="x"),
    ]
    text = GRADERS.dump_json(graders, by_alias=True)
    assert GRADERS.validate_json(text) == graders
    assert '"schema"' in text.decode()


def test_grade_runs_all_and_a_row_passes_only_when_all_pass():
    verdicts = grade([ContainsGrader(value="a"), ContainsGrader(value="z")], Sample(output="abc"))
    assert [v.status for v in verdicts] == ["pass", "fail"]
    assert not passed(verdicts) and passed(verdicts[:1]) and not passed([])
