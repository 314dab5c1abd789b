"""Side-by-side streaming: the server's CPU per streamed token with 4 columns versus 1, same run.

The Compare page (``app.py`` under Streamlit's AppTest, so the page's own drawing is in it) sends one
input to N columns; each column streams a ``TOKENS``-token reply from the loopback fake server, paced
at ``CHUNK_DELAY_S`` a token (a fast model), in a process of its own so its CPU is not counted.
What is measured is our server process's CPU (``time.process_time``: every thread, the columns'
streams included, less AppTest's own polling thread) spent in ``send_to_all``:
``stream_side_by_side`` with the real ``ClientCompleter`` and ``PlaygroundClient``, and the drawing
of every update. Divided by the tokens streamed, that is the overhead per token. One column is the
baseline (the panel offers 2-4: the bench lowers the minimum to 1); runs alternate between 1 and 4
columns and medians are compared.

Target (issue 13): streaming 4 columns at once keeps the page responsive: the per-token overhead
with 4 columns is within 10 % of one column's. Printed beside it: the script thread's share (the
page's drawing of the updates) and the wall-clock time per send.

Run: ``python -m bench.bench_compare [--runs N] [--tokens N]``. Exits 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

import components.compare as compare
import playground.evals.sidebyside as sidebyside
from bench.bench_rerun import _navigation_app
from bench.bench_streaming import loopback_server
from components.state import STATE_KEY
from tests.fakes.server import Scenario

APP = str(Path(__file__).resolve().parents[1] / "app.py")
COLUMNS = (1, 4)
TOKENS = 600
CHUNK_DELAY_S = 0.005
TARGET_RATIO = 1.10


class Meter:
    """Wraps ``send_to_all``: the CPU and wall time of each call (it ends in st.rerun).

    The CPU is the process's minus AppTest's main thread's: that thread only polls (every 1 ms)
    for the script run to end, work a real server does not do; what is left is the script thread's
    and the columns' streams'.
    """

    def __init__(self, send: Callable[..., None]) -> None:
        self.send, self.cpu_s, self.wall_s, self.script_cpu_s = send, 0.0, 0.0, 0.0
        self.harness_clock = time.pthread_getcpuclockid(threading.main_thread().ident or 0)

    def _ours(self) -> float:
        return time.process_time() - time.clock_gettime(self.harness_clock)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        cpu, wall, script = self._ours(), time.perf_counter(), time.thread_time()
        try:
            self.send(*args, **kwargs)
        finally:
            self.cpu_s, self.wall_s = self._ours() - cpu, time.perf_counter() - wall
            self.script_cpu_s = time.thread_time() - script  # the script thread: the page's drawing


def compare_page(columns: int) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.switch_page(compare.COMPARE_PAGE).run()
    app.segmented_control(key=compare.CompareKeys.COUNT).set_value(columns).run()
    app.text_area(key=compare.CompareKeys.INPUT).input("Write a long story.").run()
    return app


def send_once(app: AppTest, meter: Meter, columns: int, tokens: int) -> tuple[float, float, float]:
    """(CPU s per token, wall s, the script thread's CPU s per token) of one send to ``columns`` columns."""
    app.button(key=compare.CompareKeys.SEND).click().run()
    if app.exception:
        raise SystemExit(f"the page raised: {app.exception[0].message}")
    outputs = app.session_state[STATE_KEY].compare_panel.outputs
    if len(outputs) != columns or not all(o is not None and o.completion is not None for o in outputs):
        raise SystemExit(f"not every column finished: {outputs}")
    streamed = sum(o.completion.completion_tokens for o in outputs)
    if streamed != columns * tokens:
        raise SystemExit(f"streamed {streamed} tokens, expected {columns * tokens}")
    return meter.cpu_s / streamed, meter.wall_s, meter.script_cpu_s / streamed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tokens", type=int, default=TOKENS)
    args = parser.parse_args()
    for name in [name for name in os.environ if name.startswith(("OPENAI_", "AZURE_", "PLAYGROUND_"))]:
        del os.environ[name]
    _navigation_app()
    # The baseline: one column (the panel's minimum is 2; both modules read it at call time).
    sidebyside.MIN_COLUMNS = compare.MIN_COLUMNS = 1
    meter = Meter(compare.send_to_all)
    compare.send_to_all = meter
    reply = Scenario(text=" ".join(f"t{i}" for i in range(args.tokens)), chunks=args.tokens, chunk_delay=CHUNK_DELAY_S)
    replies = sum(COLUMNS) * (args.runs + 1)
    with tempfile.TemporaryDirectory() as data, loopback_server(replies, reply) as base_url:
        os.environ |= {
            "OPENAI_BASE_URL": base_url,
            "OPENAI_API_KEY": "bench",
            "PLAYGROUND_DATABASE_URL": f"sqlite:///{data}/bench.db",
        }
        apps = {columns: compare_page(columns) for columns in COLUMNS}
        for columns, app in apps.items():  # warm-up: imports, connection pools
            send_once(app, meter, columns, args.tokens)
        samples: dict[int, list[tuple[float, float, float]]] = {columns: [] for columns in COLUMNS}
        for _ in range(args.runs):
            for columns, app in apps.items():
                samples[columns].append(send_once(app, meter, columns, args.tokens))
    per_token = {columns: statistics.median(s[0] for s in runs) for columns, runs in samples.items()}
    wall = {columns: statistics.median(s[1] for s in runs) for columns, runs in samples.items()}
    drawing = {columns: statistics.median(s[2] for s in runs) for columns, runs in samples.items()}
    print(
        f"Compare page, {args.tokens}-token reply per column ({CHUNK_DELAY_S * 1000:g} ms a token), loopback "
        f"fake server in its own process; median of {args.runs} alternating sends (AppTest script runner)"
    )
    for columns in COLUMNS:
        print(
            f"{columns} column{'s' if columns > 1 else ' '}  server CPU per streamed token "
            f"{per_token[columns] * 1e6:7.1f} µs (of which the page's drawing {drawing[columns] * 1e6:5.1f} µs)   "
            f"wall per send {wall[columns] * 1000:5.0f} ms"
        )
    ratio = per_token[4] / per_token[1]
    ok = ratio <= TARGET_RATIO
    verdict = "PASS" if ok else "FAIL"
    print(f"{verdict}: per-token CPU ratio 4 columns / 1 column = {ratio:.3f} (target <= {TARGET_RATIO:.2f})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
