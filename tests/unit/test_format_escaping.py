"""components.format's escaping: model-, user- and tool-supplied text drawn as Markdown stays text.

What the browser makes of it is checked in Chromium (tests/e2e/test_tools_e2e.py); here, the
escaped forms themselves."""

from __future__ import annotations

import re

import pytest

from components.format import md_code, md_text

PAYLOADS = [
    "![img](http://evil.example/i.png)",
    "[link](http://evil.example)",
    "x` ![img](http://evil.example/i.png) `",
    "<http://evil.example> <img src=x>",
    "**bold** _it_ ~~gone~~ | a | b |",
    "see www.evil.example or mail me@evil.example",
    "`` ` ``",
]
# Characters that open a link, image, autolink, code span, emphasis or HTML tag.
OPENERS = "[]()!<>`*~|"
WORD_JOINER = "\u2060"


def unescaped(text: str) -> list[str]:
    """The structure-making characters of ``text`` that are not backslash-escaped."""
    return [m.group(2) for m in re.finditer(r"(?<!\\)((?:\\\\)*)([" + re.escape(OPENERS) + "])", text)]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_text_escapes_everything_that_makes_structure(payload: str) -> None:
    escaped = md_text(payload)
    assert unescaped(escaped) == []
    # No bare URL or address to autolink (GFM links them after escapes are resolved).
    assert not re.search(r"://|www\.|\w@", escaped, re.IGNORECASE)
    assert re.sub(r"\\(.)", r"\1", escaped).replace(WORD_JOINER, "") == payload  # and nothing else changes


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_code_is_one_code_span_that_nothing_inside_closes(payload: str) -> None:
    span = md_code(payload)
    fence = re.match(r"`+", span).group(0)
    assert span.endswith(fence)
    inner = span[len(fence) : -len(fence)]
    assert all(len(run) != len(fence) for run in re.findall(r"`+", inner))  # no run of the fence's length
    assert inner.strip(" ") == payload.strip(" ") or inner == f" {payload} "


def test_plain_names_read_as_before() -> None:
    assert md_code("get_weather") == "`get_weather`"
    assert md_text("field_name costs $5: line 3, column 2") == "field_name costs $5: line 3, column 2"
    assert md_text("$a and $b") == "\\$a and \\$b"  # a pair would be math
    assert md_text("two\nlines") == "two lines"
    assert md_code("") == md_text("(empty)")
