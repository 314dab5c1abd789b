"""Splitting a streaming reply into settled blocks (drawn once) and the tail (redrawn)."""

from __future__ import annotations

from playground.reply_blocks import next_settled, settled_length


def test_nothing_settles_before_a_blank_line():
    assert settled_length("one paragraph still growing") == 0
    assert next_settled("one line\nsecond line") == ("", 0)


def test_closed_paragraphs_settle_and_the_tail_does_not():
    text = "First.\n\nSecond.\n\nThird, still"
    chunk, boundary = next_settled(text)
    assert chunk == "First.\n\nSecond.\n\n"
    assert text[boundary:] == "Third, still"


def test_a_blank_line_inside_a_code_fence_does_not_close_it():
    text = "Intro.\n\n```python\ndef f():\n\n    return 1\n"
    assert settled_length(text) == len("Intro.\n\n")
    closed = text + "```\n\nAfter"
    assert closed[settled_length(closed) :] == "After"


def test_tilde_fences_and_longer_closing_fences():
    text = "~~~\na\n\nb\n~~~~\n\nrest"
    assert text[settled_length(text) :] == "rest"
    mixed = "```\ncode\n\n~~~\nstill code\n\nmore"  # a ~~~ line does not close a ``` fence
    assert settled_length(mixed) == 0


def test_resuming_from_a_boundary_gives_the_same_blocks_as_one_pass():
    text = "".join(f"Paragraph {n} " + "word " * 30 + "\n\n" for n in range(50)) + "tail"
    chunks, boundary = [], 0
    for end in range(0, len(text) + 1, 37):  # the text as it streams in
        chunk, boundary = next_settled(text[:end], boundary)
        chunks.append(chunk)
    chunk, boundary = next_settled(text, boundary)
    chunks.append(chunk)
    assert "".join(chunks) == text[: settled_length(text)] == text[: -len("tail")]
    assert text[boundary:] == "tail"


def test_the_redrawn_tail_stays_small_while_a_long_reply_streams():
    """What a redraw sends is the tail, not the reply: for a 1 MB reply of normal paragraphs the
    largest redrawn text stays around one paragraph."""
    paragraph = "word " * 80 + "\n\n"
    text = paragraph * 2_500  # 1 MB
    boundary, largest_tail, drawn_once = 0, 0, 0
    for end in range(0, len(text) + 1, 4_000):
        chunk, boundary = next_settled(text[:end], boundary)
        drawn_once += len(chunk)
        largest_tail = max(largest_tail, end - boundary)
    assert drawn_once == len(text[: settled_length(text[: (len(text) // 4_000) * 4_000])])
    assert largest_tail <= len(paragraph) + 4_000


def test_a_long_tail_that_never_settles_is_redrawn_geometrically_not_per_update():
    from playground.reply_blocks import SMOOTH_TAIL_CHARS, tail_due

    assert tail_due(10, 9) and tail_due(SMOOTH_TAIL_CHARS - 1, SMOOTH_TAIL_CHARS - 2)
    assert not tail_due(5, 5)
    assert tail_due(3, 5_000)  # blocks settled, the tail is new
    drawn, sent, redraws = 0, 0, 0
    for length in range(0, 1_000_000, 40):  # a 1 MB code block, 40 characters an update
        if tail_due(length, drawn):
            drawn, sent, redraws = length, sent + length, redraws + 1
    assert sent < 12 * 1_000_000  # each redraw sends the whole tail: bounded by ~9x the reply
    assert redraws < 300  # instead of 25,000 redraws of up to 1 MB each
