"""Benchmark: server time of one chat page rerun, by conversation length.

Run from the repository root: ``python -m bench.bench_rerun``. For 0, 50, 200 and 1,000 turns (a
turn: a user message and a reply of a few paragraphs, with usage stats), runs the whole app
(``app.py``: sidebar, meter, navigation, the chat page) under Streamlit's AppTest and times
RERUNS reruns of the unchanged page after a warm-up run (the median; AppTest runs the script in
Streamlit's own script runner, so this is the server's time per click, without the browser).
The empty chat is the baseline: the ratio says what the conversation adds.

Targets (issue 8, P4): at most 150 ms per rerun at 200 turns and 300 ms at 1,000 turns. Exits
with status 1 when a target is missed.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from components.state import STATE_KEY
from playground.conversation import Message, ReplyStats

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TURNS = (0, 50, 200, 1_000)
TARGETS_MS = {200: 150.0, 1_000: 300.0}
RERUNS = 9
REPLY = (
    "Prompt caching reuses the longest prefix a provider has seen recently, so a stable system prompt "
    "and tool list make later requests cheaper.\n\n"
    "- Put what never changes first.\n- Keep tool definitions in a fixed order.\n\n"
    "Cached tokens are billed at the cached-input rate and show in `usage.prompt_tokens_details`."
)


def _navigation_app() -> None:
    # AppTest resets this flag before each run; `streamlit run` never does (see tests/app/conftest.py).
    original = PagesManager.__init__

    def init(self: PagesManager, *args: Any, **kwargs: Any) -> None:
        PagesManager.uses_pages_directory = False
        original(self, *args, **kwargs)

    PagesManager.__init__ = init  # type: ignore[method-assign]


def app_with(turns: int) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    conversation = app.session_state[STATE_KEY].workspace.conversation
    for turn in range(turns):
        conversation.add_user(f"Question {turn}: how does prompt caching change the cost of turn {turn}?")
        stats = ReplyStats(
            model="gpt-4.1-mini",
            served_model="gpt-4.1-mini-2025-04-14",
            prompt_tokens=120 + 90 * turn,
            completion_tokens=70,
            cached_tokens=64 * turn,
            estimated_prompt_tokens=118 + 90 * turn,
            cost_usd=0.0001,
            time_to_first_token_s=0.4,
            tokens_per_second=80.0,
            finish_reason="stop",
        )
        conversation.messages.append(Message(role="assistant", content=f"Turn {turn}. {REPLY}", stats=stats))
    app.run()  # warm-up: token counts and thumbnails are cached per session after the first run
    return app


def rerun_ms(app: AppTest) -> float:
    samples = []
    for _ in range(RERUNS):
        started = time.perf_counter()
        app.run()
        samples.append((time.perf_counter() - started) * 1_000)
        if app.exception:
            raise SystemExit(f"the page raised: {app.exception[0].message}")
    return statistics.median(samples)


def main() -> int:
    for name in [name for name in os.environ if name.startswith(("OPENAI_", "AZURE_", "PLAYGROUND_"))]:
        del os.environ[name]
    _navigation_app()
    figures = {turns: rerun_ms(app_with(turns)) for turns in TURNS}
    baseline = figures[0]
    print(f"Chat page rerun, server time (median of {RERUNS}, AppTest script runner):")
    print(f"{'turns':>6} {'ms':>9} {'x empty':>8}  target")
    missed = []
    for turns, ms in figures.items():
        target = TARGETS_MS.get(turns)
        verdict = "" if target is None else f"<= {target:.0f} ms " + ("ok" if ms <= target else "MISSED")
        if target is not None and ms > target:
            missed.append(turns)
        print(f"{turns:>6} {ms:>9.1f} {ms / baseline:>8.2f}  {verdict}")
    if missed:
        print(f"Missed the target at {', '.join(map(str, missed))} turns.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
