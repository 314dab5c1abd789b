"""Small display formatters shared by pages (numbers, money, durations)."""

from __future__ import annotations

import math

#: Below this, an amount shows as "<$0.000001" (nothing a price list bills separately).
MONEY_FLOOR = 0.000001


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


def money(amount: float | None) -> str:
    """USD as people read it: cents from a cent up, two significant digits below (never six decimals)."""
    if amount is None:
        return "n/a"
    if amount == 0:
        return "$0"
    sign, size = ("-" if amount < 0 else ""), float(f"{abs(amount):.2g}") if abs(amount) < 0.01 else abs(amount)
    if size >= 0.01:
        return f"{sign}${size:,.2f}"
    if size < MONEY_FLOOR:
        return f"{sign}<${MONEY_FLOOR:f}".rstrip("0")
    decimals = 1 - math.floor(math.log10(size))
    return f"{sign}${size:.{decimals}f}"


def per_reply(amount: float | None) -> str:
    """A cost of one reply, and of 1,000 like it (where small amounts become readable)."""
    if amount is None:
        return "n/a"
    return f"{money(amount)} per reply ({money(amount * 1_000)} per 1,000 replies)"


def percent(fraction: float) -> str:
    """A share of something: "<0.1%" rather than a misleading "0%", one decimal below 10%."""
    if fraction <= 0:
        return "0%"
    if fraction < 0.001:
        return "<0.1%"
    return f"{fraction:.1%}" if fraction < 0.0995 else f"{fraction:.0%}"
