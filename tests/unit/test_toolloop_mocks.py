"""Mock templating (sandboxed Jinja2), canned matching, faults, and their serialisation."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter

from playground.toolloop import CannedCase, CannedMock, FaultMock, MockError, TemplateMock, ToolMock


def test_template_substitutes_arguments_and_quotes_strings_safely() -> None:
    mock = TemplateMock(template='{"city": {{ city | tojson }}, "temp": {{ 18 if unit == "celsius" else 64 }}}')
    assert json.loads(mock.produce({"city": 'Pa"ris', "unit": "fahrenheit"})) == {"city": 'Pa"ris', "temp": 64}


def test_template_sees_all_arguments_as_one_variable_too() -> None:
    mock = TemplateMock(template="{{ arguments | tojson }}")
    assert json.loads(mock.produce({"a": 1, "b": [2]})) == {"a": 1, "b": [2]}


def test_undefined_variable_is_an_error_naming_it() -> None:
    with pytest.raises(MockError, match="'city' is undefined"):
        TemplateMock(template='{"city": {{ city | tojson }}}').produce({})


@pytest.mark.parametrize(
    "escape",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.environ }}",
        "{{ arguments.__class__ }}",
    ],
)
def test_sandbox_refuses_attribute_escapes(escape: str) -> None:
    with pytest.raises(MockError, match=r"sandbox refuses.*unsafe"):
        TemplateMock(template='{"x": "' + escape + '"}').produce({})


def test_rendered_text_must_be_json() -> None:
    with pytest.raises(MockError, match=r"not valid JSON.*tojson"):
        TemplateMock(template='{"city": {{ city }}}').produce({"city": "Paris"})


def test_template_syntax_error_names_the_line() -> None:
    with pytest.raises(MockError, match="syntax error on line 2"):
        TemplateMock(template="{\n{{ city }\n}").produce({"city": "x"})


def test_canned_first_subset_match_wins_else_default() -> None:
    mock = CannedMock(
        cases=[
            CannedCase(match={"city": "Paris"}, output="paris"),
            CannedCase(match={"city": "Paris", "unit": "celsius"}, output="never: the first case wins"),
            CannedCase(match={"unit": "fahrenheit"}, output="imperial"),
        ],
        default="default",
    )
    assert mock.produce({"city": "Paris", "unit": "celsius"}) == "paris"
    assert mock.produce({"city": "Rome", "unit": "fahrenheit"}) == "imperial"
    assert mock.produce({"city": "Rome"}) == "default"
    # Exact matching: 1 and "1" differ, a missing key never matches (not even None).
    assert CannedMock(cases=[CannedCase(match={"n": None}, output="none")], default="d").produce({}) == "d"


def test_canned_without_match_or_default_says_so() -> None:
    with pytest.raises(MockError, match="no default"):
        CannedMock(cases=[CannedCase(match={"a": 1}, output="x")]).produce({"a": 2})


def test_faults_produce_what_a_failing_tool_sends() -> None:
    assert json.loads(FaultMock(fault="error", message="boom").produce({})) == {"error": "boom"}
    assert "timed out" in FaultMock(fault="timeout", timeout_s=5).produce({})
    assert FaultMock(fault="empty").produce({}) == ""
    huge = FaultMock(fault="huge", huge_chars=50_000).produce({})
    assert len(huge) >= 45_000 and json.loads(huge)["items"]


def test_mocks_round_trip_through_json_as_one_union() -> None:
    adapter: TypeAdapter[ToolMock] = TypeAdapter(ToolMock)
    mocks: list[ToolMock] = [
        TemplateMock(template="{}"),
        CannedMock(cases=[CannedCase(match={"a": 1}, output="x")], default="d"),
        FaultMock(fault="huge", huge_chars=10),
    ]
    for mock in mocks:
        assert adapter.validate_json(adapter.dump_json(mock)) == mock
