"""Strict-mode linter, limits, name rule and the one-click fixer (playground.schema)."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from playground.errors import ErrorKind, PlaygroundError
from playground.schema import (
    RULES,
    Violation,
    fix_strict,
    lint_name,
    lint_strict,
    load_templates,
    make_nullable,
    provider_rules,
)


def obj(props: dict[str, Any] | None = None, **extra: Any) -> dict:
    """A strict-valid object schema with ``props`` (all required)."""
    props = props or {}
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False, **extra}


def rules(violations: list[Violation]) -> list[str]:
    return [v.rule for v in violations]


def only(violations: list[Violation], rule: str) -> Violation:
    found = [v for v in violations if v.rule == rule]
    assert len(found) == 1, violations
    return found[0]


# --------------------------------------------------------------------------------------------
# Rules


def test_valid_schema_has_no_violations_on_either_provider() -> None:
    schema = obj(
        {
            "name": {"type": "string", "description": "Who"},
            "age": {"type": ["integer", "null"]},
            "kind": {"type": "string", "enum": ["a", "b"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "address": obj({"city": {"type": "string"}}),
            "either": {"anyOf": [{"type": "string"}, {"type": "number"}]},
            "fixed": {"const": "v1"},
        }
    )
    assert lint_strict(schema) == []
    assert lint_strict(schema, "azure") == []
    assert lint_strict(schema, "compatible") == []


def test_root_must_be_an_object() -> None:
    v = only(lint_strict({"type": "array", "items": {"type": "string"}}), "root_not_object")
    assert v.path == "$" and not v.fixable
    assert "root" in v.message and "object" in v.message


def test_root_must_not_be_any_of() -> None:
    v = only(lint_strict({"anyOf": [obj({"a": {"type": "string"}}), obj({"b": {"type": "string"}})]}), "root_any_of")
    assert v.path == "$" and not v.fixable


def test_additional_properties_missing_is_reported_per_object() -> None:
    schema = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]},
            }
        },
        "required": ["items"],
    }
    found = [v for v in lint_strict(schema) if v.rule == "additional_properties"]
    assert [v.path for v in found] == ["$.additionalProperties", "$.properties.items.items.additionalProperties"]
    assert all(v.fixable for v in found)


def test_additional_properties_true_is_fixable_but_a_schema_is_not() -> None:
    assert only(lint_strict({**obj(), "additionalProperties": True}), "additional_properties").fixable
    v = only(lint_strict({**obj(), "additionalProperties": {"type": "string"}}), "additional_properties_schema")
    assert not v.fixable
    assert "map" in v.message


def test_every_property_must_be_required() -> None:
    schema = {
        **obj({"city": {"type": "string"}}),
        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
    }
    v = only(lint_strict(schema), "not_required")
    assert v.path == "$.properties.unit"
    assert v.fixable
    assert v.message == (
        "Property 'unit' is not listed in 'required'; strict mode needs every property "
        "required — make it nullable instead."
    )


def test_required_naming_a_missing_property() -> None:
    schema = {**obj({"a": {"type": "string"}}), "required": ["a", "ghost"]}
    v = only(lint_strict(schema), "required_unknown")
    assert "ghost" in v.message and v.fixable


@pytest.mark.parametrize(
    "keyword, value",
    [
        ("allOf", [{"type": "string"}]),
        ("not", {"type": "integer"}),
        ("if", {"type": "string"}),
        ("then", {"type": "string"}),
        ("else", {"type": "string"}),
        ("dependentRequired", {"a": ["b"]}),
        ("dependentSchemas", {"a": {"type": "object"}}),
        ("patternProperties", {"^x": {"type": "string"}}),
        ("minLength", 1),
        ("maxLength", 10),
    ],
)
def test_unsupported_keywords(keyword: str, value: Any) -> None:
    prop = {
        "type": "object" if keyword in ("dependentRequired", "dependentSchemas", "patternProperties") else "string",
        keyword: value,
    }
    if prop["type"] == "object":
        prop.update(properties={}, required=[], additionalProperties=False)
    for provider in ("openai", "azure"):
        v = only(lint_strict(obj({"p": prop}), provider), "unsupported_keyword")
        assert v.path == f"$.properties.p.{keyword}"
        assert v.fixable and f"'{keyword}'" in v.message
    assert lint_strict(obj({"p": {k: x for k, x in prop.items() if k != keyword}})) == []


AZURE_ONLY = [
    ("pattern", {"type": "string", "pattern": "^[A-Z]+$"}),
    ("format", {"type": "string", "format": "date"}),
    ("minimum", {"type": "integer", "minimum": 0}),
    ("maximum", {"type": "number", "maximum": 10}),
    ("multipleOf", {"type": "number", "multipleOf": 0.5}),
    ("minItems", {"type": "array", "items": {"type": "string"}, "minItems": 1}),
    ("maxItems", {"type": "array", "items": {"type": "string"}, "maxItems": 3}),
]


@pytest.mark.parametrize("keyword, prop", AZURE_ONLY)
def test_azure_rejects_keywords_openai_accepts(keyword: str, prop: dict) -> None:
    schema = obj({"p": prop})
    assert lint_strict(schema, "openai") == []
    v = only(lint_strict(schema, "azure"), "unsupported_keyword")
    assert v.path == f"$.properties.p.{keyword}"
    assert "Azure" in v.message


@pytest.mark.parametrize(
    "prop, keyword",
    [
        ({"type": "string", "default": "x"}, "default"),
        ({"type": "string", "examples": ["x"]}, "examples"),
        ({"type": "integer", "pattern": "^1$"}, "pattern"),
        ({"type": "array", "items": {"type": "string"}, "uniqueItems": True}, "uniqueItems"),
        ({**obj(), "minProperties": 1}, "minProperties"),
    ],
)
def test_keywords_outside_the_subset_for_the_type(prop: dict, keyword: str) -> None:
    v = only(lint_strict(obj({"p": prop})), "keyword_not_allowed")
    assert v.path == f"$.properties.p.{keyword}" and v.fixable


@pytest.mark.parametrize("type_", ["date", "float", "int", "any"])
def test_unsupported_types(type_: str) -> None:
    v = only(lint_strict(obj({"p": {"type": type_}})), "unsupported_type")
    assert f"'{type_}'" in v.message and not v.fixable


def test_type_list_with_an_unsupported_member() -> None:
    assert rules(lint_strict(obj({"p": {"type": ["string", "datetime"]}}))) == ["unsupported_type"]
    assert rules(lint_strict(obj({"p": {"type": 5}}))) == ["unsupported_type"]


def test_missing_type_is_fixable_only_when_it_can_be_inferred() -> None:
    v = only(lint_strict(obj({"p": {"description": "anything"}})), "missing_type")
    assert not v.fixable
    v = only(lint_strict(obj({"p": {"properties": {}, "required": [], "additionalProperties": False}})), "missing_type")
    assert v.fixable and '"type": "object"' in v.message
    # enum, const, anyOf and $ref carry their own type
    assert lint_strict(obj({"p": {"enum": ["a", 1]}, "q": {"const": 3}})) == []


@pytest.mark.parametrize("fmt", ["date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"])
def test_supported_string_formats(fmt: str) -> None:
    assert lint_strict(obj({"p": {"type": "string", "format": fmt}})) == []


@pytest.mark.parametrize("fmt", ["uri", "regex", "iri", "json-pointer"])
def test_unsupported_string_formats(fmt: str) -> None:
    v = only(lint_strict(obj({"p": {"type": "string", "format": fmt}})), "unsupported_format")
    assert v.path == "$.properties.p.format" and v.fixable and fmt in v.message


def test_format_on_azure_is_reported_once() -> None:
    assert rules(lint_strict(obj({"p": {"type": "string", "format": "uri"}}), "azure")) == ["unsupported_keyword"]


RECURSIVE = {
    "type": "object",
    "properties": {"root": {"$ref": "#/$defs/node"}, "parent": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}},
    "required": ["root", "parent"],
    "additionalProperties": False,
    "$defs": {
        "node": obj({"value": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}})
    },
}


def test_refs_to_root_and_defs_with_recursion_are_fine() -> None:
    assert lint_strict(RECURSIVE) == []
    assert lint_strict(RECURSIVE, "azure") == []


@pytest.mark.parametrize(
    "ref",
    ["#/$defs/missing", "#/$defs/node/properties/nope", "https://x.test/s.json", "other.json#/a", "#/properties/root"],
)
def test_unresolvable_or_unsupported_refs(ref: str) -> None:
    schema = copy.deepcopy(RECURSIVE)
    schema["properties"]["root"] = {"$ref": ref}
    v = only(lint_strict(schema), "ref_unresolved")
    assert v.path == "$.properties.root.$ref" and not v.fixable and ref in v.message


def test_definitions_keyword_is_fixable() -> None:
    schema = {**obj({"a": {"$ref": "#/definitions/A"}}), "definitions": {"A": obj({"x": {"type": "string"}})}}
    found = lint_strict(schema)
    assert sorted(rules(found)) == ["definitions_keyword", "ref_unresolved"]
    assert all(v.fixable for v in found)
    fixed, notes = fix_strict(schema)
    assert "definitions" not in fixed and fixed["$defs"]["A"]["properties"]["x"] == {"type": "string"}
    assert fixed["properties"]["a"] == {"$ref": "#/$defs/A"}
    assert lint_strict(fixed) == [] and any("$defs" in n for n in notes)


def test_nullable_enum_must_list_null() -> None:
    bad = obj({"p": {"type": ["string", "null"], "enum": ["a", "b"]}})
    v = only(lint_strict(bad), "enum_missing_null")
    assert v.fixable
    assert lint_strict(obj({"p": {"type": ["string", "null"], "enum": ["a", "b", None]}})) == []


def test_arrays_need_one_items_schema() -> None:
    assert rules(lint_strict(obj({"p": {"type": "array"}}))) == ["array_without_items"]
    tup = only(lint_strict(obj({"p": {"type": "array", "items": [{"type": "string"}]}})), "invalid_schema")
    assert "tuple" in tup.message


def test_non_object_subschema_is_invalid() -> None:
    v = only(lint_strict(obj({"p": True})), "invalid_schema")
    assert v.path == "$.properties.p" and not v.fixable


def test_violation_paths_use_json_path_syntax() -> None:
    schema = obj(
        {
            "items": {
                "type": "array",
                "items": obj(
                    {"sku": {"type": "string", "minLength": 2}, "odd key": {"type": "string", "maxLength": 2}}
                ),
            }
        }
    )
    paths = sorted(v.path for v in lint_strict(schema))
    assert paths == [
        "$.properties.items.items.properties.sku.minLength",
        '$.properties.items.items.properties["odd key"].maxLength',
    ]


def test_every_reported_rule_is_documented() -> None:
    messy = {"properties": {"a": {"type": "date", "minLength": 1}, "b": {"$ref": "#/nope"}}, "required": ["x"]}
    found = lint_strict(messy) + lint_strict({"type": "object", **messy})
    # The messy schemas break at least these rules: a linter that reports nothing fails here.
    expected = {"missing_type", "unsupported_type", "unsupported_keyword", "ref_unresolved", "required_unknown"}
    assert expected <= set(rules(found))
    for v in found:
        assert v.rule in RULES
        assert v.message.endswith(".") and len(v.message) > 20


def test_unknown_provider_is_an_invalid_input_error() -> None:
    with pytest.raises(PlaygroundError) as err:
        lint_strict(obj(), provider="bedrock")
    assert err.value.kind is ErrorKind.INVALID_INPUT
    assert "azure" in err.value.message and "openai" in err.value.message


# --------------------------------------------------------------------------------------------
# Limits (thresholds come from strict_rules.toml)


def test_limits_come_from_the_rules_file() -> None:
    openai, azure = provider_rules("openai").limits, provider_rules("azure").limits
    assert (openai.max_properties, openai.max_depth, openai.max_chars, openai.max_enum_values) == (
        5000,
        10,
        120000,
        1000,
    )
    assert (azure.max_properties, azure.max_depth, azure.max_chars, azure.max_enum_values) == (100, 5, 15000, 500)
    assert (openai.large_string_enum_values, openai.large_string_enum_chars) == (250, 15000)
    assert provider_rules("azure").formats == ()
    assert "format" in provider_rules("azure").unsupported_keywords


def flat(n: int) -> dict:
    return obj({f"p{i}": {"type": "string"} for i in range(n)})


@pytest.mark.parametrize("provider, limit", [("openai", 5000), ("azure", 100)])
def test_total_properties_limit(provider: str, limit: int) -> None:
    assert lint_strict(flat(limit), provider) == []
    v = only(lint_strict(flat(limit + 1), provider), "too_many_properties")
    assert f"{limit + 1:,}" in v.message and f"{limit:,}" in v.message and not v.fixable


def test_properties_are_counted_across_nested_objects_arrays_and_defs() -> None:
    def nested(n_defs: int) -> dict:
        return obj(
            {"a": flat(50), "b": {"type": "array", "items": flat(40)}, "c": {"$ref": "#/$defs/d"}},
            **{"$defs": {"d": flat(n_defs)}},
        )

    assert lint_strict(nested(7), "azure") == []  # 3 + 50 + 40 + 7 = 100
    assert rules(lint_strict(nested(8), "azure")) == ["too_many_properties"]


def chain(levels: int) -> dict:
    """Objects nested ``levels`` deep, the root being level 1."""
    schema = obj({"leaf": {"type": "string"}})
    for _ in range(levels - 1):
        schema = obj({"child": schema})
    return schema


@pytest.mark.parametrize("provider, limit", [("openai", 10), ("azure", 5)])
def test_nesting_depth_limit(provider: str, limit: int) -> None:
    assert lint_strict(chain(limit), provider) == []
    v = only(lint_strict(chain(limit + 1), provider), "too_deep")
    assert f"{limit + 1} levels" in v.message and f"limit is {limit}" in v.message
    assert v.path == "$" + ".properties.child" * limit


def test_nesting_depth_follows_refs_but_not_recursion() -> None:
    via_ref = obj({"a": obj({"b": {"$ref": "#/$defs/deep"}})}, **{"$defs": {"deep": chain(3)}})
    assert lint_strict(via_ref, "azure") == []  # 1 + 1 + 3 = 5 levels
    deeper = obj({"a": obj({"b": {"$ref": "#/$defs/deep"}})}, **{"$defs": {"deep": chain(4)}})
    assert rules(lint_strict(deeper, "azure")) == ["too_deep"]
    assert lint_strict(RECURSIVE, "azure") == []  # recursion is allowed and not followed


def with_enum(values: list[Any], name: str = "e") -> dict:
    return obj({name: {"enum": values}})


@pytest.mark.parametrize("provider, limit", [("openai", 120000), ("azure", 15000)])
def test_total_characters_limit_counts_enum_values(provider: str, limit: int) -> None:
    # 1 character of property name + 100 enum values
    per_value = (limit - 1) // 100
    values = [f"{i:03d}".ljust(per_value, "x") for i in range(100)]
    pad = limit - 1 - per_value * 100
    values[0] += "y" * pad
    assert sum(map(len, values)) + 1 == limit
    assert lint_strict(with_enum(values), provider) == []
    values[1] += "z"
    v = only(lint_strict(with_enum(values), provider), "too_many_chars")
    assert f"{limit + 1:,}" in v.message


def test_total_characters_counts_property_names_definition_names_and_const() -> None:
    limit = provider_rules("azure").limits.max_chars
    long = "n" * 5000
    schema = obj({long: {"type": "string"}, "c": {"const": "k" * 4000}}, **{"$defs": {"d" * 5998: obj()}})
    total = 5000 + 1 + 4000 + 5998
    assert total == limit - 1
    assert lint_strict(schema, "azure") == []
    schema["$defs"] = {"d" * 6000: obj()}
    assert rules(lint_strict(schema, "azure")) == ["too_many_chars"]


@pytest.mark.parametrize("provider, limit", [("openai", 1000), ("azure", 500)])
def test_total_enum_values_limit(provider: str, limit: int) -> None:
    half = limit // 2

    def schema(extra: int) -> dict:
        return obj(
            {
                "a": {"type": "integer", "enum": list(range(half))},
                "b": {"type": "integer", "enum": list(range(limit - half + extra))},
            }
        )

    assert lint_strict(schema(0), provider) == []
    v = only(lint_strict(schema(1), provider), "too_many_enum_values")
    assert f"{limit + 1:,}" in v.message


def test_large_string_enum_rule() -> None:
    # 251 values (more than 250): at most 15,000 characters over all values
    values = [f"{i:03d}".ljust(59, "v") for i in range(251)]  # 251 * 59 = 14,809
    values[0] += "w" * (15000 - 251 * 59)
    assert sum(map(len, values)) == 15000
    assert lint_strict(with_enum(values)) == []
    values[0] += "w"
    v = only(lint_strict(with_enum(values)), "large_string_enum")
    assert v.path == "$.properties.e.enum" and "251 values" in v.message
    # 250 values may be longer in total
    many = [f"{i:03d}".ljust(70, "v") for i in range(250)]
    assert lint_strict(with_enum(many)) == []
    # non-string enums are not string enums
    assert lint_strict(obj({"n": {"type": "integer", "enum": list(range(300))}})) == []


def test_large_string_enum_rule_on_azure_uses_the_same_threshold() -> None:
    values = [f"{i:03d}".ljust(60, "v") for i in range(251)]  # 15,060 characters
    assert "large_string_enum" in rules(lint_strict(with_enum(values), "azure"))


# --------------------------------------------------------------------------------------------
# Name rule


@pytest.mark.parametrize("name", ["feedback_analysis", "Invoice-2", "a", "x" * 64, "A_b-C_9"])
def test_valid_names(name: str) -> None:
    assert lint_name(name) == []


def test_name_rules() -> None:
    assert rules(lint_name("")) == ["name_empty"]
    v = only(lint_name("my schema!"), "name_chars")
    assert "' '" in v.message and "'!'" in v.message
    assert rules(lint_name("x" * 65)) == ["name_too_long"]
    assert rules(lint_name("é" * 70)) == ["name_chars", "name_too_long"]
    assert rules(lint_name("a.b")) == ["name_chars"]


# --------------------------------------------------------------------------------------------
# Fixes

SEED = {  # the seed's feedback_analysis with the usual mistakes added
    "type": "object",
    "properties": {
        "sentiment": {"type": "string", "enum": ["positive", "negative", "neutral"]},
        "category": {"type": "string", "minLength": 3},
        "priority": {"type": "string", "enum": ["high", "medium", "low"]},
        "summary": {"type": "string"},
        "score": {"type": "number", "default": 0},
    },
    "required": ["sentiment", "category", "priority", "summary"],
}


def test_fix_makes_the_schema_lint_clean_without_mutating_the_input() -> None:
    before = copy.deepcopy(SEED)
    fixed, notes = fix_strict(SEED)
    assert before == SEED
    assert lint_strict(fixed) == []
    assert fixed["additionalProperties"] is False
    assert fixed["required"] == list(SEED["properties"])
    assert fixed["properties"]["score"] == {"type": ["number", "null"]}
    assert fixed["properties"]["category"] == {"type": "string"}
    assert len(notes) == 4
    assert any("minLength" in n for n in notes) and any("default" in n for n in notes)
    assert any("'score'" in n and "nullable" in n for n in notes)
    assert list(fixed) == ["type", "properties", "required", "additionalProperties"]


@pytest.mark.parametrize(
    "optional, nullable",
    [
        ({"type": "string"}, {"type": ["string", "null"]}),
        ({"type": "integer", "description": "n"}, {"type": ["integer", "null"], "description": "n"}),
        ({"type": "string", "enum": ["c", "f"]}, {"type": ["string", "null"], "enum": ["c", "f", None]}),
        ({"enum": ["a", 1]}, {"enum": ["a", 1, None]}),
        ({"$ref": "#/$defs/d"}, {"anyOf": [{"$ref": "#/$defs/d"}, {"type": "null"}]}),
        ({"const": "x"}, {"anyOf": [{"const": "x"}, {"type": "null"}]}),
        (
            {**obj({"a": {"type": "string"}}), "description": "D"},
            {"anyOf": [obj({"a": {"type": "string"}}), {"type": "null"}], "description": "D"},
        ),
        (
            {"type": "array", "items": {"type": "string"}},
            {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
        ),
        (
            {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
        ),
        ({"type": ["string", "null"]}, {"type": ["string", "null"]}),
        ({"anyOf": [{"$ref": "#/$defs/d"}, {"type": "null"}]}, {"anyOf": [{"$ref": "#/$defs/d"}, {"type": "null"}]}),
    ],
)
def test_optional_properties_become_required_and_nullable(optional: dict, nullable: dict) -> None:
    schema = {
        "type": "object",
        "properties": {"p": optional},
        "required": [],
        "additionalProperties": False,
        "$defs": {"d": obj()},
    }
    fixed, _ = fix_strict(schema)
    assert fixed["properties"]["p"] == nullable
    assert fixed["required"] == ["p"]
    assert lint_strict(fixed) == []
    assert make_nullable(optional) == nullable


def test_fix_drops_unsupported_keywords_with_a_note_each() -> None:
    schema = obj(
        {
            "a": {"type": "string", "format": "uri", "maxLength": 5},
            "b": {"allOf": [{"type": "string"}], "type": "string"},
        }
    )
    fixed, notes = fix_strict(schema)
    assert fixed["properties"] == {"a": {"type": "string"}, "b": {"type": "string"}}
    assert len(notes) == 3
    assert [n for n in notes if "'allOf'" in n and "$.properties.b" in n]


def test_fix_for_azure_drops_its_extra_unsupported_keywords() -> None:
    schema = obj({prop["type"] + str(i): prop for i, (_, prop) in enumerate(AZURE_ONLY)})
    assert lint_strict(schema) == []
    fixed, notes = fix_strict(schema, "azure")
    assert lint_strict(fixed, "azure") == []
    assert len(notes) == len(AZURE_ONLY)
    assert fixed["properties"]["string0"] == {"type": "string"}
    assert fixed["properties"]["array5"] == {"type": "array", "items": {"type": "string"}}


def test_fix_repairs_nested_objects_array_items_and_defs() -> None:
    schema = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
                    "required": ["sku"],
                },
            },
            "meta": {"properties": {"k": {"type": "string"}}},
        },
        "$defs": {"unused": {"type": "object", "properties": {"x": {"type": "boolean"}}}},
    }
    fixed, _ = fix_strict(schema)
    assert lint_strict(fixed) == []
    item = fixed["properties"]["items"]["anyOf"][0]["items"]  # "items" was optional: now nullable
    assert item["required"] == ["sku", "qty"] and item["additionalProperties"] is False
    assert item["properties"]["qty"] == {"type": ["integer", "null"]}
    meta = fixed["properties"]["meta"]["anyOf"][0]
    assert meta["type"] == "object" and meta["additionalProperties"] is False
    assert fixed["$defs"]["unused"]["required"] == ["x"]


def test_fix_adds_null_to_a_nullable_enum() -> None:
    fixed, notes = fix_strict(obj({"p": {"type": ["string", "null"], "enum": ["a"]}}))
    assert fixed["properties"]["p"]["enum"] == ["a", None] and len(notes) == 1


def test_fix_leaves_what_it_cannot_fix_safely() -> None:
    schema = {
        "type": "object",
        "properties": {"m": {"type": "object", "additionalProperties": {"type": "string"}}, "d": {"type": "date"}},
        "required": ["m", "d"],
        "additionalProperties": False,
    }
    fixed, _ = fix_strict(schema)
    remaining = lint_strict(fixed)
    assert sorted(rules(remaining)) == ["additional_properties_schema", "unsupported_type"]
    assert not any(v.fixable for v in remaining)
    root_array = {"type": "array", "items": {"type": "string"}}
    fixed, notes = fix_strict(root_array)
    assert fixed == root_array and notes == []


MESSY = [
    SEED,
    {
        "properties": {
            "a": {
                "type": "object",
                "properties": {
                    "b": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"c": {"type": "string", "format": "uri", "pattern": "x"}},
                        },
                    }
                },
            }
        }
    },
    {
        "type": "object",
        "properties": {"x": {"$ref": "#/definitions/X"}},
        "definitions": {
            "X": {"type": "object", "properties": {"y": {"type": "integer", "minimum": 0, "examples": [1]}}}
        },
    },
    {
        "type": "object",
        "properties": {
            "u": {
                "anyOf": [
                    {"type": "object", "properties": {"z": {"type": "string"}}},
                    {"type": "string", "maxLength": 3},
                ]
            },
            "e": {"type": ["string", "null"], "enum": ["a"]},
        },
        "required": "nope",
    },
    {
        "type": "object",
        "properties": {"r": {"$ref": "#"}, "t": {"type": "string", "format": "date"}},
        "additionalProperties": True,
        "required": ["r", "ghost"],
    },
    {"type": "object", "properties": {"bad": {"type": "date", "minLength": 1}, "any": {}}},
]


@pytest.mark.parametrize("provider", ["openai", "azure"])
@pytest.mark.parametrize("index", range(len(MESSY)))
def test_after_fix_no_fixable_violation_remains(provider: str, index: int) -> None:
    schema = MESSY[index]
    before = copy.deepcopy(schema)
    assert any(v.fixable for v in lint_strict(schema, provider))
    fixed, notes = fix_strict(schema, provider)
    assert schema == before
    assert notes
    assert [v for v in lint_strict(fixed, provider) if v.fixable] == []
    again, more = fix_strict(fixed, provider)  # idempotent
    assert again == fixed and more == []


@pytest.mark.parametrize("name", sorted(load_templates()))
def test_templates_are_strict_valid_on_both_providers(name: str) -> None:
    template = load_templates()[name]
    assert lint_name(name) == []
    assert lint_strict(template["schema"]) == []
    assert lint_strict(template["schema"], "azure") == []
    assert fix_strict(template["schema"]) == (template["schema"], [])


@pytest.mark.parametrize(
    "prop, path",
    [
        ({"type": "integer", "minimum": "0"}, "$.properties.p.minimum"),
        ({"type": "number", "multipleOf": 0}, "$.properties.p.multipleOf"),
        ({"type": "array", "items": {"type": "string"}, "minItems": -1}, "$.properties.p.minItems"),
        ({"type": "array", "items": {"type": "string"}, "maxItems": 2.5}, "$.properties.p.maxItems"),
        ({"type": "string", "pattern": 5}, "$.properties.p.pattern"),
        ({"type": "string", "description": ["x"]}, "$.properties.p.description"),
        ({"anyOf": []}, "$.properties.p.anyOf"),
    ],
)
def test_keyword_values_of_the_wrong_type(prop: dict, path: str) -> None:
    v = only(lint_strict(obj({"p": prop})), "invalid_value")
    assert v.path == path and not v.fixable


@pytest.mark.parametrize("prop", [{"enum": []}, {"enum": "a"}, {"enum": ["a", {"b": 1}]}, {"const": [1]}])
def test_invalid_enums(prop: dict) -> None:
    assert not only(lint_strict(obj({"p": prop})), "invalid_enum").fixable
    assert lint_strict(obj({"p": {"enum": ["a", 1, 2.5, True, None]}})) == []


# --------------------------------------------------------------------------------------------
# Robustness: damaged templates never crash the linter or the fixer, and the fixer never leaves
# a fixable violation behind.

_JUNK: list[Any] = [
    None,
    True,
    1,
    "x",
    [],
    {},
    ["a"],
    {"type": "date"},
    {"$ref": "#/nope"},
    {"enum": []},
    {"anyOf": [1]},
    {"properties": 5},
    {"type": "array", "items": True},
    {"required": 5},
    {"type": "string", "format": 5},
    {"$defs": {"a": 1}},
    {"type": "integer", "minimum": "x"},
    {"type": "object", "properties": {"a": {"type": "string"}}, "required": [1, None]},
]


def _positions(node: Any, path: tuple = ()) -> list[tuple]:
    out: list[tuple] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        out.append((*path, key))
        out.extend(_positions(value, (*path, key)))
    return out


def test_damaged_schemas_never_crash_and_fix_leaves_nothing_fixable() -> None:
    rng = random.Random(20250414)
    templates = [t["schema"] for t in load_templates().values()]
    for _ in range(150):
        schema = copy.deepcopy(rng.choice(templates))
        for _ in range(rng.randint(1, 3)):
            *parents, last = rng.choice(_positions(schema))
            node = schema
            for key in parents:
                node = node[key]
            node[last] = copy.deepcopy(rng.choice(_JUNK))
        for provider in ("openai", "azure"):
            found = lint_strict(schema, provider)
            assert all(v.rule in RULES for v in found)
            fixed, _ = fix_strict(schema, provider)
            assert [v for v in lint_strict(fixed, provider) if v.fixable] == []
