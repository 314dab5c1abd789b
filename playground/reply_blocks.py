"""Splitting a reply that is still streaming into settled blocks and the growing tail.

Redrawing a whole long reply on every update sends the whole reply to the browser each time (a
1 MB reply sent about 49 MB of websocket frames). A Markdown paragraph that a blank line has
closed no longer changes: the UI draws it once into its own element and redraws only the tail,
so what goes over the wire grows with the new text. A blank line inside a fenced code block does
not close anything (the fence is still open).
"""

from __future__ import annotations

import re

# A fence opens or closes on a line that starts (after up to 3 spaces) with ``` or ~~~.
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.MULTILINE)
_BLANK_LINE = "\n\n"


def settled_length(text: str, start: int = 0) -> int:
    """The length of the prefix of ``text`` made of closed blocks (0 when none is closed yet).

    A block is closed by a blank line outside any fenced code block. ``start`` is a boundary an
    earlier call returned for a prefix of the same text: the scan resumes there (a stream calls
    this on every update, so it stays linear in the new text).
    """
    boundary = start
    position = start
    open_fence: str | None = None
    while True:
        blank = text.find(_BLANK_LINE, position)
        if blank < 0:
            return boundary
        for fence in _FENCE.finditer(text, position, blank):
            marker = fence.group(1)
            if open_fence is None:
                open_fence = marker[0] * 3
            elif marker.startswith(open_fence):
                open_fence = None
        position = blank + len(_BLANK_LINE)
        if open_fence is None:
            boundary = position


def next_settled(text: str, start: int = 0) -> tuple[str, int]:
    """The blocks of ``text`` closed since ``start`` (one chunk, drawn once) and the new boundary."""
    end = settled_length(text, start)
    return text[start:end], end


#: Below this size the open tail is redrawn on every update (a paragraph streams smoothly).
SMOOTH_TAIL_CHARS = 4_096


def tail_due(tail_length: int, drawn_length: int) -> bool:
    """Whether the open tail should be redrawn now, given the length it had when last drawn.

    A short tail always is. A long one (a huge paragraph or code block, which never settles) is
    redrawn once it has grown by an eighth, so the bytes sent stay proportional to the reply
    (a geometric series) instead of growing with the square of its length.
    """
    if tail_length < drawn_length:  # blocks settled: the tail restarted
        return True
    grown = tail_length - drawn_length
    return grown > 0 and (tail_length < SMOOTH_TAIL_CHARS or grown >= drawn_length // 8)
