"""Containment: an exception while drawing one part of a page stays in that part.

``with contained("the meter"):`` (or ``@contained("...")`` on a drawing function) catches any
Exception raised while the part draws, logs it without secrets, and draws an error in its place,
so one broken message, section or meter never takes the whole page (and the session) with it.
Streamlit's own rerun and stop signals are not Exceptions and pass through untouched.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from components.state import get_workspace
from playground.errors import redact

logger = logging.getLogger("playground.ui")

# Anything that looks like an API key, in case one reached an exception's text.
_SECRET_LIKE = re.compile(r"(sk-[A-Za-z0-9_\-*]{4,}|\b[A-Fa-f0-9]{32,}\b)")


def _redacted(text: str) -> str:
    return _SECRET_LIKE.sub("[redacted]", redact(text, [get_workspace().connection.key]))


@contextmanager
def contained(what: str, hint: str = "") -> Iterator[None]:
    """Draw one part of a page; if it fails, show an error for ``what`` instead of losing the page.

    ``hint`` says what the user can do about it (for example where the offending input is edited).
    """
    try:
        yield
    except Exception as error:
        frames = "".join(traceback.format_tb(error.__traceback__))  # code lines only, no values
        logger.error("Drawing %s failed: %s: %s\n%s", what, type(error).__name__, _redacted(str(error)), frames)
        advice = hint or "Undo the change you made last, or reload the page if this part stays broken."
        st.error(
            f"This part of the page could not be drawn ({what}: {type(error).__name__}). "
            f"The rest of the page and your session are unaffected. {advice}",
            icon=":material/report:",
        )
