"""The Functions panel's loop: each tool's mock and code, auto-run with Stop, the timeline with
editable results, its JSON export, and scenarios compared side by side.

Every action calls one Workspace method (the loop's state is ``workspace.tool_loop``, saved with the
session). A run advances the session's own timeline step by step, so a click (Stop, or any other
widget), which ends the script at its next Streamlit call, keeps every finished step; the next run
marks it stopped (:meth:`~playground.workspace.Workspace.settle_tool_loop`). Names, arguments,
results and answers come from the model, the user or a tool: they are drawn escaped or as code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import streamlit as st
from pydantic import TypeAdapter, ValidationError

from components.format import md_code, md_text, money, seconds, tokens
from components.state import clear_widgets, pop_widget_value, set_widget_value, widget_value
from playground.conversation import Message
from playground.errors import PlaygroundError
from playground.toolloop import (
    CallRecord,
    CannedCase,
    CannedMock,
    LoopStatus,
    MockScenario,
    ScenarioOutcome,
    Step,
    TemplateMock,
    Timeline,
    ToolMock,
    code_enabled,
    detect_isolation,
)
from playground.workspace import Workspace

MOCK_KINDS = {"none": "No mock (type results)", "template": "JSON template (Jinja2)", "canned": "Canned responses"}
STATUS_TEXT = {
    LoopStatus.READY: "Ready: nothing sent yet.",
    LoopStatus.RUNNING: "Running…",
    LoopStatus.PAUSED: "Paused before the next step: edit a result if you like, then continue.",
    LoopStatus.NEEDS_INPUT: "Waiting for you: some calls have no automatic answer. Type their results below.",
    LoopStatus.FINISHED: "Finished: the model gave its final answer.",
    LoopStatus.STOPPED: "Stopped. The finished steps are kept; continue to go on from there.",
    LoopStatus.MAX_STEPS: "Ended by the max-steps guard with calls still pending. Raise it and continue.",
    LoopStatus.FAILED: "A request failed (see the last step). Continue sends it again.",
}
COLUMNS_PER_ROW = 3
PREVIEW_CHARS = 1_200  # longer answers (a huge tool payload echoed back) are cut; the export has them whole
CARD_ANSWER_HEIGHT = 220  # px: side-by-side answers scroll inside their card, so the row stays level
_CASES = TypeAdapter(list[CannedCase])
_SCENARIO_MOCKS = TypeAdapter(dict[str, ToolMock])


class LoopKeys:
    """Widget keys of the loop panel (all under :attr:`PREFIX`)."""

    PREFIX = "loop."

    PROMPT = "loop.prompt"
    MAX_STEPS = "loop.max_steps"
    PAUSE = "loop.pause"
    RUN = "loop.run"
    CONTINUE = "loop.continue"
    STOP = "loop.stop"
    CLEAR = "loop.clear"
    EXPORT = "loop.export"
    SEND_TYPED = "loop.send_typed"
    AUTO_CONTINUE = "loop.auto_continue"  # set by an edited result: re-run from there (not a widget)
    RUN_ERROR = "loop.error.run"  # the last failed action's message, per area (not widgets)
    MOCK_ERROR = "loop.error.mocks"
    SCENARIO_ERROR = "loop.error.scenarios"
    ADD_FAULTS = "loop.add_faults"
    NEW_SCENARIO = "loop.new_scenario"
    ADD_SCENARIO = "loop.add_scenario"
    COMPARE = "loop.compare"
    STOP_COMPARE = "loop.stop_compare"
    TIMELINE = "loop.timeline"
    COMPARISON = "loop.comparison"

    @staticmethod
    def mock_kind(tool: str) -> str:
        return f"loop.mock_kind.{tool}"

    @staticmethod
    def mock_text(tool: str) -> str:
        return f"loop.mock_text.{tool}"

    @staticmethod
    def mock_default(tool: str) -> str:
        return f"loop.mock_default.{tool}"

    @staticmethod
    def save_mock(tool: str) -> str:
        return f"loop.save_mock.{tool}"

    @staticmethod
    def code(tool: str) -> str:
        return f"loop.code.{tool}"

    @staticmethod
    def save_code(tool: str) -> str:
        return f"loop.save_code.{tool}"

    RESULT_PREFIX = "loop.result."

    @staticmethod
    def result(call_id: str) -> str:
        return f"{LoopKeys.RESULT_PREFIX}{call_id}"

    @staticmethod
    def save_result(call_id: str) -> str:
        return f"loop.save_result.{call_id}"

    @staticmethod
    def outcome(index: int) -> str:
        """The side-by-side card of the ``index``-th outcome of the comparison (0: as saved)."""
        return f"loop.outcome.{index}"

    @staticmethod
    def scenario(name: str) -> str:
        return f"loop.scenario.{name}"

    @staticmethod
    def save_scenario(name: str) -> str:
        return f"loop.save_scenario.{name}"

    @staticmethod
    def remove_scenario(name: str) -> str:
        return f"loop.remove_scenario.{name}"


def _act(area: str, action: Callable[..., Any], *args: Any) -> bool:
    """Run one Workspace action; its PlaygroundError is kept under ``area`` to show there."""
    pop_widget_value(area)
    try:
        action(*args)
    except PlaygroundError as error:
        set_widget_value(area, error.message)
        return False
    return True


def _show_error(area: str) -> None:
    if message := widget_value(area):
        st.error(md_text(message), icon=":material/error:")


def _callback(area: str, action: Callable[..., Any], *args: Any) -> Callable[[], None]:
    """A widget callback running one Workspace action (``args`` may be functions of nothing, read
    when the callback runs: a widget's new value)."""

    def run() -> None:
        _act(area, action, *(arg() if callable(arg) else arg for arg in args))

    return run


def _lines(text: str, limit: int | None = None) -> str:
    """Multi-line text from the model or a tool as escaped Markdown, its line breaks kept; past
    ``limit`` characters it is cut, saying how much was left out (the export has it whole)."""
    cut = f" … ({len(text) - limit:,} more characters)" if limit is not None and len(text) > limit else ""
    shown = text[:limit] if cut else text
    return ("  \n".join(md_text(line) for line in shown.splitlines()) or md_text("(empty)")) + md_text(cut)


# --- mocks and code, per tool -------------------------------------------------------------------
def _mock_from_widgets(tool: str) -> ToolMock | None:
    kind = widget_value(LoopKeys.mock_kind(tool), "none")
    text = widget_value(LoopKeys.mock_text(tool), "")
    if kind == "template":
        return TemplateMock(template=text)
    if kind == "canned":
        try:
            cases = _CASES.validate_json(text or "[]")
        except ValidationError as error:
            raise PlaygroundError.invalid_input(
                f"The canned cases of {tool} must be a JSON list of {{match, output}} objects "
                f"({error.errors()[0]['msg']})."
            ) from None
        default = widget_value(LoopKeys.mock_default(tool), "")
        return CannedMock(cases=cases, default=default or None)
    return None


def _save_mock(workspace: Workspace, tool: str) -> None:
    def save() -> None:
        workspace.set_tool_mock(tool, _mock_from_widgets(tool))

    _act(LoopKeys.MOCK_ERROR, save)


def _fill_mock_widgets(tool: str, mock: ToolMock | None) -> None:
    if widget_value(LoopKeys.mock_kind(tool)) is not None:
        return
    set_widget_value(LoopKeys.mock_kind(tool), mock.kind if mock is not None and mock.kind != "fault" else "none")
    if isinstance(mock, TemplateMock):
        set_widget_value(LoopKeys.mock_text(tool), mock.template)
    elif isinstance(mock, CannedMock):
        cases = [case.model_dump(mode="json") for case in mock.cases]
        set_widget_value(LoopKeys.mock_text(tool), json.dumps(cases, indent=2, ensure_ascii=False))
        set_widget_value(LoopKeys.mock_default(tool), mock.default or "")


def tool_answers(workspace: Workspace) -> None:
    """Per tool: the mock that answers it on auto-run, and its optional Python code."""
    sandboxes = workspace.tool_loop.setup.tools
    if not sandboxes:
        return
    isolation = detect_isolation()
    if code_enabled():
        st.caption(f"Python tools are on: each call runs in its own process under {md_text(isolation.sentence)}.")
    else:
        st.caption(md_text(isolation.sentence) + " Mocks or typed results answer the calls.")
    _show_error(LoopKeys.MOCK_ERROR)
    for sandbox in sandboxes:
        name = sandbox.name
        with st.expander(f"Answers of {md_code(name)} · {md_text(_answer_label(sandbox.mock, sandbox.code))}"):
            _fill_mock_widgets(name, sandbox.mock)
            kind = st.radio(
                "Mock",
                list(MOCK_KINDS),
                format_func=MOCK_KINDS.__getitem__,
                key=LoopKeys.mock_kind(name),
                horizontal=True,
            )
            if kind == "template":
                st.text_area(
                    "JSON template (the call's arguments are its variables; quote strings with | tojson)",
                    key=LoopKeys.mock_text(name),
                    height=120,
                    placeholder='{"city": {{ city | tojson }}, "temperature": 18}',
                )
            elif kind == "canned":
                st.text_area(
                    'Cases: a JSON list of {"match": {argument: value}, "output": "..."}; the first match wins',
                    key=LoopKeys.mock_text(name),
                    height=120,
                    placeholder='[{"match": {"order_id": "A-10234"}, "output": "{\\"status\\": \\"shipped\\"}"}]',
                )
                st.text_input("Default output (when no case matches)", key=LoopKeys.mock_default(name))
            st.button("Save mock", key=LoopKeys.save_mock(name), on_click=_save_mock, args=(workspace, name))
            if code_enabled():
                if widget_value(LoopKeys.code(name)) is None:
                    set_widget_value(LoopKeys.code(name), sandbox.code or "")
                st.text_area(
                    "Python (def run(arguments): return a JSON-serialisable value); wins over the mock",
                    key=LoopKeys.code(name),
                    height=120,
                    placeholder="def run(arguments):\n    return {'ok': True}",
                )
                st.button(
                    "Save code",
                    key=LoopKeys.save_code(name),
                    on_click=_callback(
                        LoopKeys.MOCK_ERROR,
                        workspace.set_tool_code,
                        name,
                        lambda name=name: widget_value(LoopKeys.code(name)),
                    ),
                )


def _answer_label(mock: ToolMock | None, code: str | None) -> str:
    parts = [f"{mock.kind} mock" if mock is not None else "no mock"]
    if code and code_enabled():
        parts.append("code")
    return " + ".join(parts)


# --- running ------------------------------------------------------------------------------------
def _start(workspace: Workspace) -> None:
    if _act(LoopKeys.RUN_ERROR, workspace.start_tool_loop):
        set_widget_value(LoopKeys.AUTO_CONTINUE, True)


def _continue(workspace: Workspace) -> None:
    set_widget_value(LoopKeys.AUTO_CONTINUE, True)


def _edit_result(workspace: Workspace, call_id: str) -> None:
    if _act(LoopKeys.RUN_ERROR, workspace.set_tool_result, call_id, widget_value(LoopKeys.result(call_id), "")):
        set_widget_value(LoopKeys.AUTO_CONTINUE, True)  # editing a result re-runs from there


def _send_typed(workspace: Workspace, call_ids: list[str]) -> None:
    def send() -> None:
        for call_id in call_ids:
            workspace.set_tool_result(call_id, widget_value(LoopKeys.result(call_id), ""))

    if _act(LoopKeys.RUN_ERROR, send):
        set_widget_value(LoopKeys.AUTO_CONTINUE, True)


def _options(workspace: Workspace) -> None:
    setup = workspace.tool_loop.setup
    set_widget_value(LoopKeys.MAX_STEPS, setup.max_steps)
    set_widget_value(LoopKeys.PAUSE, setup.pause_before_each_step)
    steps, pause = st.columns([1, 2], vertical_alignment="bottom")
    steps.number_input(
        "Max steps",
        min_value=1,
        max_value=50,
        step=1,
        key=LoopKeys.MAX_STEPS,
        on_change=_callback(
            LoopKeys.RUN_ERROR, lambda: workspace.set_loop_options(max_steps=int(widget_value(LoopKeys.MAX_STEPS)))
        ),
        help="The guard: at most this many model requests per run.",
    )
    pause.toggle(
        "Pause before each step",
        key=LoopKeys.PAUSE,
        on_change=_callback(
            LoopKeys.RUN_ERROR,
            lambda: workspace.set_loop_options(pause_before_each_step=bool(widget_value(LoopKeys.PAUSE))),
        ),
        help="Stop after the calls are answered, so you can edit a result before the model sees it.",
    )


def _run(workspace: Workspace) -> None:
    """Auto-run now, drawing each step as it lands; a Stop click ends the script and keeps them."""
    st.button("Stop", key=LoopKeys.STOP, icon=":material/stop_circle:", help="Stop and keep the finished steps")
    live = st.empty()
    partial = st.empty()

    def redraw(timeline: Timeline) -> None:
        with live.container():
            _timeline_summary(timeline)

    def stream(message: Message) -> None:
        text = message.content or ", ".join(call.name for call in message.tool_calls)
        partial.caption(f"Step in progress: {md_text(text[-300:])} ▌")

    _act(LoopKeys.RUN_ERROR, lambda: workspace.run_tool_loop(on_update=redraw, on_progress=stream))
    clear_widgets(LoopKeys.RESULT_PREFIX)  # the result boxes show this run's results, not a previous run's
    st.rerun()


def _timeline_summary(timeline: Timeline) -> None:
    """A widget-free view of the run, redrawn while it runs."""
    st.markdown(f"**{len(timeline.steps)} step(s)** · {md_text(STATUS_TEXT[timeline.status])}")
    for step in timeline.steps:
        calls = ", ".join(call.name for call in step.calls)
        st.caption(f"Step {step.number}: " + (f"called {md_text(calls)}" if calls else md_text(step.content[:200])))


def loop_controls(workspace: Workspace) -> None:
    """The prompt, the options, Run / Continue / Clear, and the run itself when one was asked for."""
    if widget_value(LoopKeys.PROMPT) is None:
        set_widget_value(LoopKeys.PROMPT, workspace.tool_loop.prompt)
    st.text_area(
        "Prompt (the user message each run starts from; the chat's system prompt goes first)",
        key=LoopKeys.PROMPT,
        height=80,
        on_change=lambda: workspace.set_loop_prompt(widget_value(LoopKeys.PROMPT, "")),
        placeholder="What's the weather in Paris and in Tokyo?",
    )
    _options(workspace)
    timeline = workspace.tool_loop.timeline
    resumable = timeline is not None and timeline.status is not LoopStatus.FINISHED and timeline.steps
    with st.container(horizontal=True, gap="small"):
        st.button(
            "Run",
            key=LoopKeys.RUN,
            type="primary",
            icon=":material/play_arrow:",
            on_click=_start,
            args=(workspace,),
            disabled=not workspace.tools,
            help="Start a new run of the prompt: model, calls answered by mocks or code, model again…",
        )
        st.button(
            "Continue",
            key=LoopKeys.CONTINUE,
            icon=":material/resume:",
            on_click=_continue,
            args=(workspace,),
            disabled=not resumable,
        )
        st.button("Clear run", key=LoopKeys.CLEAR, icon=":material/delete:", on_click=workspace.clear_tool_loop_run)
    _show_error(LoopKeys.RUN_ERROR)
    if pop_widget_value(LoopKeys.AUTO_CONTINUE, False):
        _run(workspace)


# --- the timeline -------------------------------------------------------------------------------
def _step_line(step: Step) -> str:
    stats = step.stats
    return (
        f"in {tokens(stats.prompt_tokens)} · out {tokens(stats.completion_tokens)} · {money(stats.cost_usd)} · "
        f"{seconds(stats.latency_s)} · finish: {md_text(stats.finish_reason or 'n/a')}"
    )


def _call_view(workspace: Workspace, call: CallRecord, editable: bool) -> None:
    st.markdown(f"{md_code(call.name)} · id {md_code(call.id)}")
    st.code(call.pretty_arguments, language="json", wrap_lines=True)
    if call.verdict.valid:
        st.success(md_text(call.verdict.summary), icon=":material/check_circle:")
    else:
        st.error(md_text(call.verdict.summary), icon=":material/error:")
    if call.result is not None:
        result = call.result
        detail = f" ({md_text(result.detail)})" if result.detail else ""
        failed = "" if result.ok else " · the tool failed"
        st.caption(f"Result from {md_text(result.source.value)}{detail} in {seconds(result.duration_s)}{failed}")
    elif call.problem:
        st.warning(md_text(call.problem), icon=":material/edit_note:")
    if not editable and call.result is not None:
        st.code(call.result.content or "(empty)", language="json", wrap_lines=True)
        return
    key = LoopKeys.result(call.id)
    if widget_value(key) is None:
        set_widget_value(key, call.result.content if call.result is not None else "")
    st.text_area("Result", key=key, height=90, label_visibility="collapsed")
    if call.result is not None:
        st.button(
            "Use this result and re-run from here",
            key=LoopKeys.save_result(call.id),
            icon=":material/replay:",
            on_click=_edit_result,
            args=(workspace, call.id),
        )


def timeline_view(workspace: Workspace) -> None:
    """The last run: each step's figures, each call, its verdict and result, the final answer."""
    timeline = workspace.tool_loop.timeline
    if timeline is None:
        st.caption("No run yet: write a prompt and press Run.")
        return
    with st.container(key=LoopKeys.TIMELINE):
        cost = money(timeline.total_cost_usd)
        st.markdown(
            f"**Timeline** · {timeline.step_count} step(s) · {tokens(timeline.total_tokens)} tokens · {cost}  \n"
            f"{md_text(STATUS_TEXT[timeline.status])}"
        )
        pending = {call.id for call in timeline.pending_calls()}
        for step in timeline.steps:
            with st.container(border=True):
                st.markdown(f"**Step {step.number}** · {_step_line(step)}")
                if step.content:
                    st.markdown(_lines(step.content, PREVIEW_CHARS))
                if step.refusal:
                    st.warning(f"Refusal: {md_text(step.refusal)}")
                if step.error:
                    st.error(md_text(step.error), icon=":material/error:")
                if step.stopped:
                    st.caption("Stopped while this step streamed.")
                editable = timeline.status is not LoopStatus.RUNNING
                for call in step.calls:
                    _call_view(workspace, call, editable)
                if pending and any(call.id in pending for call in step.calls):
                    st.button(
                        f"Send {len(pending)} result(s) and continue",
                        key=LoopKeys.SEND_TYPED,
                        type="primary",
                        icon=":material/send:",
                        on_click=_send_typed,
                        args=(workspace, sorted(pending)),
                    )
        if timeline.final_answer is not None:
            st.markdown("**Final answer**")
            st.success(_lines(timeline.final_answer, PREVIEW_CHARS), icon=":material/flag:")
        st.download_button(
            "Download timeline (JSON)",
            timeline.to_json(),
            file_name="tool-loop-timeline.json",
            mime="application/json",
            key=LoopKeys.EXPORT,
            icon=":material/download:",
        )


# --- scenarios ----------------------------------------------------------------------------------
def _save_scenario(workspace: Workspace, name: str) -> None:
    def save() -> None:
        text = widget_value(LoopKeys.scenario(name), "{}")
        try:
            mocks = _SCENARIO_MOCKS.validate_json(text)
        except ValidationError as error:
            raise PlaygroundError.invalid_input(
                f"Scenario {name}: the mocks must be a JSON object of tool name → mock ({error.errors()[0]['msg']})."
            ) from None
        workspace.set_scenario(MockScenario(name=name, mocks=mocks))

    _act(LoopKeys.SCENARIO_ERROR, save)


def _add_scenario(workspace: Workspace) -> None:
    name = str(widget_value(LoopKeys.NEW_SCENARIO, "")).strip()
    if not name:
        set_widget_value(LoopKeys.SCENARIO_ERROR, "Name the scenario first.")
    elif any(scenario.name == name for scenario in workspace.tool_loop.scenarios):
        set_widget_value(LoopKeys.SCENARIO_ERROR, f"There is already a scenario named {name!r}.")
    elif _act(LoopKeys.SCENARIO_ERROR, workspace.set_scenario, MockScenario(name=name)):
        set_widget_value(LoopKeys.NEW_SCENARIO, "")


def _compare(workspace: Workspace) -> None:
    """Run every scenario now, each outcome drawn as it lands; Stop keeps those finished."""
    st.button("Stop", key=LoopKeys.STOP_COMPARE, icon=":material/stop_circle:", help="Stop; finished runs are kept")
    progress = st.empty()

    def stream(message: Message) -> None:  # a Streamlit call per update: where a Stop click lands
        done = len(workspace.tool_loop.comparison)
        progress.caption(f"Running scenario {done + 1}… {md_text((message.content or '')[-120:])} ▌")

    _act(LoopKeys.SCENARIO_ERROR, lambda: workspace.compare_scenarios(on_progress=stream))
    st.rerun()


def _outcome_card(outcome: ScenarioOutcome, index: int) -> None:
    with st.container(border=True, key=LoopKeys.outcome(index)):
        st.markdown(f"**{md_text(outcome.scenario)}**")
        st.caption(f"{outcome.step_count} step(s) · {money(outcome.cost_usd)} · {md_text(outcome.status.value)}")
        with st.container(height=CARD_ANSWER_HEIGHT, border=False):
            if outcome.final_answer is not None:
                st.markdown(_lines(outcome.final_answer, PREVIEW_CHARS))
            else:
                st.caption(md_text(STATUS_TEXT[outcome.status]))


def scenarios_view(workspace: Workspace) -> None:
    """Named mock variants, and one click to run the prompt under each, answers side by side."""
    st.caption(
        "A scenario replaces some tools' mocks (by tool name) for a run: the tool errors, times out, "
        "returns nothing or a huge payload. Compare runs the prompt as saved and under each scenario."
    )
    with st.container(horizontal=True, gap="small"):
        st.button(
            "Add the standard scenarios",
            key=LoopKeys.ADD_FAULTS,
            icon=":material/playlist_add:",
            on_click=_callback(LoopKeys.SCENARIO_ERROR, workspace.add_fault_scenarios),
            disabled=not workspace.tools,
        )
        compare = st.button(
            "Compare scenarios",
            key=LoopKeys.COMPARE,
            type="primary",
            icon=":material/compare:",
            disabled=not workspace.tool_loop.scenarios,
        )
    name_col, add_col = st.columns([3, 1], vertical_alignment="bottom")
    name_col.text_input("New scenario", key=LoopKeys.NEW_SCENARIO, placeholder="Order service is down")
    add_col.button("Add", key=LoopKeys.ADD_SCENARIO, on_click=_add_scenario, args=(workspace,), width="stretch")
    _show_error(LoopKeys.SCENARIO_ERROR)
    for scenario in workspace.tool_loop.scenarios:
        with st.expander(f"{md_text(scenario.name)} · overrides {md_text(', '.join(scenario.mocks) or 'nothing')}"):
            key = LoopKeys.scenario(scenario.name)
            if widget_value(key) is None:
                mocks = {name: mock.model_dump(mode="json") for name, mock in scenario.mocks.items()}
                set_widget_value(key, json.dumps(mocks, indent=2))
            st.text_area("Mocks by tool name (JSON)", key=key, height=120)
            with st.container(horizontal=True, gap="small"):
                st.button(
                    "Save",
                    key=LoopKeys.save_scenario(scenario.name),
                    on_click=_save_scenario,
                    args=(workspace, scenario.name),
                )
                st.button(
                    "Remove",
                    key=LoopKeys.remove_scenario(scenario.name),
                    on_click=workspace.remove_scenario,
                    args=(scenario.name,),
                )
    if compare:
        _compare(workspace)
    outcomes = workspace.tool_loop.comparison
    if outcomes:
        with st.container(key=LoopKeys.COMPARISON):
            for start in range(0, len(outcomes), COLUMNS_PER_ROW):
                row = outcomes[start : start + COLUMNS_PER_ROW]
                for offset, (column, outcome) in enumerate(zip(st.columns(COLUMNS_PER_ROW), row, strict=False)):
                    with column:
                        _outcome_card(outcome, start + offset)
