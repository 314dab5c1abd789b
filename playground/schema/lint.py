"""Strict-mode linter and one-click fixer for Structured Outputs schemas.

:func:`lint_strict` lists every way a schema breaks the strict subset of the chosen provider
(rules and limits come from ``strict_rules.toml``); :func:`fix_strict` repairs what can be repaired
without changing what the schema means in a harmful way, and explains each change.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict

from playground.schema._common import child_path, is_nullable, is_object_schema, type_list
from playground.schema._rules import ProviderRules, name_rule, provider_rules

_ANNOTATIONS = ("description", "title", "$comment")
_OBJECT_HINTS = ("properties", "required", "additionalProperties")


class Violation(BaseModel):
    """One way a schema breaks strict mode.

    ``path`` is a JSON path into the schema (``$.properties.items.items.properties.sku``),
    ``rule`` a short stable id (see :data:`RULES`), ``message`` one plain sentence,
    ``fixable`` whether :func:`fix_strict` repairs it.
    """

    model_config = ConfigDict(frozen=True)

    path: str
    rule: str
    message: str
    fixable: bool = False


RULES: dict[str, str] = {
    "invalid_schema": "a schema position holds something that is not a JSON object",
    "root_not_object": "the root must be an object",
    "root_any_of": "the root must not be an anyOf",
    "missing_type": "a schema without a type",
    "unsupported_type": "a type outside the strict subset",
    "additional_properties": "an object without additionalProperties: false",
    "additional_properties_schema": "an object whose additionalProperties is a schema (an open map)",
    "not_required": "a property missing from required",
    "required_unknown": "required names a property that does not exist",
    "unsupported_keyword": "a keyword the provider documents as unsupported",
    "keyword_not_allowed": "a keyword not in the supported subset for this type",
    "unsupported_format": "a string format outside the supported list",
    "enum_missing_null": "a nullable enum whose values do not include null",
    "invalid_value": "a keyword whose value has the wrong type (e.g. a string minimum)",
    "invalid_enum": "an enum that is empty, not a list, or has object/array values (or such a const)",
    "array_without_items": "an array without an items schema",
    "definitions_keyword": "'definitions' instead of '$defs'",
    "ref_unresolved": "a $ref that does not resolve to '#' or '#/$defs/...'",
    "ref_cycle": "a $ref that leads back to itself without an object in between (node -> node, a -> b -> a)",
    "too_many_properties": "more properties in total than the provider allows",
    "too_deep": "more levels of object nesting than the provider allows",
    "too_many_chars": "too many characters of names and enum/const values",
    "too_many_enum_values": "more enum values in total than the provider allows",
    "large_string_enum": "a large string enum whose values are too long in total",
    "name_empty": "the schema name is empty",
    "name_chars": "the schema name has characters outside a-z A-Z 0-9 _ -",
    "name_too_long": "the schema name is longer than allowed",
}


def lint_strict(schema: dict, provider: str = "openai") -> list[Violation]:
    """Every strict-mode violation in ``schema`` for ``provider`` ("openai", "azure", "compatible")."""
    rules = provider_rules(provider)
    checker = _Checker(schema, rules, fixing=False)
    checker.run()
    if isinstance(schema, dict):
        checker.violations.extend(_check_limits(schema, rules))
    return checker.violations


def fix_strict(schema: dict, provider: str = "openai") -> tuple[dict, list[str]]:
    """Repair the fixable violations of ``schema``; returns (new schema, one note per change).

    The input is not mutated. Optional properties become required and nullable, objects get
    ``additionalProperties: false``, unsupported keywords and formats are dropped. What cannot be
    fixed safely (limits, unsupported types, a non-object root, open maps) is left for the user.
    """
    rules = provider_rules(provider)
    fixed = copy.deepcopy(schema)
    checker = _Checker(fixed, rules, fixing=True)
    checker.run()
    return fixed, checker.notes


def lint_name(name: str) -> list[Violation]:
    """Violations of the schema/function name rule (a-z A-Z 0-9 _ -, at most 64 characters)."""
    rule = name_rule()
    out: list[Violation] = []
    if not name:
        return [
            Violation(
                path="name",
                rule="name_empty",
                message="The schema name is empty; give it a short name such as 'invoice_extraction'.",
            )
        ]
    if not rule.regex.match(name):
        bad = sorted({ch for ch in name if not rule.regex.match(ch)})
        shown = ", ".join(repr(c) for c in bad)
        out.append(
            Violation(
                path="name",
                rule="name_chars",
                message=f"The schema name may only use letters, digits, '_' and '-'; remove or replace {shown}.",
                fixable=False,
            )
        )
    if len(name) > rule.max_length:
        out.append(
            Violation(
                path="name",
                rule="name_too_long",
                message=f"The schema name has {len(name)} characters; the limit is {rule.max_length}.",
            )
        )
    return out


def make_nullable(schema: dict) -> dict:
    """A copy of ``schema`` that also accepts null, in the form strict mode supports.

    Primitive types get a type union (``["string", "null"]``; an enum also gains ``null`` in its
    values); ``$ref``, ``const``, objects, arrays and anything else are wrapped as
    ``{"anyOf": [schema, {"type": "null"}]}`` with the description kept on the outside.
    """
    if is_nullable(schema):
        return copy.deepcopy(schema)
    out = copy.deepcopy(schema)
    types = type_list(out)
    complex_ = "$ref" in out or "const" in out or (types is not None and bool({"object", "array"} & set(types)))
    if isinstance(out.get("anyOf"), list):
        out["anyOf"] = [*out["anyOf"], {"type": "null"}]
        return out
    if types and not complex_:
        out["type"] = [*types, "null"]
        if isinstance(out.get("enum"), list):
            out["enum"] = [*out["enum"], None]
        return out
    if types is None and not complex_ and isinstance(out.get("enum"), list):
        out["enum"] = [*out["enum"], None]
        return out
    annotations = {k: out.pop(k) for k in _ANNOTATIONS if k in out}
    return {"anyOf": [out, {"type": "null"}], **annotations}


# --------------------------------------------------------------------------------------------
# The walker: one pass reports violations and, in fixing mode, repairs the fixable ones.


class _Checker:
    def __init__(self, root: Any, rules: ProviderRules, fixing: bool) -> None:
        self.root = root
        self.rules = rules
        self.fixing = fixing
        self.violations: list[Violation] = []
        self.notes: list[str] = []

    def report(self, path: str, rule: str, message: str, fixable: bool, note: str | None = None) -> bool:
        """Record a violation; returns True when the caller should apply its fix now."""
        if self.fixing:
            if fixable and note:
                self.notes.append(note)
            return fixable
        self.violations.append(Violation(path=path, rule=rule, message=message, fixable=fixable))
        return False

    # -- root -----------------------------------------------------------------------------
    def run(self) -> None:
        root = self.root
        if not isinstance(root, dict):
            self.report("$", "invalid_schema", "The schema must be a JSON object.", False)
            return
        self._check_definitions(root)
        if isinstance(root.get("anyOf"), list):
            self.report(
                "$",
                "root_any_of",
                "The root of the schema is an 'anyOf'; strict mode needs the root "
                "to be a single object — wrap the alternatives in a property instead.",
                False,
            )
        elif type_list(root) != ["object"] and not (type_list(root) is None and "properties" in root):
            self.report(
                "$",
                "root_not_object",
                'The root of the schema must be an object ("type": "object"); '
                "wrap the value in a property of an object.",
                False,
            )
        self.walk(root, "$")

    def _check_definitions(self, root: dict) -> None:
        if "definitions" not in root:
            return
        if "$defs" in root:
            self.report(
                "$.definitions",
                "definitions_keyword",
                "The schema uses both 'definitions' and '$defs'; strict mode only reads '$defs' — merge them by hand.",
                False,
            )
            return
        if self.report(
            "$.definitions",
            "definitions_keyword",
            "Definitions must live under '$defs' (not 'definitions') in strict mode.",
            True,
            "Renamed 'definitions' to '$defs' and updated the $refs that point into it.",
        ):
            defs = root.pop("definitions")
            root["$defs"] = defs
            _rewrite_refs(root)

    # -- any schema -----------------------------------------------------------------------
    def walk(self, node: Any, path: str) -> None:
        if not isinstance(node, dict):
            kind = "true/false" if isinstance(node, bool) else type(node).__name__
            self.report(
                path,
                "invalid_schema",
                f"The schema at {path} is {kind}, not a JSON object; strict mode needs an explicit schema with a type.",
                False,
            )
            return
        self._check_type(node, path)
        types = type_list(node)
        self._check_keywords(node, path, types)
        if isinstance(node.get("format"), str) and "format" in self.rules.allowed_keywords(types):
            self._check_format(node, path)
        self._check_enum(node, path)
        self._check_values(node, path, types)
        enum = node.get("enum")
        if (
            types
            and "null" in types
            and isinstance(enum, list)
            and None not in enum
            and self.report(
                path,
                "enum_missing_null",
                f"The enum at {path} allows null by its type but null is not one "
                "of its values; add null to the values.",
                True,
                f"Added null to the enum values at {path} (its type allows null).",
            )
        ):
            node["enum"] = [*enum, None]
        if "$ref" in node:
            self._check_ref(node, path)
        if types and "object" in types:
            self._check_object(node, path)
        if types and "array" in types:
            self._check_array(node, path)
        any_of = node.get("anyOf")
        if isinstance(any_of, list):
            for i, branch in enumerate(any_of):
                self.walk(branch, child_path(child_path(path, "anyOf"), i))
        defs = node.get("$defs")
        if isinstance(defs, dict):
            for name, sub in defs.items():
                self.walk(sub, child_path(child_path(path, "$defs"), name))

    def _check_type(self, node: dict, path: str) -> None:
        types = type_list(node)
        if types is None:
            if any(k in node for k in ("enum", "const", "anyOf", "$ref")):
                return
            inferred = "object" if any(k in node for k in _OBJECT_HINTS) else "array" if "items" in node else None
            if inferred:
                if self.report(
                    path,
                    "missing_type",
                    f'The schema at {path} has no \'type\'; it looks like an {inferred}, so add "type": "{inferred}".',
                    True,
                    f'Added "type": "{inferred}" at {path}.',
                ):
                    _insert_first(node, "type", inferred)
            else:
                self.report(
                    path,
                    "missing_type",
                    f"The schema at {path} has no 'type'; strict mode needs every "
                    "value to have a type (string, number, integer, boolean, object or array).",
                    False,
                )
            return
        raw = node["type"]
        if not types or (isinstance(raw, list) and len(types) != len(raw)):
            self.report(
                path, "unsupported_type", f"The 'type' at {path} must be a type name or a list of type names.", False
            )
            return
        for t in types:
            if t not in self.rules.types:
                self.report(
                    path,
                    "unsupported_type",
                    f"Type '{t}' at {path} is not a JSON Schema type strict "
                    f"mode supports; use one of {', '.join(self.rules.types)}.",
                    False,
                )

    def _check_keywords(self, node: dict, path: str, types: list[str] | None) -> None:
        allowed = self.rules.allowed_keywords(types)
        where = f"type '{'/'.join(types)}'" if types else "a schema without a type"
        for kw in list(node):
            if kw == "definitions" and node is self.root:
                continue  # handled by _check_definitions
            if kw in self.rules.unsupported_keywords:
                if self.report(
                    child_path(path, kw),
                    "unsupported_keyword",
                    f"'{kw}' at {path} is not supported "
                    f"in strict mode{self._provider_suffix()}; remove it and describe the rule in "
                    "the description instead.",
                    True,
                    f"Removed '{kw}' from {path} (not supported in strict mode{self._provider_suffix()}).",
                ):
                    del node[kw]
            elif kw not in allowed and self.report(
                child_path(path, kw),
                "keyword_not_allowed",
                f"'{kw}' at {path} is not part of the strict-mode subset for {where}; remove it.",
                True,
                f"Removed '{kw}' from {path} (not in the strict-mode subset for {where}).",
            ):
                del node[kw]

    def _check_values(self, node: dict, path: str, types: list[str] | None) -> None:
        """Keyword values of the wrong JSON type (a string minimum, a negative minItems...)."""
        allowed = self.rules.allowed_keywords(types) - set(self.rules.unsupported_keywords)
        for kw in allowed & set(node):
            value = node[kw]
            if kw in _NUMBER_KEYWORDS:
                ok = _is_number(value) and (kw != "multipleOf" or value > 0)
                expected = "a positive number" if kw == "multipleOf" else "a number"
            elif kw in ("minItems", "maxItems"):
                ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
                expected = "a whole number of 0 or more"
            elif kw in ("pattern", "format", "description", "title", "$comment"):
                ok, expected = isinstance(value, str), "a string"
            elif kw == "$defs":
                ok, expected = isinstance(value, dict), "an object mapping names to schemas"
            elif kw == "anyOf":
                ok, expected = isinstance(value, list) and bool(value), "a non-empty list of schemas"
            else:
                continue
            if not ok:
                self.report(
                    child_path(path, kw),
                    "invalid_value",
                    f"'{kw}' at {path} must be {expected}, not {json.dumps(value)[:40]}.",
                    False,
                )

    def _check_enum(self, node: dict, path: str) -> None:
        if "enum" in node:
            enum = node["enum"]
            if not isinstance(enum, list) or not enum:
                self.report(
                    child_path(path, "enum"),
                    "invalid_enum",
                    f"'enum' at {path} must be a non-empty list of values.",
                    False,
                )
            elif not all(_is_scalar(v) for v in enum):
                self.report(
                    child_path(path, "enum"),
                    "invalid_enum",
                    f"The enum at {path} has an object or array "
                    "value; enum values must be strings, numbers, booleans or null.",
                    False,
                )
        if "const" in node and not _is_scalar(node["const"]):
            self.report(
                child_path(path, "const"),
                "invalid_enum",
                f"'const' at {path} must be a string, number, boolean or null.",
                False,
            )

    def _provider_suffix(self) -> str:
        return " on Azure OpenAI" if self.rules.name == "azure" else ""

    def _check_format(self, node: dict, path: str) -> None:
        fmt = node["format"]
        if fmt in self.rules.formats:
            return
        allowed = ", ".join(self.rules.formats) or "none"
        if self.report(
            child_path(path, "format"),
            "unsupported_format",
            f"String format '{fmt}' at {path} is not supported in strict mode (supported: {allowed}); remove it.",
            True,
            f"Removed format '{fmt}' from {path} (not a supported strict-mode format).",
        ):
            del node["format"]

    def _check_ref(self, node: dict, path: str) -> None:
        ref = node["$ref"]
        if not isinstance(ref, str):
            self.report(path, "ref_unresolved", f"'$ref' at {path} must be a string.", False)
            return
        if ref.startswith("#/definitions/") and "definitions" in self.root and "$defs" not in self.root:
            self.report(
                child_path(path, "$ref"),
                "ref_unresolved",
                f"'$ref' {ref!r} at {path} points into 'definitions'; strict mode needs '#/$defs/...'.",
                True,
            )
            return
        if ref != "#" and not ref.startswith("#/$defs/"):
            self.report(
                child_path(path, "$ref"),
                "ref_unresolved",
                f"'$ref' {ref!r} at {path} is not "
                "supported; strict mode only resolves '#' and '#/$defs/...' inside the schema.",
                False,
            )
            return
        target = resolve_ref(self.root, ref)
        if target is None:
            self.report(
                child_path(path, "$ref"),
                "ref_unresolved",
                f"'$ref' {ref!r} at {path} does not point "
                "to anything in this schema; add the definition under '$defs'.",
                False,
            )
        elif _leads_back(self.root, target, node):
            self.report(
                child_path(path, "$ref"),
                "ref_cycle",
                f"'$ref' {ref!r} at {path} leads back to itself without an object in between, so no value can "
                "ever match it; point it at an object (recursion must go through a property or an array item).",
                False,
            )

    def _check_object(self, node: dict, path: str) -> None:
        props = node.get("properties", {})
        if not isinstance(props, dict):
            self.report(
                child_path(path, "properties"),
                "invalid_schema",
                f"'properties' at {path} must be an object mapping names to schemas.",
                False,
            )
            return
        ap = node.get("additionalProperties")
        if isinstance(ap, dict):
            self.report(
                child_path(path, "additionalProperties"),
                "additional_properties_schema",
                f"The object at {path} allows arbitrary extra keys (a map); strict mode needs "
                "additionalProperties false — model the entries as an array of key/value objects.",
                False,
            )
        elif ap is not False and self.report(
            child_path(path, "additionalProperties"),
            "additional_properties",
            f'The object at {path} must set "additionalProperties": false in strict mode.',
            True,
            f'Added "additionalProperties": false at {path}.',
        ):
            _insert_after(node, "additionalProperties", False, ("properties", "required"))
        required = node.get("required", [])
        if not isinstance(required, list):
            self.report(
                child_path(path, "required"),
                "required_unknown",
                f"'required' at {path} must be a list of property names.",
                True,
                f"Replaced the malformed 'required' at {path}.",
            )
            required = []
        for name in required:
            if not isinstance(name, str) or name not in props:  # the fix rewrites 'required' below
                self.report(
                    child_path(path, "required"),
                    "required_unknown",
                    f"'required' at {path} lists {name!r}, which is not a property; remove it from 'required'.",
                    True,
                    f"Removed {name!r} from 'required' at {path} (no such property).",
                )
        required = [r for r in required if isinstance(r, str)]
        for name in props:
            if name not in required:
                sub_path = child_path(child_path(path, "properties"), name)
                fix = self.report(
                    sub_path,
                    "not_required",
                    f"Property '{name}' is not listed in 'required'; "
                    "strict mode needs every property required — make it nullable instead.",
                    True,
                    f"Made '{name}' required and nullable at {sub_path} (it was optional).",
                )
                if fix and isinstance(props[name], dict):
                    props[name] = make_nullable(props[name])
        if self.fixing and (props or "required" in node):
            _insert_after(node, "required", list(props), ("properties",))
        for name, sub in props.items():
            self.walk(sub, child_path(child_path(path, "properties"), name))

    def _check_array(self, node: dict, path: str) -> None:
        items = node.get("items")
        if items is None:
            self.report(
                path,
                "array_without_items",
                f"The array at {path} has no 'items'; strict mode needs the type of its elements.",
                False,
            )
        elif isinstance(items, list):
            self.report(
                child_path(path, "items"),
                "invalid_schema",
                f"'items' at {path} is a list (tuple "
                "validation), which strict mode does not support; use one schema for every element.",
                False,
            )
        else:
            self.walk(items, child_path(path, "items"))


_NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _insert_first(node: dict, key: str, value: Any) -> None:
    items = list(node.items())
    node.clear()
    node[key] = value
    node.update(items)


def _insert_after(node: dict, key: str, value: Any, anchors: tuple[str, ...]) -> None:
    """Set ``node[key]``; a new key goes right after the last present anchor (else at the end)."""
    if key in node or not any(a in node for a in anchors):
        node[key] = value
        return
    last = max(i for i, k in enumerate(node) if k in anchors)
    items = list(node.items())
    node.clear()
    node.update(items[: last + 1])
    node[key] = value
    node.update(items[last + 1 :])


def _rewrite_refs(node: Any) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            node["$ref"] = "#/$defs/" + ref.removeprefix("#/definitions/")
        for v in node.values():
            _rewrite_refs(v)
    elif isinstance(node, list):
        for v in node:
            _rewrite_refs(v)


# Keywords whose subschemas apply to the same value as their parent (no step into a property or an
# item): a $ref cycle through only these never reaches a smaller value, so validation never ends.
_SAME_VALUE_LISTS = ("anyOf", "allOf", "oneOf")
_SAME_VALUE_SCHEMAS = ("not", "if", "then", "else")


def _leads_back(root: dict, start: Any, origin: dict) -> bool:
    """True when ``origin`` is reached again from ``start`` through $refs and same-value keywords."""
    seen: set[int] = set()
    stack = [start]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict) or id(node) in seen:
            continue
        if node is origin:
            return True
        seen.add(id(node))
        ref = node.get("$ref")
        if isinstance(ref, str):
            stack.append(resolve_ref(root, ref))
        for kw in _SAME_VALUE_LISTS:
            if isinstance(node.get(kw), list):
                stack.extend(node[kw])
        stack.extend(node.get(kw) for kw in _SAME_VALUE_SCHEMAS)
    return False


def resolve_ref(root: dict, ref: str) -> Any:
    """The schema ``ref`` points to inside ``root`` (``#`` or a JSON pointer), or None."""
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        key = unquote(part).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


# --------------------------------------------------------------------------------------------
# Limits


def _subschemas(node: dict, path: str) -> Iterator[tuple[str, Any]]:
    """Direct subschemas of ``node`` with their paths (every keyword that holds schemas)."""
    for kw in ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas"):
        value = node.get(kw)
        if isinstance(value, dict):
            for name, sub in value.items():
                yield child_path(child_path(path, kw), name), sub
    for kw in ("anyOf", "allOf", "oneOf", "prefixItems"):
        value = node.get(kw)
        if isinstance(value, list):
            for i, sub in enumerate(value):
                yield child_path(child_path(path, kw), i), sub
    for kw in ("items", "additionalProperties", "not", "if", "then", "else", "contains"):
        value = node.get(kw)
        if isinstance(value, dict):
            yield child_path(path, kw), value
        elif kw == "items" and isinstance(value, list):
            for i, sub in enumerate(value):
                yield child_path(child_path(path, kw), i), sub


def _all_nodes(root: dict) -> Iterator[tuple[str, dict]]:
    stack: list[tuple[str, Any]] = [("$", root)]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, dict):
            continue
        yield path, node
        stack.extend(reversed(list(_subschemas(node, path))))


def _value_chars(value: Any) -> int:
    return len(value) if isinstance(value, str) else len(json.dumps(value))


def _check_limits(root: dict, rules: ProviderRules) -> list[Violation]:
    limits = rules.limits
    out: list[Violation] = []
    n_props = chars = n_enum = 0
    where = f" for {rules.label}"
    for path, node in _all_nodes(root):
        props = node.get("properties")
        if isinstance(props, dict):
            n_props += len(props)
            chars += sum(len(k) for k in props)
        for kw in ("$defs", "definitions"):
            if isinstance(node.get(kw), dict):
                chars += sum(len(k) for k in node[kw])
        if "const" in node:
            chars += _value_chars(node["const"])
        enum = node.get("enum")
        if isinstance(enum, list):
            n_enum += len(enum)
            chars += sum(_value_chars(v) for v in enum)
            strings = [v for v in enum if isinstance(v, str)]
            if strings and len(strings) == len([v for v in enum if v is not None]):
                size = sum(len(v) for v in strings)
                if len(strings) > limits.large_string_enum_values and size > limits.large_string_enum_chars:
                    out.append(
                        Violation(
                            path=child_path(path, "enum"),
                            rule="large_string_enum",
                            message=(
                                f"The enum at {path} has {len(strings)} values totalling {size:,} characters; an enum "
                                f"with more than {limits.large_string_enum_values} values may use at most "
                                f"{limits.large_string_enum_chars:,} characters{where}."
                            ),
                        )
                    )
    if n_props > limits.max_properties:
        out.append(
            Violation(
                path="$",
                rule="too_many_properties",
                message=(
                    f"The schema has {n_props:,} properties in total; the limit is {limits.max_properties:,}{where}."
                ),
            )
        )
    if chars > limits.max_chars:
        out.append(
            Violation(
                path="$",
                rule="too_many_chars",
                message=(
                    f"Property names, definition names and enum/const values add up to {chars:,} characters; the "
                    f"limit is {limits.max_chars:,}{where}."
                ),
            )
        )
    if n_enum > limits.max_enum_values:
        out.append(
            Violation(
                path="$",
                rule="too_many_enum_values",
                message=(
                    f"The schema has {n_enum:,} enum values in total; the limit is {limits.max_enum_values:,}{where}."
                ),
            )
        )
    depth, deepest = nesting_depth(root)
    if depth > limits.max_depth:
        out.append(
            Violation(
                path=deepest,
                rule="too_deep",
                message=(
                    f"Objects are nested {depth} levels deep (at {deepest}); the limit is {limits.max_depth} "
                    f"levels{where}."
                ),
            )
        )
    return out


def nesting_depth(root: dict) -> tuple[int, str]:
    """(object levels on the deepest path, path of the deepest object); the root object is level 1.

    ``$ref`` is followed into its target; a reference back into a definition already on the path
    (recursion) is not.
    """
    best = (0, "$")

    def visit(node: Any, path: str, depth: int, refs: tuple[str, ...]) -> None:
        nonlocal best
        if not isinstance(node, dict):
            return
        if is_object_schema(node):
            depth += 1
            if depth > best[0]:
                best = (depth, path)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in refs:
            target = resolve_ref(root, ref)
            if target is not None:
                visit(target, path, depth, (*refs, ref))
        for sub_path, sub in _subschemas(node, path):
            if sub_path.startswith(f"{path}.$defs") or sub_path.startswith(f"{path}.definitions"):
                continue
            visit(sub, sub_path, depth, refs)

    visit(root, "$", 0, ("#",))
    defs = root.get("$defs")
    if isinstance(defs, dict):  # definitions nobody references still count on their own
        for name, sub in defs.items():
            visit(sub, child_path("$.$defs", name), 0, (f"#/$defs/{name}",))
    return best
