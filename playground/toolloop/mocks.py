"""Mock tool results: a sandboxed Jinja2 JSON template, canned responses matched on arguments, or
a fault (the tool errors, times out, returns nothing, returns a huge payload) for scenarios.

Mocks are pydantic models (one discriminated union, :data:`ToolMock`) so the store can save them.

Template output contract: the rendered text must parse as JSON (it is a *JSON* template; a typo
that yields broken JSON is the mock author's bug and is reported, never sent to the model). It is
sent to the model exactly as rendered. Use the ``tojson`` filter for substituted strings
(``{"city": {{ city | tojson }}}``) so quotes in arguments cannot break the JSON.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, Field

HUGE_PAYLOAD_DEFAULT_CHARS = 200_000


class MockError(Exception):
    """A mock could not produce a result (undefined variable, sandbox refusal, broken JSON, no match)."""


def _tojson(value: Any, indent: int | None = None) -> str:
    """Jinja's ``tojson`` without HTML escaping, failing on an undefined variable by its name."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return json.dumps(value, indent=indent, ensure_ascii=False)


_ENVIRONMENT = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
_ENVIRONMENT.filters["tojson"] = _tojson


class TemplateMock(BaseModel):
    """A JSON template; the call's arguments are its variables (also available as ``arguments``)."""

    kind: Literal["template"] = "template"
    template: str

    def produce(self, arguments: dict[str, Any]) -> str:
        try:
            rendered = _ENVIRONMENT.from_string(self.template).render({**arguments, "arguments": arguments})
        except jinja2.exceptions.SecurityError as error:
            raise MockError(f"The template tried something the sandbox refuses: {error}") from error
        except jinja2.UndefinedError as error:
            raise MockError(
                f"The template uses a variable the call did not supply ({error.message}). "
                "Use {{ name | default(...) }} for optional arguments."
            ) from error
        except jinja2.TemplateSyntaxError as error:
            raise MockError(f"The template has a syntax error on line {error.lineno}: {error.message}") from error
        except jinja2.TemplateError as error:
            raise MockError(f"The template failed: {error}") from error
        except (TypeError, ValueError) as error:  # e.g. tojson on a value that is not JSON-serialisable
            raise MockError(f"The template failed: {error}") from error
        try:
            json.loads(rendered)
        except json.JSONDecodeError as error:
            raise MockError(
                f"The rendered template is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}). "
                "Quote substituted strings with the tojson filter: {{ city | tojson }}."
            ) from error
        return rendered


class CannedCase(BaseModel):
    """Answer ``output`` when every key of ``match`` equals the call's argument of that name."""

    match: dict[str, Any] = Field(default_factory=dict)
    output: str


class CannedMock(BaseModel):
    """Canned responses: the first case whose ``match`` is a subset of the arguments wins."""

    kind: Literal["canned"] = "canned"
    cases: list[CannedCase] = Field(default_factory=list)
    default: str | None = None

    def produce(self, arguments: dict[str, Any]) -> str:
        missing = object()
        for case in self.cases:
            if all(arguments.get(key, missing) == value for key, value in case.match.items()):
                return case.output
        if self.default is None:
            raise MockError(
                f"No canned response matches the arguments {json.dumps(arguments)} and there is no default."
            )
        return self.default


FaultKind = Literal["error", "timeout", "empty", "huge"]


class FaultMock(BaseModel):
    """A failing tool, for scenarios. Nothing waits: a timeout is reported as the tool runner would."""

    kind: Literal["fault"] = "fault"
    fault: FaultKind
    message: str = "Service unavailable"
    timeout_s: float = 30.0
    huge_chars: int = HUGE_PAYLOAD_DEFAULT_CHARS

    def produce(self, arguments: dict[str, Any]) -> str:
        if self.fault == "error":
            return json.dumps({"error": self.message})
        if self.fault == "timeout":
            return json.dumps({"error": f"The tool did not answer within {self.timeout_s:g} s (timed out)."})
        if self.fault == "empty":
            return ""
        row = {"id": 0, "note": "x" * 80}
        rows = max(1, self.huge_chars // len(json.dumps(row)))
        return json.dumps({"items": [{**row, "id": index} for index in range(rows)]})


ToolMock = Annotated[TemplateMock | CannedMock | FaultMock, Field(discriminator="kind")]
