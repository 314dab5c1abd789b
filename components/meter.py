"""The cost and context meter's Streamlit pieces: the sidebar's live meter, the chat page's send
gate, and the sections of the meter panel (tables and plotly charts).

All arithmetic is in :mod:`playground.meter`; this module only draws it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import streamlit as st

from components import format as fmt
from components.state import set_widget_value, widget_value
from playground.costs import batch_tier_for, tier_prices
from playground.meter import (
    DAYS_PER_MONTH,
    FILL_FULL,
    FILL_NEAR,
    Breakdown,
    FillLevel,
    PaidCost,
    RoomStrategy,
    SessionSpend,
    TurnUsage,
    context_categories,
    growth_per_turn,
    next_request_cost,
    project,
    running_accuracy,
    turns_left,
    usage_csv,
)
from playground.registry import Price, price_tiers
from playground.workspace import Workspace

if TYPE_CHECKING:  # pandas and plotly load with the meter panel, not with every page's sidebar
    import pandas as pd
    import plotly.graph_objects as go


class MeterKeys:
    """Widget and container keys of the meter, named once so pages and tests agree on them."""

    LIVE = "meter.live"
    BLOCKED = "meter.blocked"
    DROP_TURNS = "meter.drop_turns"
    DROP_IMAGES = "meter.drop_images"
    TIER = "meter.tier"
    OVERRIDE_FORM = "meter.override_form"
    OVERRIDE_INPUT = "meter.override_input"
    OVERRIDE_CACHED = "meter.override_cached"
    OVERRIDE_OUTPUT = "meter.override_output"
    OVERRIDE_APPLY = "meter.override_apply"
    OVERRIDE_RESET = "meter.override_reset"
    REQUESTS_PER_DAY = "meter.requests_per_day"
    DOWNLOAD_CSV = "meter.download_csv"


LEVEL_COLOURS: dict[FillLevel, Literal["green", "orange", "red"]] = {
    FillLevel.OK: "green",
    FillLevel.NEAR: "orange",
    FillLevel.FULL: "red",
    FillLevel.OVER: "red",
}
LEVEL_ICONS = {
    FillLevel.OK: ":material/check_circle:",
    FillLevel.NEAR: ":material/warning:",
    FillLevel.FULL: ":material/error:",
    FillLevel.OVER: ":material/block:",
}
BAR_CELLS = 20
PREVIEW_CHARS = 80
# Chart colours: one per token kind, the same in every chart.
COLOURS = {"uncached": "#4C78A8", "cached": "#72B7B2", "images": "#F58518", "output": "#54A24B", "reserved": "#BAB0AC"}
TURN_AXIS = {"dtick": 1, "tickprefix": "turn "}
CHART_LAYOUT = {
    "height": 320,
    # Legend above the plot, under the title: below it, a legend that wraps (narrow screens) covers the axis.
    "margin": {"l": 10, "r": 10, "t": 90, "b": 10},
    "title_y": 0.97,
    "title_yanchor": "top",
    "legend": {"orientation": "h", "x": 0, "y": 1.04, "yanchor": "bottom"},
}


def _cells(fraction: float) -> int:
    """Bar cells for a share of the window: at least one for anything above nothing."""
    return min(BAR_CELLS, math.ceil(fraction * BAR_CELLS)) if fraction > 0 else 0


def _fill_bar(breakdown: Breakdown) -> str:
    """The prompt in the level's colour, then the reply's reserve, then what is free.

    (st.progress knows one colour only, the theme's.)"""
    prompt = _cells(breakdown.prompt_fraction)
    reserved = min(BAR_CELLS - prompt, _cells(breakdown.reserved_fraction))
    free = BAR_CELLS - prompt - reserved
    bar = f":{LEVEL_COLOURS[breakdown.level]}[{'█' * prompt}]" if prompt else ""
    return bar + f":gray[{'▓' * reserved}{'░' * free}]"


def _level_text(breakdown: Breakdown) -> str:
    with_reply = f"{fmt.percent(breakdown.fraction)} with the reply reserved"
    return {
        FillLevel.OK: f"Fits: {breakdown.free:,} tokens free",
        FillLevel.NEAR: f"Nearing the limit: {with_reply}",
        FillLevel.FULL: f"Almost full: {with_reply}",
        FillLevel.OVER: f"Over the window by {breakdown.overflow:,} tokens",
    }[breakdown.level]


# ---------------------------------------------------------------------------------------------
# Sidebar


def _cost_text(cost: PaidCost) -> str:
    return fmt.money(cost.usd) + (" est." if cost.estimated and cost.usd else "")


def session_cost_text(spend: SessionSpend) -> str:
    """The session's cost, and where it went when not all in the chat (chat · compare · runs), each
    part marked when estimated prices went into it; requests without a price are counted apart."""
    total = spend.total
    text = f"Session cost: **{fmt.money(total.usd)}**"
    if not spend.beyond_chat:
        text += " (estimated prices)" if total.estimated else ""
    else:
        text += " (" + " · ".join(f"{name} {_cost_text(cost)}" for name, cost in spend.parts()) + ")"
    if total.unpriced:
        one = total.unpriced == 1
        requests = "1 paid request" if one else f"{total.unpriced} paid requests"
        text += f"; {requests} not included (no price for {'its' if one else 'their'} model)"
    return text


def live_meter(workspace: Workspace) -> None:
    """What the next request carries against the window, its cost, and the session's cost so far."""
    breakdown = workspace.breakdown()
    rows = workspace.usage_rows()
    approx = "≥" if breakdown.is_lower_bound else "≈" if breakdown.is_estimate else ""
    with st.container(key=MeterKeys.LIVE, gap="small"):
        st.markdown(
            f"Prompt: {approx}{fmt.tokens(breakdown.total)} tokens ({fmt.percent(breakdown.prompt_fraction)} of "
            f"the window)  \nReply reserved: {fmt.tokens(breakdown.reserved_output)} "
            f"({fmt.percent(breakdown.reserved_fraction)})  \n{_fill_bar(breakdown)}  \n"
            f"Window: {fmt.tokens(breakdown.window)} tokens"
        )
        st.badge(_level_text(breakdown), color=LEVEL_COLOURS[breakdown.level], icon=LEVEL_ICONS[breakdown.level])
        if image_tokens := breakdown.tokens_of("draft"):
            st.caption(f"Includes the pending images: {image_tokens:,} tokens")
        if breakdown.estimate_notes:
            st.caption("Estimate: " + "; ".join(breakdown.estimate_notes) + ".")
        price = workspace.price()
        if price is None:
            st.caption(f"Next reply: no {workspace.applied_price_label()} price for {breakdown.model}.")
        else:
            cost = next_request_cost(breakdown, price, rows)
            if cost.expected_usd is not None:
                st.caption(
                    f"Next reply: **{fmt.per_reply(cost.expected_usd)}** at the average length so far "
                    f"({cost.expected_output_tokens:,} tokens)."
                )
            st.caption(
                f"At most {fmt.money(cost.max_usd)} if the reply uses all {cost.reserved_output_tokens:,} reserved "
                f"tokens (no cache discount assumed). Prices: {workspace.applied_price_label()}."
            )
        st.caption(session_cost_text(workspace.spend()))


# ---------------------------------------------------------------------------------------------
# Chat page: the send gate


def _make_room(workspace: Workspace, strategy: RoomStrategy) -> None:
    plan = workspace.make_room(strategy)
    if plan is not None:
        st.toast(f"{plan.label}: done.", icon=":material/content_cut:")


def _blocked_panel(workspace: Workspace, breakdown: Breakdown) -> None:
    with st.container(border=True, key=MeterKeys.BLOCKED):
        st.error(
            f"Not sent: this request needs {breakdown.used:,} tokens ({breakdown.total:,} in the prompt + "
            f"{breakdown.reserved_output:,} reserved for the reply), but the window is {breakdown.window:,}: "
            f"{breakdown.overflow:,} too many. Your message is kept; nothing was sent to the API.",
            icon=":material/block:",
        )
        plans = {
            MeterKeys.DROP_TURNS: workspace.plan_room("turns"),
            MeterKeys.DROP_IMAGES: workspace.plan_room("images"),
        }
        with st.container(horizontal=True, gap="small"):
            for key, plan in plans.items():
                if plan is not None:
                    st.button(
                        plan.label,
                        key=key,
                        on_click=_make_room,
                        args=(workspace, plan.strategy),
                        disabled=not plan.fits,
                        type="primary" if plan.fits else "secondary",
                        icon=":material/content_cut:",
                        help="Then the request is sent."
                        if plan.fits
                        else "Not enough on its own: even dropping all of them leaves the request too big.",
                    )
        st.caption(
            "Or make room yourself (shorten the system prompt, remove tool definitions or the schema, or lower Max "
            f"completion tokens: {breakdown.reserved_output:,} reserved), then resend your message with Edit → Resend."
        )


def request_gate(workspace: Workspace) -> bool:
    """True when a reply should be requested now.

    A pending request that cannot fit the window is held with an explanation and one-click ways
    to make room, instead of failing at the API.
    """
    if (blocked := workspace.hold_oversized_request()) is not None:
        _blocked_panel(workspace, blocked)
    return workspace.awaiting_reply


# ---------------------------------------------------------------------------------------------
# Meter panel


def _fill_override_form(price: Price | None) -> None:
    """Show ``price`` in the override inputs (keys, not value=: a value= default would go stale)."""
    base = price or Price(input=0.0, output=0.0)
    set_widget_value(MeterKeys.OVERRIDE_INPUT, base.input)
    set_widget_value(MeterKeys.OVERRIDE_CACHED, base.cached_input)
    set_widget_value(MeterKeys.OVERRIDE_OUTPUT, base.output)


def _set_tier(workspace: Workspace) -> None:
    workspace.set_price_tier(widget_value(MeterKeys.TIER))
    _fill_override_form(workspace.price())


def _reset_override(workspace: Workspace) -> None:
    workspace.set_price_override(None)
    _fill_override_form(workspace.price())


def _apply_override(workspace: Workspace) -> None:
    price = Price(
        input=widget_value(MeterKeys.OVERRIDE_INPUT),
        cached_input=widget_value(MeterKeys.OVERRIDE_CACHED),  # empty: no cache discount
        output=widget_value(MeterKeys.OVERRIDE_OUTPUT),
    )
    workspace.set_price_override(price)


def price_controls(workspace: Workspace) -> None:
    """Pick the price tier (registry data) or override prices for this session."""
    import pandas as pd

    spec = workspace.model_spec()
    tiers = tier_prices(spec)
    ids = [tier for tier, _, _ in tiers]
    current = workspace.tier()
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.selectbox(
            "Price tier",
            ids,
            index=ids.index(current) if current in ids else 0,
            format_func=lambda tier: price_tiers()[tier].label,
            key=MeterKeys.TIER,
            on_change=_set_tier,
            args=(workspace,),
            help="Costs of every turn are recomputed from its usage at the tier you pick.",
        )
        applied = workspace.price()
        if applied is None:
            st.warning(f"The registry has no {workspace.applied_price_label()} price for {spec.label}: pick a tier.")
        overridden = spec.id in workspace.price_overrides
        with st.expander("Override prices for this session", expanded=overridden):
            if widget_value(MeterKeys.OVERRIDE_INPUT) is None:
                _fill_override_form(applied)
            with st.form(MeterKeys.OVERRIDE_FORM, border=False):
                st.number_input("Input, USD per 1M", 0.0, format="%.4f", key=MeterKeys.OVERRIDE_INPUT)
                st.number_input(
                    "Cached input, USD per 1M (empty = no cache discount)",
                    0.0,
                    value=None,
                    format="%.4f",
                    key=MeterKeys.OVERRIDE_CACHED,
                )
                st.number_input("Output, USD per 1M", 0.0, format="%.4f", key=MeterKeys.OVERRIDE_OUTPUT)
                st.form_submit_button(
                    "Apply for this session", key=MeterKeys.OVERRIDE_APPLY, on_click=_apply_override, args=(workspace,)
                )
            if overridden:
                st.button(
                    "Back to registry prices",
                    key=MeterKeys.OVERRIDE_RESET,
                    on_click=_reset_override,
                    args=(workspace,),
                )
    with right:
        table = pd.DataFrame(
            {
                # The applied tier is marked in its own cell: a separate column is cut first on narrow screens.
                "Tier": [f"✓ {label}" if tier == current and not overridden else label for tier, label, _ in tiers],
                "Input": [f"${price.input:.3f}" for _, _, price in tiers],
                "Cached input": [
                    "no discount" if price.cached_input is None else f"${price.cached_input:.3f}"
                    for _, _, price in tiers
                ],
                "Output": [f"${price.output:.3f}" for _, _, price in tiers],
            }
        )
        st.dataframe(table, hide_index=True)
        st.caption(
            f"{spec.label}, USD per 1M tokens; ✓ marks the applied tier (no discount: cached tokens are charged as "
            "input). "
            f"Costs below use **{workspace.applied_price_label()}**"
            + (" (figures of a guessed model: estimates)." if spec.is_estimate else ".")
        )


def current_context(workspace: Workspace, breakdown: Breakdown) -> None:
    """What takes the space in the next request: a chart by kind, and every part with a preview."""
    import pandas as pd
    import plotly.graph_objects as go

    st.subheader("Current context")
    # A wrapping row, not st.columns: at 800 px four columns would cut the labels and the figures.
    with st.container(horizontal=True, gap="large"):
        st.metric("Next prompt", f"{breakdown.total:,}", help="Tokens the next request would carry.", width="content")
        st.metric("Reserved for the reply", f"{breakdown.reserved_output:,}", width="content")
        st.metric("Window", f"{breakdown.window:,}", help=f"Figures of {breakdown.model}.", width="content")
        st.metric(
            "Prompt share of the window",
            fmt.percent(breakdown.prompt_fraction),
            help=f"With the reply's reserve: {fmt.percent(breakdown.fraction)}; {breakdown.free:,} tokens free.",
            width="content",
        )
    if breakdown.estimate_notes:
        st.caption("Estimate: " + "; ".join(breakdown.estimate_notes) + ".")
    categories = context_categories(breakdown)
    figure = go.Figure(
        go.Bar(
            x=[tokens for _, tokens in categories] + [breakdown.reserved_output],
            y=[label for label, _ in categories] + ["Reserved for the reply"],
            orientation="h",
            marker_color=[COLOURS["uncached"]] * len(categories) + [COLOURS["reserved"]],
            text=[f"{tokens:,}" for _, tokens in categories] + [f"{breakdown.reserved_output:,}"],
            textposition="auto",
        )
    )
    figure.update_layout(title="What takes the space (tokens)", yaxis={"autorange": "reversed"}, **CHART_LAYOUT)
    st.plotly_chart(figure)
    contents = {message.id: message.content for message in workspace.conversation.messages}
    with st.expander(f"Every part ({len(breakdown.parts)})"):
        st.dataframe(
            pd.DataFrame(
                {
                    "Part": [part.label for part in breakdown.parts],
                    "Preview": [contents.get(part.message_id or "", "")[:PREVIEW_CHARS] for part in breakdown.parts],
                    "Text tokens": [part.text_tokens for part in breakdown.parts],
                    "Image tokens": [part.image_tokens for part in breakdown.parts],
                    "Images of unknown size": [part.unknown_images for part in breakdown.parts],
                }
            ),
            hide_index=True,
        )


def _turns_frame(rows: list[TurnUsage]) -> pd.DataFrame:
    import pandas as pd

    accuracy = running_accuracy(rows)
    return pd.DataFrame(
        {
            "Turn": [row.turn for row in rows],
            "Prompt tokens": [row.prompt_tokens for row in rows],
            "Cached": [row.cached_tokens for row in rows],
            "Images (est.)": [row.image_tokens for row in rows],
            "Output": [row.completion_tokens for row in rows],
            "Our estimate": [row.estimated_prompt_tokens for row in rows],
            "Estimate − actual": [row.estimate_error for row in rows],
            "Error %": [None if (e := row.estimate_error_fraction) is None else e * 100 for row in rows],
            "Running accuracy %": [None if a is None else a.accuracy * 100 for a in accuracy],
            "Cost": [row.cost_usd for row in rows],
            "Per 1,000 like it": [None if row.cost_usd is None else row.cost_usd * 1_000 for row in rows],
            "Cumulative cost": [row.cumulative_cost_usd for row in rows],
            "Context fill %": [row.context_fraction * 100 for row in rows],
            "Finish": [row.finish_reason or "" for row in rows],
        }
    )


def _turn_bars(
    title: str, turns: list[int], series: dict[str, tuple[list[int | None], str]], barmode: str
) -> go.Figure:
    import plotly.graph_objects as go

    figure = go.Figure(
        [go.Bar(name=name, x=turns, y=values, marker_color=colour) for name, (values, colour) in series.items()]
    )
    figure.update_layout(title=title, barmode=barmode, xaxis=TURN_AXIS, **CHART_LAYOUT)
    return figure


def turns_section(workspace: Workspace, rows: list[TurnUsage]) -> None:
    """The per-turn table, its charts, and the CSV export."""
    import plotly.graph_objects as go

    st.subheader("Turns")
    prices = workspace.applied_price_label()
    if removed := workspace.paid_reply_count() - len(rows):
        st.caption(
            f"Session total, with {removed} repl{'ies' if removed > 1 else 'y'} not in the conversation "
            f"(schema test runs, or dropped, deleted, regenerated or cleared turns): "
            f"**{fmt.money(workspace.session_cost())}**."
        )
    spend = workspace.spend()
    if spend.beyond_chat:  # the table is the chat's; the Compare panel's spend is said beside it
        st.caption(f"The table covers the chat. {session_cost_text(spend)}.")
    if not rows:
        st.info("No replies with usage yet: chat first, then come back here.")
        return
    st.caption(
        f"One row per reply, from the API's usage. Costs at **{prices}**, recomputed for every turn; cached tokens "
        "are part of the prompt tokens and charged once, at the cached rate. Image tokens are our estimate."
    )
    st.dataframe(
        _turns_frame(rows),
        hide_index=True,
        column_config={
            # Two or three significant digits: a reply costs fractions of a cent, 1,000 of them read in dollars.
            "Cost": st.column_config.NumberColumn(format="$%.2g"),
            "Per 1,000 like it": st.column_config.NumberColumn(format="$%.2f"),
            "Cumulative cost": st.column_config.NumberColumn(format="$%.3g"),
            "Error %": st.column_config.NumberColumn(format="%.2f"),
            "Running accuracy %": st.column_config.NumberColumn(format="%.2f"),
            "Context fill %": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    st.download_button(
        "Download per-turn usage (CSV)",
        data=usage_csv(rows, prices),
        file_name="turn_usage.csv",
        mime="text/csv",
        key=MeterKeys.DOWNLOAD_CSV,
        icon=":material/download:",
        on_click="ignore",
    )
    turns = [row.turn for row in rows]
    left, right = st.columns(2)
    tokens = _turn_bars(
        "Tokens per turn",
        turns,
        {
            "Uncached input": ([r.uncached_text_tokens for r in rows], COLOURS["uncached"]),
            "Cached input": ([r.cached_tokens for r in rows], COLOURS["cached"]),
            "Images (est.)": ([r.uncached_image_tokens for r in rows], COLOURS["images"]),
            "Output": ([r.completion_tokens for r in rows], COLOURS["output"]),
        },
        barmode="stack",
    )
    left.plotly_chart(tokens)
    cost = go.Figure(
        go.Scatter(x=turns, y=[r.cumulative_cost_usd for r in rows], mode="lines+markers", line_color=COLOURS["output"])
    )
    cost.update_layout(
        title=f"Cumulative cost (USD, {prices})",
        xaxis=TURN_AXIS,
        yaxis={"rangemode": "tozero", "tickprefix": "$", "tickformat": ",.2~r"},
    )
    cost.update_layout(**CHART_LAYOUT)
    right.plotly_chart(cost)
    fill = go.Figure(
        go.Scatter(
            x=turns, y=[r.context_fraction * 100 for r in rows], mode="lines+markers", line_color=COLOURS["uncached"]
        )
    )
    for threshold, colour in ((FILL_NEAR, "orange"), (FILL_FULL, "red")):
        fill.add_hline(y=threshold * 100, line_dash="dot", line_color=colour)
    fill.update_layout(
        title="Context fill after each turn (% of the window)",
        xaxis=TURN_AXIS,
        yaxis={"range": [0, max(100.0, max(r.context_fraction * 100 for r in rows))]},
        **CHART_LAYOUT,
    )
    left.plotly_chart(fill)
    estimates = _turn_bars(
        "Estimate vs actual prompt tokens",
        turns,
        {
            "Our estimate": ([r.estimated_prompt_tokens for r in rows], COLOURS["reserved"]),
            "usage.prompt_tokens": ([r.prompt_tokens for r in rows], COLOURS["uncached"]),
        },
        barmode="group",
    )
    right.plotly_chart(estimates)


def estimate_summary(rows: list[TurnUsage]) -> None:
    """The running accuracy of our pre-send estimates against the API's prompt_tokens."""
    accuracy = next((a for a in reversed(running_accuracy(rows)) if a is not None), None)
    if accuracy is None:
        return
    st.metric(
        "Accuracy of our prompt estimates",
        fmt.percent(accuracy.accuracy),
        help="1 − the median of |estimate − usage.prompt_tokens| / usage.prompt_tokens over every reply with an "
        "estimate: one outlier cannot sink it (the mean and the worst are below).",
    )
    replies = f"{accuracy.replies} repl{'ies' if accuracy.replies > 1 else 'y'}"
    st.caption(
        f"Over {replies}: median error {fmt.percent(accuracy.median_abs_error_fraction)}, mean "
        f"{accuracy.mean_abs_error:,.1f} tokens ({fmt.percent(accuracy.mean_abs_error_fraction)}), worst "
        f"{fmt.percent(accuracy.worst_abs_error_fraction)}. usage.prompt_tokens is the truth; our count is exact "
        "for text under the cookbook rules and estimated for tools, schemas and images."
    )


def projection_section(workspace: Workspace, rows: list[TurnUsage], breakdown: Breakdown) -> None:
    """Costs at scale, what caching and the Batch API change, and turns left in the window."""
    import pandas as pd

    st.subheader("Projection")
    left, right = st.columns([1, 2], gap="large")
    per_day = left.number_input("Replies a day", min_value=0, value=1_000, step=100, key=MeterKeys.REQUESTS_PER_DAY)
    remaining = turns_left(breakdown)
    growth = growth_per_turn(breakdown)
    left.metric(
        "Turns left in the window",
        "n/a" if remaining is None else f"{remaining:,}",
        help="Free tokens (window − next prompt − reserved reply) / average tokens a turn adds so far.",
    )
    if growth is not None:
        left.caption(f"At {growth:,.0f} tokens per turn (your message and its reply), the average so far.")
    price = workspace.price()
    spec = workspace.model_spec()
    batch_tier = batch_tier_for(spec, workspace.tier())
    projection = (
        None
        if price is None
        else project(rows, price, spec.price(batch_tier) if batch_tier else None, batch_tier, int(per_day))
    )
    with right:
        if projection is None:
            st.info("Projections start after the first reply with usage (and need a price for the applied tier).")
            return
        st.caption(f"Replies like the last one, at **{workspace.applied_price_label()}**.")
        with st.container(horizontal=True, gap="large"):
            st.metric("Per reply", fmt.money(projection.per_request), width="content")
            st.metric("Per 1,000 replies", fmt.money(projection.per_thousand), width="content")
            st.metric("Per 1M replies", fmt.money(projection.per_million), width="content")
            st.metric(f"Per month at {int(per_day):,}/day", fmt.money(projection.per_month), width="content")
        savings = {
            "Prompt caching saved": projection.caching_saved,
            "Prompt caching could save": projection.caching_could_save,
        }
        if projection.batch_saves is not None and projection.batch_tier is not None:
            savings["The Batch API would save"] = projection.batch_saves
        st.dataframe(
            pd.DataFrame(
                {
                    "Saving": list(savings),
                    "Per reply": [fmt.money(saved) for saved in savings.values()],
                    "Per 1,000 replies": [fmt.money(saved * 1_000) for saved in savings.values()],
                    "Per month": [fmt.money(projection.monthly(saved)) for saved in savings.values()],
                }
            ),
            hide_index=True,
        )
        batch = f" at {price_tiers()[projection.batch_tier].label} prices" if projection.batch_tier else ""
        st.caption(
            "Caching saved: what the last request's cached tokens saved against every prompt token at the input "
            "price. Could save: if the whole repeated prefix (the previous request and its reply) were cached; the "
            f"provider caches only long repeated prefixes, so this is an upper bound. Batch API{batch}: no cache "
            f"discount, not interactive. A month is {DAYS_PER_MONTH} days."
        )
