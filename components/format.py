"""Small display formatters shared by pages (numbers, money, durations, reply figures) and the
escaping of model-, user- and tool-supplied text drawn as Markdown (:func:`md_text`, :func:`md_code`)."""

from __future__ import annotations

import math
import re

from playground.conversation import ReplyStats
from playground.meter.spend import PaidCost

#: Below this, an amount shows as "<$0.000001" (nothing a price list bills separately).
MONEY_FLOOR = 0.000001


def tokens(count: int | None) -> str:
    return "?" if count is None else f"{count:,}"


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


def cost(amount: float | None, is_estimate: bool = False) -> str:
    """A reply's or a run's cost: "unknown" when no price applies (a model the registry does not
    know), never $0; " est." when another entry's prices were used."""
    if amount is None:
        return "unknown"
    return money(amount) + (" est." if is_estimate else "")


def paid(spent: PaidCost) -> str:
    """What some paid requests (a run's) cost: the priced ones' sum, and how many had no price
    (then "unknown", never a silent $0)."""
    if not spent.unpriced:
        return cost(spent.usd, spent.estimated and spent.usd > 0)
    some = "1 request" if spent.unpriced == 1 else f"{spent.unpriced:,} requests"
    unknown = f"unknown ({some} with no price)"
    return f"{cost(spent.usd, spent.estimated)} + {unknown}" if spent.usd > 0 else unknown


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


def model_label(stats: ReplyStats) -> str:
    """Which model wrote a reply: the model the server reported, and the name it was asked by
    (a deployment, or a local alias) when that differs."""
    served, asked = stats.served_model, stats.model
    if not served or served == asked:
        return asked
    if served.startswith(asked):  # a dated snapshot of the model asked for
        return served
    return f"{served} (asked as {asked})"


def stats_line(stats: ReplyStats, estimated_price: bool, estimated_output: int | None = None) -> str:
    """One reply's model, tokens, cost and speed. Figures the server did not report are our
    estimate, marked as such (``estimated_output``: our count of a stopped reply's text)."""
    usage_estimated = stats.usage_estimated
    if stats.completion_tokens is None and estimated_output is not None:
        prompt = f"≈{tokens(stats.estimated_prompt_tokens)}"
        counts = f"in {prompt} · out ≈{estimated_output:,} (estimated: stopped before the server reported usage)"
    else:
        cached = f" ({stats.cached_tokens:,} cached)" if stats.cached_tokens else ""
        mark = "≈" if usage_estimated else ""
        counts = f"in {mark}{tokens(stats.prompt_tokens)}{cached} · out {mark}{tokens(stats.completion_tokens)}"
        if usage_estimated:
            counts += " (estimated: the server sent no usage)"
    cost = money(stats.cost_usd) + (
        " est." if (estimated_price or usage_estimated) and stats.cost_usd is not None else ""
    )
    speed = f"{stats.tokens_per_second:,.0f} tok/s" if stats.tokens_per_second else "n/a tok/s"
    return (
        f"{model_label(stats)} · {counts} · {cost} · "
        f"first token {seconds(stats.time_to_first_token_s)} · {speed} · finish: {stats.finish_reason or 'n/a'}"
    )


# What can turn text into Markdown structure: links and images ([ ] ( ) !), autolinks (< >), code,
# emphasis and strike-through, HTML, tables, and Streamlit's directives (:red[...]). A "_" inside a
# word (field_name) is literal already.
_MARKDOWN_SPECIAL = re.compile(r"[\\`*~\[\]()!<>|{}#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# Bare URLs and e-mail addresses are linked after escapes are resolved (GFM autolink literals), so
# a backslash cannot stop them: an invisible WORD JOINER inside "://", after "www" and before "@" does.
_AUTOLINK_SEAMS = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)
_WORD_JOINER = "\u2060"
_BACKTICK_RUNS = re.compile(r"`+")


def md_text(text: object) -> str:
    """``text`` (from a model, a user or a tool) as literal Markdown text, on one line."""
    value = _MARKDOWN_SPECIAL.sub(lambda match: "\\" + match.group(0), " ".join(str(text).split()))
    value = _AUTOLINK_SEAMS.sub(_WORD_JOINER, value)
    # Math needs a pair of "$": a lone one (a price, "$defs") is already literal.
    return value.replace("$", "\\$") if value.count("$") > 1 else value


def md_code(text: object) -> str:
    """``text`` as an inline code span that nothing in it can close (literal, on one line).

    The fence is one backtick longer than the longest run of backticks inside, as CommonMark allows.
    """
    value = " ".join(str(text).split())
    if not value:
        return md_text("(empty)")
    fence = "`" * (max((len(run) for run in _BACKTICK_RUNS.findall(value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def md_lines(text: object) -> str:
    """``text`` as literal Markdown, its line breaks kept (a message someone typed, shown as typed)."""
    return "  \n".join(md_text(line) if line.strip() else "" for line in str(text).split("\n"))
