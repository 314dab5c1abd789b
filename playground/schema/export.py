"""Getting a schema out: the ``response_format`` payload, and equivalent Pydantic v2 source."""

from __future__ import annotations

import copy
import keyword
import re
from typing import Any

from pydantic import BaseModel

from playground.errors import ErrorKind, PlaygroundError
from playground.schema._common import is_object_schema, type_list
from playground.schema.lint import lint_name, resolve_ref


def response_format_payload(schema: dict, name: str, strict: bool = True, description: str | None = None) -> dict:
    """The exact Chat Completions ``response_format`` dict for ``schema``.

    Raises PlaygroundError (INVALID_INPUT) when ``name`` breaks the name rule.
    """
    problems = lint_name(name)
    if problems:
        raise PlaygroundError(ErrorKind.INVALID_INPUT, problems[0].message)
    json_schema: dict[str, Any] = {"name": name}
    if description:
        json_schema["description"] = description
    json_schema["schema"] = copy.deepcopy(schema)
    json_schema["strict"] = strict
    return {"type": "json_schema", "json_schema": json_schema}


# --------------------------------------------------------------------------------------------
# Pydantic source

# Formats with a richer Python type. The models are strict (like JSON Schema: no "3" for 3), so
# these fields opt out of strictness to parse their string form, and a helper rejects non-strings
# (lax parsing would take a number as a timestamp).
_FORMAT_TYPES = {
    "date-time": ("dt.datetime", "import datetime as dt"),
    "date": ("dt.date", "import datetime as dt"),
    "time": ("dt.time", "import datetime as dt"),
    "duration": ("dt.timedelta", "import datetime as dt"),
    "uuid": ("uuid.UUID", "import uuid"),
    "ipv4": ("ipaddress.IPv4Address", "import ipaddress"),
    "ipv6": ("ipaddress.IPv6Address", "import ipaddress"),
}
_NUMBER_CONSTRAINTS = {
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "multipleOf": "multiple_of",
}
_HELPERS = {
    "_reject_bool": [
        "def _reject_bool(value: object) -> object:",
        '    """Numbers only: JSON Schema does not count true/false as 1/0."""',
        "    if isinstance(value, bool):",
        '        raise ValueError("expected a number, not a boolean")',
        "    return value",
    ],
    "_require_str": [
        "def _require_str(value: object) -> object:",
        '    """Dates, UUIDs... arrive as JSON strings; a number is not a valid value."""',
        "    if not isinstance(value, str):",
        '        raise ValueError("expected a string")',
        "    return value",
    ],
}

# Names the generated annotations use: a field with one of these names would shadow it in the class body.
_RESERVED = {
    "dt",
    "uuid",
    "ipaddress",
    "Annotated",
    "Any",
    "Literal",
    "Optional",
    "Union",
    "BaseModel",
    "BeforeValidator",
    "ConfigDict",
    "Field",
    "_reject_bool",
    "_require_str",
    "str",
    "int",
    "float",
    "bool",
    "list",
    "dict",
    "None",
    "True",
    "False",
}


def to_pydantic_source(schema: dict, root_name: str = "Response") -> str:
    """Python source of Pydantic v2 models equivalent to the object schema ``schema``.

    One class per object (nested objects and ``$defs`` get their own classes, named after the
    property or definition), ``Literal[...]`` for enums, ``X | None`` for nullable values,
    ``list[...]`` with ``Field(min_length=..)`` for array bounds, ``ge``/``le``/``pattern`` for
    constraints, and forward references plus ``model_rebuild()`` for recursion. The models use
    ``strict=True`` (as JSON Schema, "3" is not an integer) and ``extra="forbid"`` for closed objects.
    """
    if not isinstance(schema, dict) or not is_object_schema(schema):
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT, "Only a schema whose root is an object can be exported as Pydantic models."
        )
    return _Writer(schema, root_name).write()


def _pascal(name: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name))
    out = "".join(w[:1].upper() + w[1:] for w in words)
    if not out or out[0].isdigit():
        out = "Model" + out
    return out


def _singular(name: str) -> str:
    lower = name.lower()
    if lower.endswith("ies") and len(name) > 3:
        return name[:-3] + "y"
    if lower.endswith(("sses", "xes", "ches", "shes")):
        return name[:-2]
    if lower.endswith("s") and not lower.endswith("ss") and len(name) > 1:
        return name[:-1]
    return name + "Item"


class _Writer:
    def __init__(self, root: dict, root_name: str) -> None:
        self.root = root
        self.root_name = self._unique(_pascal(root_name) if root_name else "Response", reserve=False)
        self.used: set[str] = {self.root_name}
        self.blocks: list[str] = []
        self.imports: set[str] = set()
        self.typing: set[str] = set()
        self.done: set[str] = set()
        self.in_progress: set[str] = set()
        self.rebuild: list[str] = []
        self.ref_classes: dict[str, str] = {"#": self.root_name}
        self.ref_stack: list[str] = []
        self.helpers: set[str] = set()

    def _unique(self, name: str, reserve: bool = True) -> str:
        base = name if name not in _RESERVED and not keyword.iskeyword(name) else name + "Model"
        candidate, n = base, 2
        while reserve and candidate in self.used:
            candidate, n = f"{base}{n}", n + 1
        if reserve:
            self.used.add(candidate)
        return candidate

    # -- driver -----------------------------------------------------------------------------
    def write(self) -> str:
        self.in_progress.add(self.root_name)
        self._class(self.root_name, self.root)
        defs = self.root.get("$defs")
        if isinstance(defs, dict):  # definitions nobody references are still exported
            for def_name in defs:
                self._ref_type(f"#/$defs/{def_name}")
        lines = ["# Generated from a JSON schema by the GPT-4.1-mini playground.", ""]
        for imp in sorted(self.imports):
            lines.append(imp)
        typing_names = sorted(self.typing)
        if typing_names:
            lines.append(f"from typing import {', '.join(typing_names)}")
        pydantic_names = (
            "BaseModel, BeforeValidator, ConfigDict, Field" if self.helpers else ("BaseModel, ConfigDict, Field")
        )
        lines += ["", f"from pydantic import {pydantic_names}", ""]
        for helper in sorted(self.helpers):
            lines += ["", *_HELPERS[helper], ""]
        for block in self.blocks:
            lines += ["", block, ""]
        if self.rebuild:
            lines.append("")
            lines += [f"{cls}.model_rebuild()" for cls in dict.fromkeys(self.rebuild)]
        return "\n".join(lines).rstrip() + "\n"

    # -- classes ----------------------------------------------------------------------------
    def _class(self, name: str, node: dict) -> None:
        self.in_progress.add(name)
        props = node.get("properties", {})
        props = props if isinstance(props, dict) else {}
        required = node.get("required", [])
        required = {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()
        lines = [f"class {name}(BaseModel):"]
        description = node.get("description")
        if isinstance(description, str) and description:
            lines.append(f"    {_docstring(description)}")
            lines.append("")
        config = 'extra="forbid", strict=True' if node.get("additionalProperties") is False else "strict=True"
        lines.append(f"    model_config = ConfigDict({config})")
        if props:
            lines.append("")
        used_attrs: set[str] = set()
        for prop, sub in props.items():
            type_expr = self._type(sub, _pascal(prop))  # first: it may define classes the name must avoid
            attr = self._attr_name(prop, used_attrs)
            used_attrs.add(attr)
            field_args: list[str] = []
            if prop not in required:
                # Missing -> None, but an explicit null is still rejected unless the schema allows it
                # (pydantic does not validate defaults): the same documents pass as with JSON Schema.
                field_args.append("default=None")
            if attr != prop:
                field_args.append(f"alias={prop!r}")
            sub_description = sub.get("description") if isinstance(sub, dict) else None
            if isinstance(sub_description, str) and sub_description:
                field_args.append(f"description={sub_description!r}")
            if field_args:
                lines.append(f"    {attr}: {type_expr} = Field({', '.join(field_args)})")
            else:
                lines.append(f"    {attr}: {type_expr}")
        self.blocks.append("\n".join(lines))
        self.in_progress.discard(name)
        self.done.add(name)

    def _attr_name(self, prop: str, used: set[str]) -> str:
        attr = re.sub(r"\W", "_", prop)
        if not attr or attr[0].isdigit():
            attr = "field_" + attr
        if attr.startswith("_"):
            attr = "field" + attr
        if (
            keyword.iskeyword(attr)
            or attr in _RESERVED
            or attr in self.used
            or attr.startswith("model_")
            or hasattr(BaseModel, attr)
        ):
            attr += "_"
        while attr in used:
            attr += "_"
        return attr

    def _class_ref(self, name: str) -> str:
        """A reference to class ``name``: quoted (and rebuilt later) when not defined yet."""
        if name in self.done:
            return name
        self.rebuild.append(name)
        return f'"{name}"'

    # -- types ------------------------------------------------------------------------------
    def _type(self, node: Any, hint: str) -> str:
        if not isinstance(node, dict):
            self.typing.add("Any")
            return "Any"
        if "$ref" in node:
            return self._ref_type(node["$ref"])
        if isinstance(node.get("anyOf"), list):
            return self._union([self._type(b, hint) for b in node["anyOf"]])
        if "const" in node:
            if isinstance(node["const"], dict | list):
                return self._any()
            return "None" if node["const"] is None else self._literal([node["const"]])
        if isinstance(node.get("enum"), list) and node["enum"]:
            if any(isinstance(v, dict | list) for v in node["enum"]):
                return self._any()
            values = [v for v in node["enum"] if v is not None]
            parts = [self._literal(values)] if values else []
            if None in node["enum"]:
                parts.append("None")
            return self._union(parts)
        types = type_list(node)
        if types is None:
            if "properties" in node:
                types = ["object"]
            else:
                self.typing.add("Any")
                return "Any"
        return self._union([self._single_type(node, t, hint) for t in types])

    def _single_type(self, node: dict, t: str, hint: str) -> str:
        if t == "null":
            return "None"
        if t == "boolean":
            return "bool"
        if t in ("integer", "number"):
            base = "int" if t == "integer" else "float"
            args = [f"{py}={node[js]!r}" for js, py in _NUMBER_CONSTRAINTS.items() if js in node]
            return self._annotated(base, args)
        if t == "string":
            fmt = node.get("format")
            args = []
            if fmt in _FORMAT_TYPES and "pattern" not in node:
                base, imp = _FORMAT_TYPES[fmt]
                self.imports.add(imp)
                self.helpers.add("_require_str")
                self.typing.add("Annotated")
                # the typed value is parsed from its string form only, as JSON Schema would see it
                return f"Annotated[{base}, Field(strict=False), BeforeValidator(_require_str)]"
            base = "str"
            if isinstance(node.get("pattern"), str):
                args.append(f"pattern={node['pattern']!r}")
            for js, py in (("minLength", "min_length"), ("maxLength", "max_length")):
                if js in node:
                    args.append(f"{py}={node[js]!r}")
            return self._annotated(base, args)
        if t == "array":
            items = node.get("items")
            item_type = self._type(items, _singular(hint)) if isinstance(items, dict) else self._any()
            args = [
                f"{py}={node[js]!r}"
                for js, py in (("minItems", "min_length"), ("maxItems", "max_length"))
                if js in node
            ]
            return self._annotated(f"list[{item_type}]", args)
        if t == "object":
            if isinstance(node.get("properties"), dict):
                name = self._unique(_pascal(hint) or "Model")
                self._class(name, node)
                return self._class_ref(name)
            extra = node.get("additionalProperties")
            value = self._type(extra, hint + "Value") if isinstance(extra, dict) else self._any()
            return f"dict[str, {value}]"
        return self._any()

    def _literal(self, values: list[Any]) -> str:
        self.typing.add("Literal")
        literal = f"Literal[{', '.join(repr(v) for v in values)}]"
        if any(_is_number(v) for v in values) and not any(isinstance(v, bool) for v in values):
            # Literal[1] takes True (True == 1 in Python); JSON Schema tells them apart.
            self.helpers.add("_reject_bool")
            self.typing.add("Annotated")
            literal = f"Annotated[{literal}, BeforeValidator(_reject_bool)]"
        return literal

    def _any(self) -> str:
        self.typing.add("Any")
        return "Any"

    def _annotated(self, base: str, args: list[str]) -> str:
        if not args:
            return base
        self.typing.add("Annotated")
        return f"Annotated[{base}, Field({', '.join(args)})]"

    def _union(self, parts: list[str]) -> str:
        unique = list(dict.fromkeys(parts))
        if "None" in unique:  # None last reads best: "X | None"
            unique = [p for p in unique if p != "None"] + ["None"]
        if len(unique) > 1 and any(p.startswith('"') for p in unique):
            # '"Node" | None' fails at class creation (str | None): spell it with typing instead.
            if len(unique) == 2 and unique[1] == "None":
                self.typing.add("Optional")
                return f"Optional[{unique[0]}]"
            self.typing.add("Union")
            return f"Union[{', '.join(unique)}]"
        return " | ".join(unique) if unique else "None"

    def _ref_type(self, ref: Any) -> str:
        if not isinstance(ref, str):
            return self._any()
        if ref in self.ref_classes:
            return self._class_ref(self.ref_classes[ref])
        target = resolve_ref(self.root, ref)
        if not isinstance(target, dict):
            return self._any()
        hint = ref.rsplit("/", 1)[-1]
        if is_object_schema(target) and isinstance(target.get("properties"), dict):
            name = self._unique(_pascal(hint))
            self.ref_classes[ref] = name
            self._class(name, target)
            return self._class_ref(name)
        if ref in self.ref_stack:  # a recursive non-object definition: no class to point at
            return self._any()
        self.ref_stack.append(ref)
        try:
            return self._type(target, hint)
        finally:
            self.ref_stack.pop()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _docstring(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return f'"""{escaped}"""'
