"""The Valid / Invalid verdict badge of a reply checked against a schema (schema runs and chat)."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from playground.conversation import Message

BadgeColor = Literal["green", "red", "orange", "gray"]
VERDICT_BADGES: dict[str, tuple[str, str, BadgeColor]] = {
    "valid": ("Valid", ":material/check_circle:", "green"),
    "invalid": ("Invalid", ":material/cancel:", "red"),
    "refused": ("Refused", ":material/block:", "orange"),
    "failed": ("No reply", ":material/error:", "red"),
    "pending": ("Not checked", ":material/hourglass_empty:", "gray"),
}


def verdict_badge(verdict: str) -> None:
    label, icon, color = VERDICT_BADGES[verdict]
    st.badge(label, icon=icon, color=color)


def schema_badge(message: Message) -> None:
    """Under a chat reply that was asked to follow a schema: its Valid / Invalid verdict."""
    if (check := message.schema_check) is None:
        return
    verdict_badge("valid" if check.ok else "invalid")
    if check.errors:
        st.code("\n".join(f"{e.path}: {e.message}" for e in check.errors), language=None, wrap_lines=True)
