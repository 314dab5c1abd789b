"""Session and prompt files: one human-readable, git-diffable JSON or YAML file each.

Keys are sorted and the layout fixed, so a file changes only where the work did. Every file names
its ``format`` and ``format_version``; a reader refuses a foreign format or a newer version before
validating the rest, and validates the whole file before anything is written anywhere. The JSON
Schema of the format is published as ``docs/session-format.schema.json`` (see
:func:`format_json_schema`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import Field, TypeAdapter, ValidationError

from playground.errors import PlaygroundError
from playground.schema._common import looks_truncated
from playground.store.document import SessionDocument, StrictModel, missing_images, without_image_data
from playground.store.prompts import PromptLibrary
from playground.store.sessions import SessionRepository

SESSION_FORMAT: Final = "gpt41mini-playground/session"
PROMPT_FORMAT: Final = "gpt41mini-playground/prompt"
FORMAT_VERSION = 1
FileFormat = Literal["json", "yaml"]
ImageMode = Literal["inline", "omit"]
MAX_REPORTED_ERRORS = 5


class SessionFile(StrictModel):
    """A saved session, as exported."""

    format: Literal["gpt41mini-playground/session"]
    format_version: int = Field(ge=1, le=FORMAT_VERSION)
    exported_at: datetime | None = None
    session: SessionDocument


class PromptFile(StrictModel):
    """One version of a library prompt, as exported."""

    format: Literal["gpt41mini-playground/prompt"]
    format_version: int = Field(ge=1, le=FORMAT_VERSION)
    exported_at: datetime | None = None
    name: str
    version: int
    note: str = ""
    labels: list[str] = Field(default_factory=list)
    setup: SessionDocument


PlaygroundFile = Annotated[SessionFile | PromptFile, Field(discriminator="format")]
_FILE = TypeAdapter(PlaygroundFile)


def format_json_schema() -> dict[str, Any]:
    """The JSON Schema of session and prompt files (the committed docs/session-format.schema.json)."""
    schema = _FILE.json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "session-format.schema.json",
        "title": f"GPT-4.1-mini playground session and prompt files, format version {FORMAT_VERSION}",
        **schema,
    }


def format_json_schema_text() -> str:
    return json.dumps(format_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------
# Writing


def dump_file(file: SessionFile | PromptFile, file_format: FileFormat = "json") -> str:
    """``file`` as text: sorted keys, two-space indents, UTF-8 kept readable."""
    data = file.model_dump(mode="json")
    if file_format == "yaml":
        return yaml.safe_dump(data, sort_keys=True, allow_unicode=True, default_flow_style=False, width=100)
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _images(document: SessionDocument, images: ImageMode) -> SessionDocument:
    return document if images == "inline" else without_image_data(document)


def session_file(document: SessionDocument, images: ImageMode = "inline") -> SessionFile:
    return SessionFile(
        format=SESSION_FORMAT, format_version=FORMAT_VERSION, exported_at=None, session=_images(document, images)
    )


def export_session(
    repository: SessionRepository, session_id: str, file_format: FileFormat = "json", images: ImageMode = "inline"
) -> str:
    """A saved session as file text (no timestamp inside, so exporting twice gives the same bytes)."""
    return dump_file(session_file(repository.load_document(session_id, images=images == "inline"), images), file_format)


def export_prompt(
    library: PromptLibrary,
    name: str,
    version: int | None = None,
    file_format: FileFormat = "json",
    images: ImageMode = "inline",
) -> str:
    prompt = library.get(name, version)
    file = PromptFile(
        format=PROMPT_FORMAT,
        format_version=FORMAT_VERSION,
        name=prompt.info.name,
        version=prompt.info.version,
        note=prompt.info.note,
        labels=list(prompt.info.labels),
        setup=_images(prompt.setup, images),
    )
    return dump_file(file, file_format)


# --------------------------------------------------------------------------------------------
# Reading


def _parse_text(text: str) -> Any:
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise PlaygroundError.invalid_input("The file is empty.")
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            hint = " (the file looks cut off)" if looks_truncated(stripped) else ""
            raise PlaygroundError.invalid_input(
                f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}{hint}."
            ) from None
    try:
        return yaml.safe_load(stripped)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "unreadable"
        raise PlaygroundError.invalid_input(f"The file is neither JSON nor valid YAML: {problem}{where}.") from None


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(the whole file)"


def parse_file(text: str) -> SessionFile | PromptFile:
    """Read and validate a session or prompt file; PlaygroundError says what is wrong and where."""
    data = _parse_text(text)
    if not isinstance(data, dict):
        raise PlaygroundError.invalid_input(
            "This is not a playground file: it should be an object with a `format` field."
        )
    declared = data.get("format")
    if declared not in (SESSION_FORMAT, PROMPT_FORMAT):
        raise PlaygroundError.invalid_input(
            f"This is not a playground file: its `format` is {declared!r}, expected {SESSION_FORMAT!r} or "
            f"{PROMPT_FORMAT!r}."
        )
    version = data.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise PlaygroundError.invalid_input(
            f"This file has format version {version}, written by a newer playground; this one reads up to "
            f"version {FORMAT_VERSION}. Upgrade the playground to open it."
        )
    try:
        return _FILE.validate_python(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        shown = [f"{_field_path(error['loc'][1:])}: {error['msg']}" for error in errors[:MAX_REPORTED_ERRORS]]
        more = f" (and {len(errors) - MAX_REPORTED_ERRORS} more)" if len(errors) > MAX_REPORTED_ERRORS else ""
        raise PlaygroundError.invalid_input(
            f"The file does not match the {declared} format: " + "; ".join(shown) + more + ".",
            errors=[error["loc"] for error in errors],
        ) from None


def file_document(file: SessionFile | PromptFile) -> SessionDocument:
    """The session a file opens as (a prompt file opens its setup)."""
    if isinstance(file, SessionFile):
        return file.session
    return file.setup.model_copy(update={"title": f"{file.name} v{file.version}"})


@dataclass(frozen=True)
class ImportResult:
    """A new session from a file; ``missing_images`` counts images the file left out that this
    database did not have either (they are dropped from their messages)."""

    session_id: str
    missing_images: int


def import_file(repository: SessionRepository, text: str) -> ImportResult:
    """Validate ``text`` whole, then create a new session from it (nothing is written on error)."""
    document = file_document(parse_file(text))
    session_id = repository.create_from_document(document)
    missing = 0
    if missing_images(document):
        missing = len(document.images()) - len(repository.load_document(session_id, images=False).images())
    return ImportResult(session_id, missing)
