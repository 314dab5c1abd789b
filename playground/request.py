"""Typed chat parameters and the request we send, validated against the registry before sending."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from playground.errors import ErrorKind, PlaygroundError
from playground.registry import ModelSpec, parameter_bounds


class ChatParams(BaseModel):
    """Sampling parameters as the user set them. Bounds are checked by :func:`validate_params`."""

    temperature: float = 1.0
    top_p: float = 1.0
    max_completion_tokens: int | None = None
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    stop: list[str] = Field(default_factory=list)
    seed: int | None = None
    response_format: Literal["text", "json_object"] = "text"
    #: Reasoning models only (the registry lists which efforts a model takes); None = not sent.
    reasoning_effort: str | None = None


def validate_params(params: ChatParams, spec: ModelSpec) -> list[str]:
    """Every way ``params`` breaks the registry's bounds for ``spec``, as sentences (empty = valid)."""
    bounds = parameter_bounds()
    problems = []
    for name in ("temperature", "top_p", "frequency_penalty", "presence_penalty"):
        bound = getattr(bounds, name)
        value = getattr(params, name)
        if not bound.min <= value <= bound.max:
            problems.append(f"{name} must be between {bound.min:g} and {bound.max:g} (it is {value:g}).")
    if params.max_completion_tokens is not None and not (1 <= params.max_completion_tokens <= spec.max_output_tokens):
        problems.append(
            f"max_completion_tokens must be between 1 and {spec.max_output_tokens:,} for {spec.label} "
            f"(it is {params.max_completion_tokens:,})."
        )
    efforts = spec.entry.parameters.reasoning_efforts
    if params.reasoning_effort is not None and params.reasoning_effort not in efforts:
        accepted = f"it takes {', '.join(efforts)}" if efforts else "it takes none"
        problems.append(f"{spec.label} does not take reasoning_effort {params.reasoning_effort!r} ({accepted}).")
    stops = [stop for stop in params.stop if stop]
    if len(stops) > bounds.max_stop_sequences:
        problems.append(f"At most {bounds.max_stop_sequences} stop sequences are allowed (there are {len(stops)}).")
    return problems


#: The parameters form's controls, in the order it draws them (``reasoning_effort`` apart: a select
#: drawn only for models that list efforts).
FORM_PARAMETERS = (
    "temperature",
    "top_p",
    "frequency_penalty",
    "presence_penalty",
    "max_completion_tokens",
    "seed",
    "stop",
)


@dataclass(frozen=True)
class ParameterControls:
    """Which controls the parameters form draws for one model: only what it accepts.

    ``hidden`` are the form's parameters the model rejects (named in :meth:`hidden_note`);
    ``reasoning_efforts`` the efforts it takes (empty: no reasoning-effort control).
    """

    model: str
    shown: tuple[str, ...]
    hidden: tuple[str, ...]
    reasoning_efforts: tuple[str, ...]

    def shows(self, parameter: str) -> bool:
        if parameter == "reasoning_effort":
            return bool(self.reasoning_efforts)
        return parameter in self.shown

    def hidden_note(self) -> str | None:
        """E.g. "o4-mini does not take temperature, top_p." (None: the model takes them all)."""
        if not self.hidden:
            return None
        return f"{self.model} does not take {', '.join(self.hidden)}."


def parameter_controls(spec: ModelSpec) -> ParameterControls:
    """The controls to draw for ``spec`` (the registry's ``parameters`` table of its entry)."""
    return ParameterControls(
        model=spec.requested,
        shown=tuple(name for name in FORM_PARAMETERS if spec.accepts(name)),
        hidden=tuple(name for name in FORM_PARAMETERS if not spec.accepts(name)),
        reasoning_efforts=tuple(spec.entry.parameters.reasoning_efforts),
    )


def params_summary(params: ChatParams, spec: ModelSpec) -> str:
    """The parameters as sent to ``spec``, in a few words (a closed expander's or popover's label):
    never a temperature the model will not get."""
    controls = parameter_controls(spec)
    parts = []
    if controls.shows("temperature"):
        parts.append(f"temperature {params.temperature:g}")
    if controls.shows("reasoning_effort"):
        effort = params.reasoning_effort if params.reasoning_effort in controls.reasoning_efforts else None
        parts.append(f"reasoning effort {effort or 'default'}")
    if controls.shows("max_completion_tokens"):
        limit = params.max_completion_tokens
        parts.append(f"max tokens {f'{limit:,}' if limit else 'model default'}")
    return " · ".join(parts) or "model defaults"


def params_for_model(params: ChatParams, spec: ModelSpec) -> ChatParams:
    """``params`` with what ``spec`` rejects put back to the API defaults (which are not sent):
    e.g. temperature / top_p for reasoning models, reasoning_effort for the others."""
    bounds = parameter_bounds()
    changes: dict[str, Any] = {
        name: getattr(bounds, name).default
        for name in ("temperature", "top_p", "frequency_penalty", "presence_penalty")
        if not spec.accepts(name)
    }
    if not spec.accepts("seed"):
        changes["seed"] = None
    if not spec.accepts("stop"):
        changes["stop"] = []
    if not spec.accepts("max_completion_tokens"):
        changes["max_completion_tokens"] = None
    if params.reasoning_effort is not None and params.reasoning_effort not in spec.entry.parameters.reasoning_efforts:
        changes["reasoning_effort"] = None
    return params.model_copy(update=changes)


@dataclass
class ChatRequest:
    """One Chat Completions request, in our terms. ``model`` is what the server is asked for
    (a model name, or an Azure deployment name)."""

    model: str
    messages: list[dict[str, Any]]
    params: ChatParams = field(default_factory=ChatParams)
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    store: bool = False

    def to_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``chat.completions.create`` (streaming with a usage chunk).

        Parameters left at the API's defaults are omitted, which keeps requests minimal and lets
        OpenAI-compatible servers that lack a parameter still answer.
        """
        bounds = parameter_bounds()
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": self.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "store": self.store,
        }
        for name in ("temperature", "top_p", "frequency_penalty", "presence_penalty"):
            value = getattr(self.params, name)
            if value != getattr(bounds, name).default:
                kwargs[name] = value
        if self.params.max_completion_tokens is not None:
            kwargs["max_completion_tokens"] = self.params.max_completion_tokens
        if stops := [stop for stop in self.params.stop if stop]:
            kwargs["stop"] = stops
        if self.params.seed is not None:
            kwargs["seed"] = self.params.seed
        if self.params.reasoning_effort is not None:
            kwargs["reasoning_effort"] = self.params.reasoning_effort
        if self.response_format is not None:
            kwargs["response_format"] = self.response_format
        elif self.params.response_format == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        if self.tools:
            kwargs["tools"] = self.tools
            if self.tool_choice is not None:
                kwargs["tool_choice"] = self.tool_choice
            if self.parallel_tool_calls is not None:
                kwargs["parallel_tool_calls"] = self.parallel_tool_calls
        return kwargs


def ensure_valid(params: ChatParams, spec: ModelSpec) -> None:
    """Raise a PlaygroundError listing every invalid parameter (nothing is sent)."""
    if problems := validate_params(params, spec):
        raise PlaygroundError(ErrorKind.INVALID_INPUT, "Fix the parameters before sending: " + " ".join(problems))
