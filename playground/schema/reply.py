"""Checking a model reply against the schema: every error, each tied to a named field."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from pydantic import BaseModel, ConfigDict, Field
from referencing.exceptions import Unresolvable

from playground.errors import ErrorKind, PlaygroundError
from playground.schema._common import child_path, looks_truncated


class FieldError(BaseModel):
    """One problem in a reply: ``path`` like ``$.items[2].price``, ``field`` its last segment
    (``price``, or ``items[2]`` for an array element), ``message`` a plain sentence, ``keyword``
    the JSON Schema keyword that failed (empty for malformed JSON)."""

    model_config = ConfigDict(frozen=True)

    path: str
    field: str
    message: str
    keyword: str = ""


class ReplyValidation(BaseModel):
    """``ok`` when the reply is JSON that matches the schema; ``parsed`` is the JSON value when it
    parsed at all (also when it does not match), ``truncated`` when malformed JSON looks cut off."""

    ok: bool
    parsed: Any = None
    errors: list[FieldError] = Field(default_factory=list)
    truncated: bool = False


def validate_reply(schema: dict, text: str) -> ReplyValidation:
    """Parse ``text`` and check it against ``schema`` (JSON Schema Draft 2020-12, all errors).

    Malformed JSON gives ``ok=False`` and one error saying where the JSON broke and whether it
    looks truncated. Raises PlaygroundError (INVALID_INPUT) when the schema itself is invalid.
    """
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT, f"The schema itself is not valid JSON Schema: {exc.message}."
        ) from None
    except RecursionError:
        raise _too_deep("schema") from None
    if not text or not text.strip():
        return ReplyValidation(ok=False, errors=[FieldError(path="$", field="$", message="The reply is empty.")])
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        return _malformed(text, exc)
    except RecursionError:
        raise _too_deep("reply") from None
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    try:
        raw_errors = list(validator.iter_errors(parsed))
        errors = list(dict.fromkeys(_convert_all(raw_errors)))
    except Unresolvable as exc:
        raise PlaygroundError(ErrorKind.INVALID_INPUT, f"The schema has a $ref that does not resolve: {exc}.") from None
    except RecursionError:
        # A $ref cycle with no object in between (node -> node, a -> b -> a) never reaches a value
        # to check: the validator recurses until the stack runs out. The linter reports the cycle.
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT,
            "The reply could not be checked: the schema has a circular $ref (a reference that leads back "
            "to itself without an object in between). Fix the $ref the strict-mode check names.",
        ) from None
    return ReplyValidation(ok=not errors, parsed=parsed, errors=errors)


def _too_deep(what: str) -> PlaygroundError:
    return PlaygroundError(ErrorKind.INVALID_INPUT, f"The {what} is nested too deeply to be checked.")


def _malformed(text: str, exc: json.JSONDecodeError) -> ReplyValidation:
    truncated = looks_truncated(text)
    message = f"The reply is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
    if truncated:
        message += (
            " It looks truncated: the JSON stops before all brackets and strings are closed (the reply "
            "may have hit the max tokens limit)."
        )
    elif text.lstrip().startswith("```"):
        message += " It is wrapped in a Markdown code fence; the reply should be the bare JSON."
    return ReplyValidation(ok=False, truncated=truncated, errors=[FieldError(path="$", field="$", message=message)])


def _json_path(parts: Iterable[str | int]) -> str:
    path = "$"
    for part in parts:
        path = child_path(path, part)
    return path


def _field_name(parts: Sequence[str | int]) -> str:
    if not parts:
        return "$"
    last = parts[-1]
    if isinstance(last, int):
        prev = next((p for p in reversed(parts[:-1]) if isinstance(p, str)), "")
        return f"{prev}[{last}]"
    return str(last)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _convert_all(errors: Iterable[ValidationError]) -> Iterable[FieldError]:
    for err in errors:
        yield from _convert(err)


def _make(parts: Sequence[str | int], message: str, keyword: str) -> FieldError:
    return FieldError(path=_json_path(parts), field=_field_name(parts), message=message, keyword=keyword)


def _convert(err: ValidationError) -> Iterable[FieldError]:
    parts = list(err.absolute_path)
    kw = str(err.validator)
    value = err.validator_value
    inst = err.instance
    if kw == "required" and isinstance(inst, dict):
        for name in value:
            if name not in inst:
                yield _make([*parts, name], f"Missing required field '{name}'.", kw)
        return
    if kw == "additionalProperties" and isinstance(inst, dict):
        known = err.schema.get("properties", {}) if isinstance(err.schema, dict) else {}
        for name in inst:
            if name not in known:
                yield _make([*parts, name], f"Unexpected field '{name}': the schema does not allow extra fields.", kw)
        return
    if kw in ("anyOf", "oneOf") and err.context:
        branch = _matching_branch(err.context)
        if branch is not None:
            yield from _convert_all(branch)
            return
        yield _make(parts, _no_branch_message(value, inst), kw)
        return
    yield _make(parts, _message(kw, value, inst, err), kw)


def _matching_branch(context: list[ValidationError]) -> list[ValidationError] | None:
    """The errors of the only anyOf branch whose basic type fits the value, if there is exactly one."""
    branches: dict[Any, list[ValidationError]] = defaultdict(list)
    for c in context:
        branches[c.relative_schema_path[0] if c.relative_schema_path else None].append(c)
    fitting = [
        errs
        for errs in branches.values()
        if not any(c.validator in ("type", "enum", "const") and not c.relative_path for c in errs)
    ]
    return fitting[0] if len(fitting) == 1 else None


def _no_branch_message(branches: Any, inst: Any) -> str:
    expected: list[str] = []
    for branch in branches if isinstance(branches, list) else []:
        t = branch.get("type") if isinstance(branch, dict) else None
        if isinstance(t, str):
            t = [t]
        if not isinstance(t, list):
            return f"{_short(inst)} does not match any of the allowed shapes for this field."
        expected += [x for x in t if x not in expected]
    return f"Expected {' or '.join(expected)}, got {_json_type(inst)} ({_short(inst)})."


def _message(kw: str, value: Any, inst: Any, err: ValidationError) -> str:
    if kw == "type":
        expected = value if isinstance(value, list) else [value]
        return f"Expected {' or '.join(expected)}, got {_json_type(inst)} ({_short(inst)})."
    if kw == "enum":
        allowed = ", ".join(_short(v) for v in value)
        return f"{_short(inst)} is not one of the allowed values: {allowed}."
    if kw == "const":
        return f"Must be exactly {_short(value)}, got {_short(inst)}."
    if kw == "minimum":
        return f"{_short(inst)} is below the minimum of {value}."
    if kw == "maximum":
        return f"{_short(inst)} is above the maximum of {value}."
    if kw == "exclusiveMinimum":
        return f"{_short(inst)} must be greater than {value}."
    if kw == "exclusiveMaximum":
        return f"{_short(inst)} must be less than {value}."
    if kw == "multipleOf":
        return f"{_short(inst)} is not a multiple of {value}."
    if kw == "minItems":
        return f"Has {len(inst)} items; at least {value} are needed."
    if kw == "maxItems":
        return f"Has {len(inst)} items; at most {value} are allowed."
    if kw == "minLength":
        return f"Is {len(inst)} characters long; at least {value} are needed."
    if kw == "maxLength":
        return f"Is {len(inst)} characters long; at most {value} are allowed."
    if kw == "pattern":
        return f"{_short(inst)} does not match the pattern {value!r}."
    if kw == "format":
        return f"{_short(inst)} is not a valid {value}."
    return err.message[:1].upper() + err.message[1:] + ("" if err.message.endswith(".") else ".")
