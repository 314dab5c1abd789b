"""Graders: serialisable checks of one output, each returning a pass / fail / error verdict.

Every grader is a pydantic model with a ``kind`` discriminator, so a test set's graders are stored
as JSON (``GraderList``) and come back as the same objects. ``grade`` runs them all on one sample;
a grader that cannot decide (bad pattern, a judge that failed) says ``error``, never ``fail``.

Regular expressions run on the ``regex`` module with a timeout (Python's ``re`` has none), and
only on the first ``MAX_REGEX_INPUT_CHARS`` characters of an output: a catastrophic pattern costs
at most ``REGEX_TIMEOUT_S`` per output.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, Literal, Protocol

import regex
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from playground.errors import PlaygroundError
from playground.schema import validate_reply

MAX_REGEX_INPUT_CHARS = 100_000
MAX_REGEX_PATTERN_CHARS = 2_000
REGEX_TIMEOUT_S = 0.25

VerdictStatus = Literal["pass", "fail", "error"]


class Verdict(BaseModel):
    """One grader's decision on one output. ``cost_usd`` is what deciding cost (the LLM judge):
    None when the judge's model has no price (unknown, not free)."""

    model_config = ConfigDict(frozen=True)

    grader: str
    status: VerdictStatus
    reason: str
    cost_usd: float | None = 0.0


@dataclass(frozen=True)
class Sample:
    """What graders look at: the output, the row's expected value and variables, and the metrics."""

    output: str
    expected: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    latency_s: float | None = None
    cost_usd: float | None = None


@dataclass(frozen=True)
class JudgeReply:
    """The judge's reply and what it cost (None: the judge's model has no price)."""

    text: str
    cost_usd: float | None = 0.0


class Judge(Protocol):
    """Asks a model to judge. The real one wraps PlaygroundClient; tests pass a double."""

    def __call__(self, model: str, messages: list[dict[str, Any]]) -> JudgeReply: ...


class _Grader(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    kind: str
    #: Shown in results; defaults to the kind.
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.kind

    def _verdict(self, ok: bool, reason: str) -> Verdict:
        return Verdict(grader=self.label, status="pass" if ok else "fail", reason=reason)

    def _error(self, reason: str) -> Verdict:
        return Verdict(grader=self.label, status="error", reason=reason)


def _target(value: str | None, sample: Sample) -> str | None:
    return value if value is not None else sample.expected


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ExactGrader(_Grader):
    """The output equals ``value`` (or the row's expected value); ends trimmed unless ``strip`` is off."""

    kind: Literal["exact"] = "exact"
    value: str | None = None
    strip: bool = True
    case_sensitive: bool = True

    def grade(self, sample: Sample, judge: Judge | None = None) -> Verdict:
        target = _target(self.value, sample)
        if target is None:
            return self._error("No expected value: set one on the grader or in the row's expected column.")
        got, want = (sample.output.strip(), target.strip()) if self.strip else (sample.output, target)
        if not self.case_sensitive:
            got, want = got.casefold(), want.casefold()
        if got == want:
            return self._verdict(True, "The output equals the expected value.")
        return self._verdict(False, f"Expected {_short(want)!r}, got {_short(got)!r}.")


class ContainsGrader(_Grader):
    """The output contains ``value`` (or the row's expected value)."""

    kind: Literal["contains"] = "contains"
    value: str | None = None
    case_sensitive: bool = False

    def grade(self, sample: Sample, judge: Judge | None = None) -> Verdict:
        target = _target(self.value, sample)
        if target is None:
            return self._error("No text to look for: set one on the grader or in the row's expected column.")
        haystack, needle = (
            (sample.output, target) if self.case_sensitive else (sample.output.casefold(), target.casefold())
        )
        if needle in haystack:
            return self._verdict(True, f"The output contains {_short(target)!r}.")
        return self._verdict(False, f"The output does not contain {_short(target)!r}.")


@lru_cache(maxsize=256)
def _compile_regex(pattern: str, ignore_case: bool) -> regex.Pattern[str]:
    return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)


class RegexGrader(_Grader):
    """The pattern is found in the output (``full_match``: the whole output matches)."""

    kind: Literal["regex"] = "regex"
    pattern: str = Field(max_length=MAX_REGEX_PATTERN_CHARS)
    ignore_case: bool = False
    full_match: bool = False

    def grade(self, sample: Sample, judge: Judge | None = None) -> Verdict:
        try:
            compiled = _compile_regex(self.pattern, self.ignore_case)
        except regex.error as exc:
            return self._error(f"The pattern is not a valid regular expression: {exc}.")
        text = sample.output[:MAX_REGEX_INPUT_CHARS]
        try:
            found = (
                compiled.fullmatch(text.strip(), timeout=REGEX_TIMEOUT_S)
                if self.full_match
                else compiled.search(text, timeout=REGEX_TIMEOUT_S)
            )
        except TimeoutError:
            return self._error(f"The pattern took longer than {REGEX_TIMEOUT_S:g} s on this output; simplify it.")
        if found:
            return self._verdict(True, f"Matched {_short(found.group(0))!r}.")
        return self._verdict(False, f"No match for /{_short(self.pattern)}/.")


class JsonSchemaGrader(_Grader):
    """The output is JSON valid against ``json_schema`` (the schema builder's validator)."""

    kind: Literal["json_schema"] = "json_schema"
    json_schema: dict[str, Any] = Field(alias="schema")

    def grade(self, sample: Sample, judge: Judge | None = None) -> Verdict:
        try:
            checked = validate_reply(self.json_schema, sample.output)
        except PlaygroundError as exc:
            return self._error(exc.message)
        if checked.ok:
            return self._verdict(True, "The output matches the schema.")
        first = checked.errors[0]
        more = f" (+{len(checked.errors) - 1} more)" if len(checked.errors) > 1 else ""
        return self._verdict(False, f"{first.path}: {first.message}{more}")


_MISSING = object()


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The value at a JSON pointer (RFC 6901: ``/items/0/price``, ``~1`` = ``/``, ``~0`` = ``~``).

    Raises KeyError naming the first segment that does not resolve.
    """
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        raise KeyError(f"a JSON pointer starts with '/' (got {pointer!r})")
    current = document
    for raw in pointer[1:].split("/"):
        segment = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        else:
            raise KeyError(f"nothing at {segment!r}")
    return current


def _expected_value(value: Any, sample: Sample) -> Any:
    """The grader's value, else the row's expected text read as JSON (plain text if it is not)."""
    if value is not None:
        return value
    if sample.expected is None:
        return _MISSING
    try:
        return json.loads(sample.expected)
    except ValueError:
        return sample.expected


class FieldEqualsGrader(_Grader):
    """A field of a JSON output (a JSON pointer) equals a value, or is within ``tolerance`` of a number."""

    kind: Literal["field_equals"] = "field_equals"
    pointer: str
    value: Any = None
    tolerance: float | None = Field(default=None, ge=0)

    def grade(self, sample: Sample, judge: Judge | None = None) -> Verdict:
        want = _expected_value(self.value, sample)
        if want is _MISSING:
            return self._error("No expected value: set one on the grader or in the row's expected column.")
        try:
            got = resolve_pointer(json.loads(sample.output), self.pointer)
        except ValueError:
            return self._verdict(False, "The output is not JSON.")
        except KeyError as exc:
            return self._verdict(False, f"The output has no field {self.pointer} ({exc.args[0]}).")
        if self.tolerance is not None:
            if not (_is_number(got) and _is_number(want)):
                return self._verdict(False, f"{self.pointer} is {got!r}: a number was expected, near {want!r}.")
            ok = math.isclose(float(got), float(want), rel_tol=0.0, abs_tol=self.tolerance)
            return self._verdict(ok, f"{self.pointer} is {got!r}; expected {want!r} ± {self.tolerance:g}.")
        return self._verdict(got == want, f"{self.pointer} is {got!r}; expected {want!r}.")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class LatencyGrader(_Grader):
    """The reply took at most ``max_s`` seconds."""

    kind: Literal["latency"] = "latency"
    max_s: float = Field(gt=0)

    def grade(self, sample: Sample, judge: Judge | None = None) -> Verdict:
        if sample.latency_s is None:
            return self._error("No latency was measured for this output.")
        return self._verdict(sample.latency_s <= self.max_s, f"{sample.latency_s:.2f} s (limit {self.max_s:g} s).")


class CostGrader(_Grader):
    """The reply cost at most ``max_usd`` (the judge's cost is not included)."""

    kind: Literal["cost"] = "cost"
    max_usd: float = Field(gt=0)

    def grade(self, sample: Sample, judge: Judge | None = None) -> Verdict:
        if sample.cost_usd is None:
            return self._error("This output has no cost (no usage reported, or no price for the model).")
        return self._verdict(sample.cost_usd <= self.max_usd, f"${sample.cost_usd:.6f} (limit ${self.max_usd:.6f}).")


JUDGE_SYSTEM_PROMPT = (
    "You grade an AI assistant's output against a rubric. Reply with JSON only: "
    '{"verdict": "pass" or "fail", "reason": "<one sentence>"}.'
)


class JudgeGrader(_Grader):
    """An LLM judge: ``model`` reads the rubric, the input variables, the expected value and the output.

    Its cost is reported on the verdict (``cost_usd``), apart from the output's own cost.
    """

    kind: Literal["llm_judge"] = "llm_judge"
    rubric: str = Field(min_length=1)
    model: str = "gpt-4.1-mini"

    def judge_messages(self, sample: Sample) -> list[dict[str, Any]]:
        parts = [f"Rubric:\n{self.rubric}"]
        if sample.variables:
            parts.append("Input variables:\n" + json.dumps(dict(sample.variables), ensure_ascii=False, default=str))
        if sample.expected is not None:
            parts.append(f"Expected (reference):\n{sample.expected}")
        parts.append(f"Output to grade:\n{sample.output}")
        return [
            {"role": "system", "content": JUDGE_SYSTEM_PROMPT},
            {"role": "user", "content": "\n\n".join(parts)},
        ]

    def grade(self, sample: Sample, judge: Judge | None = None) -> Verdict:
        if judge is None:
            return self._error("No judge model is connected.")
        try:
            reply = judge(self.model, self.judge_messages(sample))
        except PlaygroundError as exc:
            return self._error(f"The judge failed: {exc.message}")
        verdict, reason = _parse_judgement(reply.text)
        if verdict is None:
            return Verdict(
                grader=self.label,
                status="error",
                reason=f"The judge's reply was not a verdict: {_short(reply.text)!r}.",
                cost_usd=reply.cost_usd,
            )
        return Verdict(grader=self.label, status=verdict, reason=reason, cost_usd=reply.cost_usd)


def _parse_judgement(text: str) -> tuple[Literal["pass", "fail"] | None, str]:
    start, end = text.find("{"), text.rfind("}")
    try:
        data = json.loads(text[start : end + 1]) if start >= 0 < end else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return None, ""
    verdict = str(data.get("verdict", "")).strip().lower()
    reason = str(data.get("reason") or "")
    if verdict == "pass":
        return "pass", reason
    if verdict == "fail":
        return "fail", reason
    return None, ""


Grader = Annotated[
    ExactGrader
    | ContainsGrader
    | RegexGrader
    | JsonSchemaGrader
    | FieldEqualsGrader
    | LatencyGrader
    | CostGrader
    | JudgeGrader,
    Field(discriminator="kind"),
]
#: (De)serialises a list of graders: ``GRADERS.validate_json(text)``, ``GRADERS.dump_json(graders)``.
GRADERS: TypeAdapter[list[Grader]] = TypeAdapter(list[Grader])


def grade(graders: Sequence[Grader], sample: Sample, judge: Judge | None = None) -> list[Verdict]:
    """Every grader's verdict on ``sample``, in order. A grader that raises gives an error verdict."""
    verdicts = []
    for grader in graders:
        try:
            verdicts.append(grader.grade(sample, judge))
        except Exception as exc:  # one broken grader must not lose the run's other verdicts
            verdicts.append(Verdict(grader=grader.label, status="error", reason=f"{type(exc).__name__}: {exc}"))
    return verdicts


def passed(verdicts: Sequence[Verdict]) -> bool:
    """A row passes when every verdict passes (and there is at least one)."""
    return bool(verdicts) and all(verdict.status == "pass" for verdict in verdicts)
