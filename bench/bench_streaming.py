"""Streaming overhead: our client wrapper versus the raw openai SDK, same loopback server, same run.

A 2,000-token reply is streamed (one token per chunk, with the usage chunk) through
``PlaygroundClient.stream_chat`` + ``stream_reply`` (what the chat page runs) and through the bare
SDK. The loopback server runs in its own process, so it does not compete with the client for the
interpreter lock. Runs alternate between the two paths; medians are compared. Target: our overhead
within 5 % of the raw SDK, for time to first token and for total time.

Total time is judged on the client's CPU time (``time.process_time``): with the server in another
process that is exactly the work our path adds, while wall-clock totals on a shared VM swing by
more than the 5 % being measured. Wall-clock medians are printed beside it.

Run: ``python -m bench.bench_streaming [--runs N]``. Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import openai
from pydantic import SecretStr

from playground.chat import stream_reply
from playground.client import PlaygroundClient
from playground.connection import ConnectionSettings
from playground.conversation import Conversation
from playground.request import ChatRequest
from tests.fakes.server import Scenario

REPLY_TOKENS = 2_000
TARGET_OVERHEAD = 0.05
MESSAGES = [{"role": "user", "content": "Write a long story."}]


def reply_scenario(repeat: int) -> Scenario:
    return Scenario(text=" ".join(f"t{i}" for i in range(REPLY_TOKENS)), chunks=REPLY_TOKENS, repeat=repeat)


@contextmanager
def loopback_server(replies: int, scenario: Scenario | None = None) -> Iterator[str]:
    """The fake server in a process of its own, queued with ``replies`` long replies (``scenario``,
    default: :func:`reply_scenario`); its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.server", "--port", str(port)], stdout=subprocess.DEVNULL
    )
    root = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{root}/v1/models", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        queued = reply_scenario(replies) if scenario is None else replace(scenario, repeat=replies)
        body = json.dumps([queued.to_dict()]).encode()
        request = urllib.request.Request(f"{root}/_fake/scenarios", data=body, method="POST")
        urllib.request.urlopen(request, timeout=5).read()
        yield f"{root}/v1"
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_raw_sdk(client: openai.OpenAI) -> tuple[float, float, float]:
    cpu_started = time.process_time()
    started = time.perf_counter()
    first = None
    parts: list[str] = []
    stream = client.chat.completions.create(
        model="gpt-4.1-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter()
            parts.append(chunk.choices[0].delta.content)
    ended = time.perf_counter()
    assert len("".join(parts)) > REPLY_TOKENS
    return first - started, ended - started, time.process_time() - cpu_started


def first_token_raw(client: openai.OpenAI) -> float:
    """Time to the first content token, then the stream is closed (one cheap TTFT sample)."""
    started = time.perf_counter()
    with client.chat.completions.create(
        model="gpt-4.1-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ) as stream:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                return time.perf_counter() - started
    raise AssertionError("no content")


def first_token_ours(client: PlaygroundClient) -> float:
    """The same through our path: the first redraw with text, then Stop (the generator is closed)."""
    reply = Conversation().start_reply("gpt-4.1-mini")
    started = time.perf_counter()
    updates = stream_reply(client, ChatRequest(model="gpt-4.1-mini", messages=MESSAGES), reply)
    try:
        for update in updates:
            if update.content:
                return time.perf_counter() - started
    finally:
        updates.close()
    raise AssertionError("no content")


def run_ours(client: PlaygroundClient) -> tuple[float, float, float]:
    conversation = Conversation()
    request = ChatRequest(model="gpt-4.1-mini", messages=MESSAGES)
    reply = conversation.start_reply("gpt-4.1-mini")
    cpu_started = time.process_time()
    started = time.perf_counter()
    first = None
    for update in stream_reply(client, request, reply):
        if update.content and first is None:
            first = time.perf_counter()
    ended = time.perf_counter()
    assert reply.stats.finish_reason == "stop" and len(reply.content) > REPLY_TOKENS
    return first - started, ended - started, time.process_time() - cpu_started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--ttft-samples", type=int, default=100)
    args = parser.parse_args()
    with loopback_server(replies=2 * (args.runs + args.ttft_samples) + 2) as base_url:
        # Each path keeps one client across runs, as a session's workspace does.
        raw_client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)
        settings = ConnectionSettings(
            provider="compatible", base_url=base_url, api_key=SecretStr("bench"), max_retries=0
        )
        our_client = PlaygroundClient(settings)
        run_raw_sdk(raw_client), run_ours(our_client)  # warm-up: imports, connection pools
        results: dict[str, list[tuple[float, float, float]]] = {"raw SDK": [], "ours": []}
        for _ in range(args.runs):
            results["raw SDK"].append(run_raw_sdk(raw_client))
            results["ours"].append(run_ours(our_client))
        first_tokens: dict[str, list[float]] = {"raw SDK": [], "ours": []}
        for _ in range(args.ttft_samples):
            first_tokens["raw SDK"].append(first_token_raw(raw_client))
            first_tokens["ours"].append(first_token_ours(our_client))
    medians = {name: [statistics.median(run[i] for run in runs) for i in range(3)] for name, runs in results.items()}
    for name, samples in first_tokens.items():  # TTFT from the many cheap samples, not the few long runs
        medians[name][0] = statistics.median(samples)
    print(
        f"{REPLY_TOKENS:,}-token streamed reply, loopback fake server in its own process, "
        f"median of {args.runs} alternating runs ({args.ttft_samples} first-token samples each)"
    )
    for name, (ttft, total, cpu) in medians.items():
        print(
            f"{name:8s} time to first token {ttft * 1000:7.2f} ms   total {total * 1000:7.1f} ms   "
            f"client CPU {cpu * 1000:7.1f} ms"
        )
    ours, raw = medians["ours"], medians["raw SDK"]
    print(f"info: wall-clock total ratio ours/raw = {ours[1] / raw[1]:.3f} (medians)")
    # TTFT is ~20 ms on loopback: allow 0.5 ms of absolute noise before judging the ratio.
    checks = [
        ("time to first token", ours[0] / raw[0], ours[0] - raw[0] < 0.0005),
        ("total (client CPU)", ours[2] / raw[2], False),
    ]
    failed = False
    for label, ratio, within_noise in checks:
        ok = ratio <= 1 + TARGET_OVERHEAD or within_noise
        failed |= not ok
        print(f"{'PASS' if ok else 'FAIL'}: {label} ratio ours/raw = {ratio:.3f} (target <= {1 + TARGET_OVERHEAD:.2f})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
