"""Test-set run overhead: ``run_evaluation`` versus bare client requests, same loopback server, same run.

1,000 rows at concurrency 8 go through the scheduler (render each row's variables, stream through
``PlaygroundClient``, price, grade with a regex, record the result, report progress) and, as the
baseline, the same 1,000 pre-rendered requests streamed through ``PlaygroundClient.stream_chat`` by a
plain 8-thread pool. The fake server runs in its own process (echo replies), so the baseline is the
server's and the client's own time; the difference is what the scheduler adds.

Overhead per row is judged on client CPU (``time.process_time``): with the server in another process
that is exactly the work our path adds, and on a shared VM wall-clock totals swing by more than that.
Wall-clock figures are printed beside it. Target: < 5 ms per row.

Run: ``python -m bench.bench_evals [--rows N] [--runs N]``. Exits 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from pydantic import SecretStr

from bench.bench_streaming import loopback_server
from playground.client import PlaygroundClient
from playground.connection import ConnectionSettings
from playground.evals import ClientCompleter, RegexGrader, RunConfig, RunState, TestRow, TestSet, Variant
from playground.evals.runs import run_evaluation
from playground.request import ChatRequest

CONCURRENCY = 8
TARGET_MS_PER_ROW = 5.0


def make_state(rows: int) -> RunState:
    test_set = TestSet(rows=[TestRow(id=str(i), variables={"city": f"City{i}"}) for i in range(rows)])
    variant = Variant(id="v", system_prompt="Answer in one word.", messages=[{"role": "user", "content": "{{city}}?"}])
    return RunState(
        config=RunConfig(
            test_set=test_set, variants=[variant], graders=[RegexGrader(pattern=r"City\d+\?$")], concurrency=CONCURRENCY
        )
    )


def run_baseline(client: PlaygroundClient, requests: list[ChatRequest]) -> tuple[float, float]:
    def send(request: ChatRequest) -> None:
        for _ in client.stream_chat(request):
            pass

    cpu, started = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        list(pool.map(send, requests))
    return time.perf_counter() - started, time.process_time() - cpu


def run_ours(client: PlaygroundClient, rows: int) -> tuple[float, float]:
    state = make_state(rows)
    progress: list[float] = []
    cpu, started = time.process_time(), time.perf_counter()
    run_evaluation(state, ClientCompleter({"default": client}), on_progress=lambda p: progress.append(p.fraction))
    elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    assert state.status == "completed" and len(state.results) == rows and progress[-1] == 1.0
    assert all(result.passed for result in state.results), "the echo replies should all pass"
    return elapsed, used


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with loopback_server(replies=1) as base_url:
        reset = urllib.request.Request(base_url.removesuffix("/v1") + "/_fake/reset", data=b"{}", method="POST")
        urllib.request.urlopen(reset, timeout=5).read()  # default echo replies from here on
        settings = ConnectionSettings(provider="compatible", base_url=base_url, api_key=SecretStr("b"), max_retries=0)
        client = PlaygroundClient(settings)
        state = make_state(args.rows)
        variant = state.config.variants[0]
        requests = [variant.build_request(row.variables) for row in state.config.test_set.rows]
        run_baseline(client, requests[:50]), run_ours(client, 50)  # warm-up: imports, connection pool
        results: dict[str, list[tuple[float, float]]] = {"baseline": [], "ours": []}
        for _ in range(args.runs):
            results["baseline"].append(run_baseline(client, requests))
            results["ours"].append(run_ours(client, args.rows))
    medians = {
        name: tuple(statistics.median(run[i] for run in runs) for i in range(2)) for name, runs in results.items()
    }
    print(
        f"{args.rows:,} rows at concurrency {CONCURRENCY}, loopback fake server in its own process, "
        f"median of {args.runs} alternating runs"
    )
    for name, (wall, cpu) in medians.items():
        print(
            f"{name:9s} wall {wall:6.2f} s ({wall / args.rows * 1000:5.2f} ms/row)   "
            f"client CPU {cpu:6.2f} s ({cpu / args.rows * 1000:5.2f} ms/row)"
        )
    (base_wall, base_cpu), (our_wall, our_cpu) = medians["baseline"], medians["ours"]
    cpu_overhead = (our_cpu - base_cpu) / args.rows * 1000
    wall_overhead = (our_wall - base_wall) / args.rows * 1000
    print(
        f"info: wall-clock ratio ours/baseline = {our_wall / base_wall:.3f}; wall overhead {wall_overhead:.2f} ms/row"
    )
    ok = cpu_overhead < TARGET_MS_PER_ROW
    print(
        f"{'PASS' if ok else 'FAIL'}: scheduler overhead {cpu_overhead:.2f} ms/row of client CPU "
        f"(ratio ours/baseline {our_cpu / base_cpu:.3f}; target < {TARGET_MS_PER_ROW:g} ms/row)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
