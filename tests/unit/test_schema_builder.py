"""The visual builder's model: fields <-> schema round trips and the pure editing helpers."""

from __future__ import annotations

import copy
import json

import pytest

from playground.errors import ErrorKind, PlaygroundError
from playground.schema import (
    SchemaField,
    add_field,
    delete_field,
    fields_to_schema,
    get_field,
    lint_strict,
    load_templates,
    move_field,
    rename_field,
    schema_to_fields,
    update_field,
)


def same_with_order(a: dict, b: dict) -> bool:
    return json.dumps(a) == json.dumps(b)


def round_trip(schema: dict, strict: bool = True) -> dict:
    return fields_to_schema(schema_to_fields(schema), strict=strict)


@pytest.mark.parametrize("name", sorted(load_templates()))
def test_templates_round_trip_exactly_and_are_fully_editable(name: str) -> None:
    schema = load_templates()[name]["schema"]
    fields = schema_to_fields(schema)
    assert not any(f.read_only for f in fields)
    assert same_with_order(fields_to_schema(fields), schema)


EVERY_KIND = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "description": "A title"},
        "email": {"type": ["string", "null"], "format": "email"},
        "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "qty": {"type": "integer", "minimum": 0, "maximum": 99},
        "price": {"type": ["number", "null"], "description": "Unit price", "minimum": 0},
        "paid": {"type": "boolean"},
        "status": {"type": "string", "description": "State", "enum": ["open", "done"]},
        "unit": {"type": ["string", "null"], "enum": ["kg", "g", None]},
        "level": {"type": "integer", "enum": [1, 2, 3]},
        "address": {
            "type": "object",
            "description": "Where",
            "properties": {"city": {"type": "string"}, "zip": {"type": ["string", "null"]}},
            "required": ["city", "zip"],
            "additionalProperties": False,
        },
        "billing": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {"iban": {"type": "string"}},
                    "required": ["iban"],
                    "additionalProperties": False,
                },
                {"type": "null"},
            ],
            "description": "Billing details, or null",
        },
        "tags": {"type": "array", "description": "Labels", "items": {"type": "string"}, "minItems": 1, "maxItems": 5},
        "sizes": {"type": "array", "items": {"type": "string", "enum": ["S", "M", "L"]}},
        "scores": {"anyOf": [{"type": "array", "items": {"type": "number"}}, {"type": "null"}]},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "sku": {"type": "string"},
                    "dims": {
                        "type": "object",
                        "properties": {"w": {"type": "number"}},
                        "required": ["w"],
                        "additionalProperties": False,
                    },
                },
                "required": ["sku", "dims"],
                "additionalProperties": False,
            },
        },
    },
    "required": [
        "title",
        "email",
        "code",
        "qty",
        "price",
        "paid",
        "status",
        "unit",
        "level",
        "address",
        "billing",
        "tags",
        "sizes",
        "scores",
        "lines",
    ],
    "additionalProperties": False,
}


def test_every_builder_kind_round_trips_exactly() -> None:
    assert lint_strict(EVERY_KIND) == []
    fields = schema_to_fields(EVERY_KIND)
    assert not any(f.read_only for f in fields)
    assert same_with_order(fields_to_schema(fields), EVERY_KIND)


def test_parsed_fields_carry_the_builder_attributes() -> None:
    fields = {f.name: f for f in schema_to_fields(EVERY_KIND)}
    assert fields["email"].type == "string" and fields["email"].nullable and fields["email"].format == "email"
    assert fields["code"].pattern == "^[A-Z]{3}$"
    assert (fields["qty"].type, fields["qty"].minimum, fields["qty"].maximum) == ("integer", 0, 99)
    assert fields["unit"].type == "enum" and fields["unit"].enum_values == ["kg", "g"] and fields["unit"].nullable
    assert fields["level"].enum_values == [1, 2, 3]
    assert [c.name for c in fields["address"].children] == ["city", "zip"]
    assert fields["billing"].type == "object" and fields["billing"].nullable
    assert fields["billing"].description == "Billing details, or null"
    assert (fields["tags"].item_type, fields["tags"].min_items, fields["tags"].max_items) == ("string", 1, 5)
    assert fields["sizes"].item_type == "enum" and fields["sizes"].item_enum_values == ["S", "M", "L"]
    assert fields["scores"].type == "array" and fields["scores"].nullable and fields["scores"].item_type == "number"
    assert fields["lines"].item_type == "object"
    assert [f.name for f in fields["lines"].item_fields] == ["sku", "dims"]
    assert fields["lines"].item_fields[1].children[0].name == "w"


def test_building_from_fields_gives_a_strict_valid_schema() -> None:
    fields = [
        SchemaField(name="name", description="Full name"),
        SchemaField(name="age", type="integer", nullable=True, minimum=0),
        SchemaField(name="nickname", required=False),  # optional -> nullable in strict mode
        SchemaField(name="role", type="enum", enum_values=["admin", "user"], nullable=True),
        SchemaField(
            name="pets",
            type="array",
            item_type="object",
            item_fields=[
                SchemaField(name="species", type="enum", enum_values=["cat", "dog"]),
                SchemaField(name="born", format="date"),
            ],
            max_items=10,
        ),
        SchemaField(
            name="home", type="object", nullable=True, description="Address", children=[SchemaField(name="city")]
        ),
    ]
    schema = fields_to_schema(fields)
    assert lint_strict(schema) == []
    assert schema["required"] == ["name", "age", "nickname", "role", "pets", "home"]
    assert schema["properties"]["nickname"] == {"type": ["string", "null"]}
    assert schema["properties"]["role"] == {"type": ["string", "null"], "enum": ["admin", "user", None]}
    assert schema["properties"]["pets"]["items"]["properties"]["born"] == {"type": "string", "format": "date"}
    assert schema["properties"]["home"] == {
        "anyOf": [
            {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
                "additionalProperties": False,
            },
            {"type": "null"},
        ],
        "description": "Address",
    }


def test_non_strict_mode_lists_only_required_fields() -> None:
    fields = [SchemaField(name="a"), SchemaField(name="b", required=False)]
    schema = fields_to_schema(fields, strict=False)
    assert schema["required"] == ["a"]
    assert schema["properties"]["b"] == {"type": "string"}
    assert same_with_order(round_trip(schema, strict=False), schema)
    strict = fields_to_schema(schema_to_fields(schema), strict=True)
    assert strict["required"] == ["a", "b"] and strict["properties"]["b"] == {"type": ["string", "null"]}
    assert lint_strict(strict) == []


def test_the_seed_schema_is_editable_and_closed_by_the_builder() -> None:
    seed = {
        "type": "object",
        "properties": {
            "sentiment": {"type": "string", "enum": ["positive", "negative", "neutral"]},
            "category": {"type": "string"},
            "priority": {"type": "string", "enum": ["high", "medium", "low"]},
            "summary": {"type": "string"},
        },
        "required": ["sentiment", "category", "priority", "summary"],
    }
    fields = schema_to_fields(seed)
    assert not any(f.read_only for f in fields)
    assert fields_to_schema(fields) == {**seed, "additionalProperties": False}


RECURSIVE = {
    "type": "object",
    "description": "A tree",
    "properties": {
        "name": {"type": "string"},
        "root": {"$ref": "#/$defs/node"},
        "parent": {"anyOf": [{"$ref": "#"}, {"type": "null"}]},
        "nodes": {"type": "array", "items": {"$ref": "#/$defs/node"}},
    },
    "required": ["name", "root", "parent", "nodes"],
    "additionalProperties": False,
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "value": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            },
            "required": ["value", "children"],
            "additionalProperties": False,
        }
    },
}


def test_defs_and_recursive_refs_survive_a_round_trip() -> None:
    assert lint_strict(RECURSIVE) == []
    fields = schema_to_fields(RECURSIVE)
    by_name = {(f.name, f.root_keyword): f for f in fields}
    assert by_name[("description", True)].raw == "A tree"
    assert by_name[("$defs", True)].read_only and by_name[("$defs", True)].raw == RECURSIVE["$defs"]
    for name in ("root", "parent", "nodes"):
        field = by_name[(name, False)]
        assert field.read_only and field.raw == RECURSIVE["properties"][name]
    assert by_name[("parent", False)].nullable
    assert not by_name[("name", False)].read_only
    assert same_with_order(fields_to_schema(fields), RECURSIVE)


def test_editing_around_raw_fields_keeps_them() -> None:
    fields = add_field(schema_to_fields(RECURSIVE), SchemaField(name="count", type="integer"))
    schema = fields_to_schema(fields)
    assert schema["$defs"] == RECURSIVE["$defs"]
    assert schema["properties"]["root"] == {"$ref": "#/$defs/node"}
    assert list(schema["properties"]) == ["name", "root", "parent", "nodes", "count"]
    assert lint_strict(schema) == []


@pytest.mark.parametrize(
    "prop",
    [
        {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        {"type": "string", "x-ui": "textarea"},
        {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
        {"type": ["string", "integer"]},
        {
            "type": "object",
            "properties": {"k": {"type": "string"}},
            "required": ["k"],
            "additionalProperties": {"type": "string"},
        },
        {"const": "fixed"},
        {"type": "string", "enum": ["a", None]},
        {"type": "array", "items": {"type": "string", "description": "an item"}},
        {"type": "number", "exclusiveMinimum": 0},
    ],
)
def test_what_the_builder_cannot_express_is_kept_raw(prop: dict) -> None:
    schema = {
        "type": "object",
        "properties": {"ok": {"type": "string"}, "odd": prop},
        "required": ["ok", "odd"],
        "additionalProperties": False,
    }
    fields = schema_to_fields(schema)
    assert not fields[0].read_only
    assert fields[1].read_only and fields[1].raw == prop
    assert same_with_order(fields_to_schema(fields), schema)


def test_a_raw_child_keeps_its_parent_editable() -> None:
    schema = {
        "type": "object",
        "properties": {
            "outer": {
                "type": "object",
                "properties": {"a": {"type": "string"}, "ref": {"$ref": "#/$defs/x"}},
                "required": ["a", "ref"],
                "additionalProperties": False,
            }
        },
        "required": ["outer"],
        "additionalProperties": False,
        "$defs": {"x": {"type": "string"}},
    }
    outer = schema_to_fields(schema)[0]
    assert not outer.read_only and outer.children[1].read_only
    assert same_with_order(round_trip(schema), schema)


def test_root_must_be_an_object_for_the_builder() -> None:
    for bad in ({"type": "array", "items": {"type": "string"}}, {"anyOf": [{"type": "object"}]}, ["x"]):
        with pytest.raises(PlaygroundError) as err:
            schema_to_fields(bad)  # type: ignore[arg-type]
        assert err.value.kind is ErrorKind.INVALID_INPUT


def test_duplicate_or_empty_names_are_rejected_when_building() -> None:
    with pytest.raises(PlaygroundError, match="named 'a'"):
        fields_to_schema([SchemaField(name="a"), SchemaField(name="a", type="integer")])
    with pytest.raises(PlaygroundError, match="no name"):
        fields_to_schema([SchemaField(name="")])


# --------------------------------------------------------------------------------------------
# Editing helpers (pure)


def base_fields() -> list[SchemaField]:
    return schema_to_fields(EVERY_KIND)


def names(fields: list[SchemaField]) -> list[str]:
    return [f.name for f in fields if not f.root_keyword]


def test_add_field_at_root_nested_and_in_array_items_is_pure() -> None:
    fields = base_fields()
    snapshot = copy.deepcopy(fields)
    new = add_field(fields, SchemaField(name="note"))
    new = add_field(new, SchemaField(name="state"), parent=["address"], index=0)
    new = add_field(new, SchemaField(name="color", nullable=True), parent=("lines",))
    assert fields == snapshot
    assert names(new)[-1] == "note"
    assert names(get_field(new, "address").children) == ["state", "city", "zip"]
    assert names(get_field(new, ["lines"]).item_fields) == ["sku", "dims", "color"]
    schema = fields_to_schema(new)
    assert schema["properties"]["lines"]["items"]["properties"]["color"] == {"type": ["string", "null"]}
    assert lint_strict(schema) == []


def test_add_field_rejects_duplicates_and_non_containers() -> None:
    with pytest.raises(PlaygroundError, match="already exists"):
        add_field(base_fields(), SchemaField(name="title"))
    with pytest.raises(PlaygroundError, match="no sub-fields"):
        add_field(base_fields(), SchemaField(name="x"), parent=["title"])
    with pytest.raises(PlaygroundError, match="read-only"):
        add_field(schema_to_fields(RECURSIVE), SchemaField(name="x"), parent=["root"])
    with pytest.raises(PlaygroundError, match="no field"):
        add_field(base_fields(), SchemaField(name="x"), parent=["nope"])


def test_rename_field() -> None:
    fields = base_fields()
    new = rename_field(fields, ["address", "zip"], "postcode")
    assert names(get_field(new, "address").children) == ["city", "postcode"]
    assert names(get_field(fields, "address").children) == ["city", "zip"]
    schema = fields_to_schema(new)
    assert schema["properties"]["address"]["required"] == ["city", "postcode"]
    with pytest.raises(PlaygroundError, match="already exists"):
        rename_field(fields, "title", "code")
    with pytest.raises(PlaygroundError, match="empty"):
        rename_field(fields, "title", "")
    assert names(rename_field(fields, "title", "title")) == names(fields)


def test_move_field_reorders_siblings() -> None:
    fields = base_fields()
    moved = move_field(fields, "lines", 0)
    assert names(moved)[0] == "lines" and names(moved)[1:] == [n for n in names(fields) if n != "lines"]
    assert next(iter(fields_to_schema(moved)["properties"])) == "lines"
    assert names(move_field(fields, "title", 99))[-1] == "title"
    assert names(move_field(fields, "title", -1))[-1] == "title"
    nested = move_field(fields, ["lines", "dims"], 0)
    assert names(get_field(nested, "lines").item_fields) == ["dims", "sku"]
    assert names(fields) == names(base_fields())


def test_move_keeps_root_keywords_in_place() -> None:
    fields = schema_to_fields(RECURSIVE)
    moved = move_field(fields, "nodes", 0)
    assert [f.name for f in moved] == ["description", "nodes", "name", "root", "parent", "$defs"]
    schema = fields_to_schema(moved)
    assert list(schema) == ["type", "description", "properties", "required", "additionalProperties", "$defs"]
    assert list(schema["properties"]) == ["nodes", "name", "root", "parent"]


def test_delete_field() -> None:
    fields = base_fields()
    new = delete_field(delete_field(fields, ["lines", "dims", "w"]), "billing")
    assert "billing" not in names(new) and "billing" in names(fields)
    dims = fields_to_schema(new)["properties"]["lines"]["items"]["properties"]["dims"]
    assert dims["properties"] == {} and dims["required"] == []
    with pytest.raises(PlaygroundError):
        delete_field(fields, ["address", "nope"])


def test_update_field_validates_and_is_pure() -> None:
    fields = base_fields()
    new = update_field(fields, ["address", "city"], description="Town", nullable=True, name="town")
    town = get_field(new, ["address", "town"])
    assert town.description == "Town" and town.nullable
    assert get_field(fields, ["address", "city"]).description == ""
    assert fields_to_schema(new)["properties"]["address"]["properties"]["town"] == {
        "type": ["string", "null"],
        "description": "Town",
    }
    with pytest.raises(ValueError):
        update_field(fields, "title", type="date")


def test_field_model_serialises_for_the_ui() -> None:
    fields = base_fields()
    dumped = [f.model_dump() for f in fields]
    restored = [SchemaField.model_validate(d) for d in json.loads(json.dumps(dumped))]
    assert fields_to_schema(restored) == EVERY_KIND


def test_a_raw_null_property_schema_survives() -> None:
    schema = {
        "type": "object",
        "properties": {"odd": None, "ok": {"type": "string"}},
        "required": ["odd", "ok"],
        "additionalProperties": False,
    }
    fields = schema_to_fields(schema)
    assert fields[0].read_only and fields[0].raw is None
    assert fields_to_schema(fields) == schema
