"""Benchmark: the Schema builder page at and past the builder's field budget, and a refused huge example.

Run from the repository root: ``python -m bench.bench_schema [--runs N]``. Two parts, each beside a
baseline measured in the same run:

* The page (``app.py``, the Schema builder page, under Streamlit's AppTest: the server's CPU per
  click, without the browser; as in bench_compare, the process's CPU less AppTest's main thread,
  which only polls for the script run to end) with a flat schema of integer fields pasted in the JSON tab: the Apply
  click and the plain rerun after it, in a fresh session each time (median of RUNS; the sizes
  alternate, so load on the machine falls on all of them alike). The sizes: 0 fields (the
  baseline, an empty builder), the builder's limit (``builder_max_fields`` in strict_rules.toml:
  one expander of inputs per field), one field more (a summary instead of the builder) and, for
  information, the provider's 5,000-property limit (summarised too).
* A 10,000-key example (refused: a schema may have 5,000 properties): the core's refusal
  (``infer_schema`` on the text) beside ``json.loads`` of the same text, the least any parser
  does; and the page's Import click (its whole rerun: the refusal and the redraw) beside a plain
  rerun of the same page. The wall-clock time of each is printed beside it.

Targets (the builder's budget and issue 9), in CPU: at the limit, Apply and the rerun after it take
at most 2,000 ms together; one field past it, Apply takes at most 1,000 ms; the 10,000-key example
is refused within 1,000 ms, in the core and on the page. Exits with status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bench.bench_rerun import _navigation_app
from components.schema_builder import SCHEMA_PAGE, SchemaKeys
from playground.errors import PlaygroundError
from playground.schema import infer_schema, input_limits

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PROVIDER_LIMIT = 5_000  # OpenAI's properties per schema (strict_rules.toml); summarised, information only
EXAMPLE_KEYS = 10_000
LIMIT_TARGET_MS = 2_000.0  # Apply + the rerun after it, at the builder's limit
PAST_TARGET_MS = 1_000.0  # Apply, one field past the limit
REFUSAL_TARGET_MS = 1_000.0  # the 10,000-key example, in the core and on the page


def flat_schema(count: int) -> str:
    return json.dumps(
        {
            "type": "object",
            "properties": {f"field_{i}": {"type": "integer"} for i in range(count)},
            "required": [f"field_{i}" for i in range(count)],
            "additionalProperties": False,
        }
    )


def schema_page() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.switch_page(SCHEMA_PAGE).run()
    return app


HARNESS_CLOCK = time.pthread_getcpuclockid(threading.main_thread().ident or 0)


def server_cpu_s() -> float:
    """The process's CPU less the main thread's (AppTest's, polling for the script run to end)."""
    return time.process_time() - time.clock_gettime(HARNESS_CLOCK)


def timed_ms(step: Callable[[], object], clock: Callable[[], float] = server_cpu_s) -> tuple[float, float]:
    """(CPU ms, wall ms) of ``step``: the page's server CPU, or with ``clock=time.thread_time`` the
    calling thread's (the core's calls, made here on the main thread)."""
    cpu, wall = clock(), time.perf_counter()
    step()
    return (clock() - cpu) * 1_000, (time.perf_counter() - wall) * 1_000


def checked(app: AppTest) -> AppTest:
    if app.exception:
        raise SystemExit(f"the page raised: {app.exception[0].message}")
    return app


def field_expanders(app: AppTest) -> int:
    return sum(e.label.startswith("`") for e in app.expander)


Timing = tuple[float, float]  # (server CPU ms, wall ms)


def apply_once(count: int, text: str) -> tuple[Timing, Timing]:
    """(Apply, rerun) of ``text`` pasted in a fresh session; checks what was drawn."""
    app = schema_page()
    app.text_area(key=SchemaKeys.RAW).input(text).run()
    apply = timed_ms(lambda: checked(app.button(key=SchemaKeys.APPLY_RAW).click().run()))
    rerun = timed_ms(lambda: checked(app.run()))
    drawn = field_expanders(app)
    summarised = any(f"{count:,} fields in all" in i.value for i in app.info)
    if count <= input_limits().builder_max_fields and (drawn != count or summarised):
        raise SystemExit(f"{count} fields: the builder drew {drawn} expanders")
    if count > input_limits().builder_max_fields and (drawn or not summarised):
        raise SystemExit(f"{count} fields: not summarised ({drawn} expanders drawn)")
    return apply, rerun


def refuse(text: str) -> None:
    try:
        infer_schema(text)
    except PlaygroundError as error:
        if f"{EXAMPLE_KEYS:,} distinct keys" not in error.message:
            raise SystemExit(f"refused for another reason: {error.message}") from None
        return
    raise SystemExit(f"a {EXAMPLE_KEYS:,}-key example was accepted")


def median(timings: list[Timing]) -> Timing:
    return statistics.median(t[0] for t in timings), statistics.median(t[1] for t in timings)


def import_page(text: str) -> AppTest:
    app = schema_page()
    app.radio(key=SchemaKeys.IMPORT_KIND).set_value("example").run()
    app.text_area(key=SchemaKeys.IMPORT_TEXT).input(text).run()
    return app


def import_click(app: AppTest) -> None:
    checked(app.button(key=SchemaKeys.IMPORT).click().run())
    if not any(f"{EXAMPLE_KEYS:,} distinct keys" in e.value for e in app.error):
        raise SystemExit("the page did not refuse the example")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for name in [name for name in os.environ if name.startswith(("OPENAI_", "AZURE_", "PLAYGROUND_"))]:
        del os.environ[name]
    _navigation_app()
    limit = input_limits().builder_max_fields
    counts = (0, limit, limit + 1, PROVIDER_LIMIT)
    texts = {count: flat_schema(count) for count in counts}
    example = json.dumps({f"field_{i}": i for i in range(EXAMPLE_KEYS)})
    with tempfile.TemporaryDirectory() as data:
        os.environ["PLAYGROUND_DATABASE_URL"] = f"sqlite:///{data}/bench.db"
        apply_once(limit, texts[limit])  # warm-up: imports, templates, the strict rules
        samples: dict[int, list[tuple[Timing, Timing]]] = {count: [] for count in counts}
        for _ in range(args.runs):
            for count in counts:
                samples[count].append(apply_once(count, texts[count]))
        refusals = [timed_ms(lambda: refuse(example), time.thread_time) for _ in range(args.runs)]
        parses = [timed_ms(lambda: json.loads(example), time.thread_time) for _ in range(args.runs)]
        page = import_page(example)
        import_click(page)  # warm-up
        clicks: list[Timing] = []
        reruns: list[Timing] = []
        for _ in range(args.runs):
            reruns.append(timed_ms(lambda: checked(page.run())))
            clicks.append(timed_ms(lambda: import_click(page)))

    apply = {count: median([s[0] for s in runs]) for count, runs in samples.items()}
    rerun = {count: median([s[1] for s in runs]) for count, runs in samples.items()}
    both = {count: apply[count][0] + rerun[count][0] for count in counts}  # CPU, Apply + rerun
    targets = {
        limit: (both[limit], LIMIT_TARGET_MS, "apply + rerun"),
        limit + 1: (apply[limit + 1][0], PAST_TARGET_MS, "apply"),
    }
    missed: list[str] = []
    print(f"Schema page, a flat schema of integer fields applied (median of {args.runs} fresh sessions, AppTest).")
    print("Server CPU ms (wall ms):")
    print(f"{'fields':>7} {'apply':>16} {'rerun':>16} {'x empty':>8}  target (CPU)")
    for count in counts:
        verdict = "(information: summarised)" if count == PROVIDER_LIMIT else ""
        if count in targets:
            ms, target, what = targets[count]
            verdict = f"{what} {ms:.0f} <= {target:.0f} ms " + ("ok" if ms <= target else "MISSED")
            if ms > target:
                missed.append(f"{count} fields")
        cells = [f"{cpu:7.1f} ({wall:6.1f})" for cpu, wall in (apply[count], rerun[count])]
        print(f"{count:>7,} {cells[0]:>16} {cells[1]:>16} {both[count] / both[0]:>8.2f}  {verdict}")
    print(
        f"summary at {limit + 1} fields / builder at {limit} (CPU, apply + rerun): {both[limit + 1] / both[limit]:.2f}"
    )

    print(f"A {EXAMPLE_KEYS:,}-key example, refused (median of {args.runs}); CPU ms (wall ms):")
    for what, (cpu, wall), base_what, (base_cpu, base_wall) in (
        ("core refusal (infer_schema)", median(refusals), "json.loads alone", median(parses)),
        ("page Import click", median(clicks), "a plain rerun", median(reruns)),
    ):
        ok = cpu <= REFUSAL_TARGET_MS
        if not ok:
            missed.append(what)
        print(
            f"  {what:<28} {cpu:7.1f} ({wall:6.1f})   {base_what:<17} {base_cpu:7.1f} ({base_wall:6.1f})   "
            f"ratio {cpu / base_cpu:5.2f}   <= {REFUSAL_TARGET_MS:.0f} ms {'ok' if ok else 'MISSED'}"
        )
    if missed:
        print(f"FAIL: missed the target for {', '.join(missed)}")
        return 1
    print("PASS: every target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
