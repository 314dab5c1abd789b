"""Small helpers shared by the schema modules: JSON paths, type lists, JSON error positions."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from playground.errors import ErrorKind, PlaygroundError
from playground.schema._rules import InputLimits, input_limits

_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


def child_path(path: str, key: str | int) -> str:
    """``$.a`` + ``b`` -> ``$.a.b``; an index gives ``$.a[2]``; odd keys use ``['...']``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENT.match(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key)}]"


def type_list(schema: dict) -> list[str] | None:
    """The schema's "type" as a list, or None when it has no "type" keyword."""
    t = schema.get("type")
    if t is None:
        return None
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return [x for x in t if isinstance(x, str)]
    return []


def is_object_schema(schema: dict) -> bool:
    types = type_list(schema)
    return (types is not None and "object" in types) or (types is None and "properties" in schema)


def is_null_schema(schema: Any) -> bool:
    return isinstance(schema, dict) and type_list(schema) == ["null"] and "enum" not in schema


def is_nullable(schema: dict) -> bool:
    """True when the schema already accepts null (type union, anyOf branch, or enum/const null)."""
    types = type_list(schema)
    if types is not None and "null" in types:
        return True
    any_of = schema.get("anyOf")
    if isinstance(any_of, list) and any(is_null_schema(b) or (isinstance(b, dict) and is_nullable(b)) for b in any_of):
        return True
    if types is None and isinstance(schema.get("enum"), list) and None in schema["enum"]:
        return True
    return types is None and "const" in schema and schema["const"] is None


def looks_truncated(text: str) -> bool:
    """True when ``text`` ends inside a string or with brackets still open (a cut-off reply)."""
    stack: list[str] = []
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            stack.append(ch)
        elif ch in "]}":
            if stack:
                stack.pop()
            else:
                return False
    return in_string or bool(stack)


def load_json_text(text: str, what: str) -> Any:
    """The JSON value in pasted ``text``, within the ``[input_limits]`` of ``strict_rules.toml``.

    Every JSON a user pastes goes through here. Malformed JSON, text that is too long, nested too
    deeply or holding too many keys raises a PlaygroundError (INVALID_INPUT) that says which,
    and where: never a RecursionError, and never minutes of work on a huge document.
    """
    limits = input_limits()
    if not text or not text.strip():
        raise PlaygroundError(ErrorKind.INVALID_INPUT, f"The {what} is empty; paste a JSON document.")
    if len(text) > limits.max_chars:
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT,
            f"The {what} has {len(text):,} characters; at most {limits.max_chars:,} are accepted. "
            "Paste a smaller document.",
        )
    try:
        value = json.loads(text)
    except RecursionError:  # the decoder recurses once per nested bracket
        raise _too_deep(what, limits.max_depth) from None
    except json.JSONDecodeError as exc:
        hint = (
            " It looks truncated (it ends before all brackets and strings are closed)."
            if (looks_truncated(text))
            else ""
        )
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT,
            f"The {what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.{hint}",
            details={"line": exc.lineno, "column": exc.colno, "position": exc.pos},
        ) from None
    _check_size(value, what, limits)
    return value


def _too_deep(what: str, max_depth: int) -> PlaygroundError:
    return PlaygroundError(
        ErrorKind.INVALID_INPUT,
        f"The {what} is nested more than {max_depth} levels deep; flatten it (strict schemas allow far fewer levels).",
    )


def _check_size(value: Any, what: str, limits: InputLimits) -> None:
    """Depth and key count of a parsed value, walked without recursion and stopped at the first limit."""
    keys = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
            keys += len(node)
            if keys > limits.max_keys:
                raise PlaygroundError(
                    ErrorKind.INVALID_INPUT,
                    f"The {what} has more than {limits.max_keys:,} keys; paste a smaller document.",
                )
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limits.max_depth:
            raise _too_deep(what, limits.max_depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
