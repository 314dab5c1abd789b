"""Structured Outputs schemas: strict-mode linting and fixing, the visual builder's model, import
(paste or infer from an example), export (response_format payload, Pydantic source), reply
validation, and templates. Pure Python: no Streamlit.

Rules and limits per provider are data in ``playground/strict_rules.toml``; templates are data in
``playground/schema_templates.json``.
"""

from playground.schema._common import load_json_text
from playground.schema._rules import input_limits, provider_rules
from playground.schema.builder import (
    FieldType,
    SchemaField,
    add_field,
    delete_field,
    fields_to_schema,
    get_field,
    move_field,
    rename_field,
    schema_to_fields,
    update_field,
)
from playground.schema.export import response_format_payload, to_pydantic_source
from playground.schema.importing import ParsedSchema, infer_schema, parse_schema_document, parse_schema_text
from playground.schema.lint import (
    RULES,
    Violation,
    fix_strict,
    lint_name,
    lint_strict,
    make_nullable,
)
from playground.schema.reply import FieldError, ReplyValidation, validate_reply
from playground.schema.templates import load_templates

__all__ = [
    "RULES",
    "FieldError",
    "FieldType",
    "ParsedSchema",
    "ReplyValidation",
    "SchemaField",
    "Violation",
    "add_field",
    "delete_field",
    "fields_to_schema",
    "fix_strict",
    "get_field",
    "infer_schema",
    "input_limits",
    "lint_name",
    "lint_strict",
    "load_json_text",
    "load_templates",
    "make_nullable",
    "move_field",
    "parse_schema_document",
    "parse_schema_text",
    "provider_rules",
    "rename_field",
    "response_format_payload",
    "schema_to_fields",
    "to_pydantic_source",
    "update_field",
    "validate_reply",
]
