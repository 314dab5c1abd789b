"""Test sets: a table of variable values with optional expected values, imported from CSV or JSONL.

A :class:`TestSet` has a stable JSON form (``to_json`` / ``from_json``: sorted keys, rows in
order) so the store can persist it and diff versions. Import errors name the line and column.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from playground.errors import PlaygroundError

#: The column (CSV) or key (JSONL) holding a row's expected value; ``id`` names a row.
EXPECTED_COLUMN = "expected"
ID_COLUMN = "id"
MAX_ROWS = 50_000  # the Batch API's limit per file (FACTS 9)


class TestRow(BaseModel):
    """One row: its variables' values, and the expected output graders may compare against."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    __test__ = False  # not a pytest class

    id: str = Field(min_length=1)
    variables: dict[str, str] = Field(default_factory=dict)
    expected: str | None = None


class TestSet(BaseModel):
    """A named, versioned table of rows. ``version`` is bumped by the store on each save."""

    model_config = ConfigDict(extra="forbid")
    __test__ = False  # not a pytest class

    name: str = "Untitled test set"
    version: int = 1
    rows: list[TestRow] = Field(default_factory=list)

    @field_validator("rows")
    @classmethod
    def _unique_ids(cls, rows: list[TestRow]) -> list[TestRow]:
        seen: set[str] = set()
        for row in rows:
            if row.id in seen:
                raise ValueError(f"row id {row.id!r} is used twice")
            seen.add(row.id)
        return rows

    @property
    def columns(self) -> list[str]:
        """Variable names in first-seen order."""
        return list(dict.fromkeys(name for row in self.rows for name in row.variables))

    def row(self, row_id: str) -> TestRow:
        for row in self.rows:
            if row.id == row_id:
                return row
        raise KeyError(row_id)

    def missing_variables(self, needed: list[str]) -> dict[str, list[str]]:
        """Row id -> the needed variables it lacks (only rows that lack some)."""
        return {
            row.id: missing for row in self.rows if (missing := [name for name in needed if name not in row.variables])
        }

    def to_json(self) -> str:
        """The stable JSON form (sorted keys): equal test sets give equal text."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> TestSet:
        return cls.model_validate_json(text)


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _check_size(count: int) -> None:
    if count > MAX_ROWS:
        raise PlaygroundError.invalid_input(f"The file has more than {MAX_ROWS:,} rows; split it.")


def _build(name: str, rows: list[TestRow]) -> TestSet:
    try:
        return TestSet(name=name, rows=rows)
    except ValidationError as exc:
        raise PlaygroundError.invalid_input(f"The test set is not valid: {exc.errors()[0]['msg']}.") from None


def import_csv(text: str, name: str = "Imported test set") -> TestSet:
    """Rows from CSV with a header: each column is a variable, except ``expected`` and ``id``.

    Rows without an ``id`` get their line number. Raises PlaygroundError naming the line/column.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise PlaygroundError.invalid_input("The CSV file is empty: it needs a header row.") from None
    except csv.Error as exc:
        raise PlaygroundError.invalid_input(f"CSV line 1: {exc}.") from None
    header = [column.strip() for column in header]
    for index, column in enumerate(header, start=1):
        if not column:
            raise PlaygroundError.invalid_input(f"CSV line 1: column {index} has no name.", column=index)
    if duplicates := sorted({column for column in header if header.count(column) > 1}):
        raise PlaygroundError.invalid_input(f"CSV line 1: the column {duplicates[0]!r} appears twice.")
    rows: list[TestRow] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                raise PlaygroundError.invalid_input(
                    f"CSV line {line}: {len(cells)} values for {len(header)} columns ({', '.join(header)}).",
                    line=line,
                )
            record = dict(zip(header, cells, strict=True))
            row_id = record.pop(ID_COLUMN, "").strip() or str(len(rows) + 1)
            expected = record.pop(EXPECTED_COLUMN, None)
            rows.append(TestRow(id=row_id, variables=record, expected=expected or None))
            _check_size(len(rows))
    except csv.Error as exc:
        raise PlaygroundError.invalid_input(f"CSV line {reader.line_num}: {exc}.") from None
    return _build(name, rows)


def import_jsonl(text: str, name: str = "Imported test set") -> TestSet:
    """Rows from JSON Lines: each line an object of variables, plus optional ``expected`` and ``id``.

    Non-string values are kept as their JSON text. Raises PlaygroundError naming the line/key.
    """
    rows: list[TestRow] = []
    for line_number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise PlaygroundError.invalid_input(
                f"JSONL line {line_number}: not valid JSON ({exc}).", line=line_number
            ) from None
        if not isinstance(record, dict):
            raise PlaygroundError.invalid_input(
                f"JSONL line {line_number}: expected an object of variables, got {type(record).__name__}.",
                line=line_number,
            )
        row_id = record.pop(ID_COLUMN, None)
        expected = record.pop(EXPECTED_COLUMN, None)
        variables = record.pop("variables", None) if isinstance(record.get("variables"), dict) else None
        values = {**(variables or {}), **record}
        for key in values:
            if not key.strip():
                raise PlaygroundError.invalid_input(f"JSONL line {line_number}: a key is empty.", line=line_number)
        rows.append(
            TestRow(
                id=_cell(row_id) if row_id is not None else str(len(rows) + 1),
                variables={key: _cell(value) for key, value in values.items()},
                expected=_cell(expected) if expected is not None else None,
            )
        )
        _check_size(len(rows))
    if not rows:
        raise PlaygroundError.invalid_input("The JSONL file has no rows.")
    return _build(name, rows)


def import_test_set(filename: str, data: bytes, name: str | None = None) -> TestSet:
    """Import by extension (``.csv``, ``.jsonl`` / ``.ndjson``), decoding UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlaygroundError.invalid_input(
            f"{filename} is not UTF-8 text (byte {exc.start}); save it as UTF-8."
        ) from None
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "Imported test set"
    lowered = filename.lower()
    if lowered.endswith(".csv"):
        return import_csv(text, name or stem)
    if lowered.endswith((".jsonl", ".ndjson")):
        return import_jsonl(text, name or stem)
    raise PlaygroundError.invalid_input(f"{filename}: import a .csv or .jsonl file.")
