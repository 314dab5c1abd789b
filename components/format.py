"""Small display formatters shared by pages (numbers, money, durations)."""

from __future__ import annotations


def tokens(count: int | None) -> str:
    return "?" if count is None else f"{count:,}"


def usd(amount: float | None) -> str:
    if amount is None:
        return "n/a"
    if amount == 0:
        return "$0"
    return f"${amount:,.6f}" if amount < 0.01 else f"${amount:,.4f}"


def seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"
