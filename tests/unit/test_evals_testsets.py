"""Test sets: CSV / JSONL import with errors that name the line, and the stable JSON form."""

from __future__ import annotations

import pytest

from playground.errors import PlaygroundError
from playground.evals.testsets import TestRow, TestSet, import_csv, import_jsonl, import_test_set


def test_csv_columns_become_variables_expected_and_id_are_special():
    test_set = import_csv("id,city,expected\nr1,Paris,France\n,Rome,\n\n", name="capitals")
    assert test_set.name == "capitals" and test_set.columns == ["city"]
    assert test_set.rows[0] == TestRow(id="r1", variables={"city": "Paris"}, expected="France")
    assert test_set.rows[1] == TestRow(id="2", variables={"city": "Rome"}, expected=None)


def test_csv_errors_name_the_line_and_column():
    with pytest.raises(PlaygroundError, match="CSV line 3: 1 values for 2 columns"):
        import_csv("a,b\n1,2\n3\n")
    with pytest.raises(PlaygroundError, match="column 2 has no name"):
        import_csv("a,,c\n1,2,3\n")
    with pytest.raises(PlaygroundError, match="'a' appears twice"):
        import_csv("a,a\n1,2\n")
    with pytest.raises(PlaygroundError, match="empty"):
        import_csv("")
    with pytest.raises(PlaygroundError, match="used twice"):
        import_csv("id,a\nx,1\nx,2\n")


def test_jsonl_rows_keep_non_strings_as_json_text():
    test_set = import_jsonl('{"id": 7, "q": "2+2?", "n": 4, "expected": {"answer": 4}}\n\n{"variables": {"q": "hi"}}\n')
    assert test_set.rows[0] == TestRow(id="7", variables={"q": "2+2?", "n": "4"}, expected='{"answer": 4}')
    assert test_set.rows[1].variables == {"q": "hi"} and test_set.rows[1].id == "2"


def test_jsonl_errors_name_the_line():
    with pytest.raises(PlaygroundError, match="JSONL line 2: not valid JSON"):
        import_jsonl('{"a": 1}\n{"a": \n')
    with pytest.raises(PlaygroundError, match="JSONL line 1: expected an object"):
        import_jsonl("[1, 2]\n")
    with pytest.raises(PlaygroundError, match="no rows"):
        import_jsonl("\n")


def test_import_by_extension_and_encoding():
    assert import_test_set("data/qa.csv", b"q\nhi\n").name == "qa"
    assert import_test_set("qa.JSONL", b'{"q": "hi"}').rows[0].variables == {"q": "hi"}
    with pytest.raises(PlaygroundError, match="not UTF-8"):
        import_test_set("qa.csv", b"q\n\xff\n")
    with pytest.raises(PlaygroundError, match=r"\.csv or \.jsonl"):
        import_test_set("qa.xlsx", b"")


def test_stable_json_round_trip_and_missing_variables():
    test_set = TestSet(name="t", version=3, rows=[TestRow(id="1", variables={"b": "2", "a": "1"})])
    text = test_set.to_json()
    assert TestSet.from_json(text) == test_set
    assert text == TestSet.from_json(text).to_json()
    assert text.index('"a"') < text.index('"b"')
    assert test_set.missing_variables(["a", "c"]) == {"1": ["c"]}
