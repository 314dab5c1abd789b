"""The display formatters: costs read in dollars and cents, shares never round to a misleading 0 %."""

from __future__ import annotations

import pytest

from components import format as fmt


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (None, "n/a"),
        (0, "$0"),
        (0.0006528, "$0.00065"),  # two significant digits below a cent, not six decimals
        (0.0000114, "$0.000011"),
        (0.00999, "$0.01"),  # rounds up into cents
        (0.6528, "$0.65"),
        (652.8, "$652.80"),
        (12_345.678, "$12,345.68"),
        (1e-9, "<$0.000001"),
        (-0.25, "-$0.25"),
    ],
)
def test_money(amount, shown):
    assert fmt.money(amount) == shown


def test_per_reply_gives_the_cost_of_1000_replies_too():
    assert fmt.per_reply(0.0006528) == "$0.00065 per reply ($0.65 per 1,000 replies)"
    assert fmt.per_reply(None) == "n/a"


@pytest.mark.parametrize(
    ("fraction", "shown"), [(0, "0%"), (3 / 1_047_576, "<0.1%"), (0.031, "3.1%"), (0.0999, "10%"), (0.5, "50%")]
)
def test_percent(fraction, shown):
    assert fmt.percent(fraction) == shown


def test_a_runs_spend_says_what_had_no_price_instead_of_zero():
    from playground.meter.spend import PaidCost

    assert fmt.paid(PaidCost(0.25, False, 0, 3)) == "$0.25"
    assert fmt.paid(PaidCost(0.25, True, 0, 3)) == "$0.25 est."
    assert fmt.paid(PaidCost()) == "$0"
    assert fmt.paid(PaidCost(0.25, False, 2, 4)) == "$0.25 + unknown (2 requests with no price)"
    assert fmt.paid(PaidCost(0.0, False, 1, 1)) == "unknown (1 request with no price)"
