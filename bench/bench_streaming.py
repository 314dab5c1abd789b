"""Streaming overhead: our client wrapper versus the raw openai SDK, same loopback server, same run.

A 2,000-token reply is streamed (one token per chunk, with the usage chunk) through
``PlaygroundClient.stream_chat`` + ``stream_reply`` (what the chat page runs) and through the bare
SDK. Runs alternate between the two paths; medians are compared. Target: our overhead within 5 %
of the raw SDK, for time to first token and for total time.

Run: ``python -m bench.bench_streaming [--runs N]``. Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import openai
from pydantic import SecretStr

from playground.chat import stream_reply
from playground.client import PlaygroundClient
from playground.connection import ConnectionSettings
from playground.conversation import Conversation
from playground.request import ChatRequest
from tests.fakes.server import FakeOpenAIServer, Scenario

REPLY_TOKENS = 2_000
TARGET_OVERHEAD = 0.05
MESSAGES = [{"role": "user", "content": "Write a long story."}]


def reply_scenario() -> Scenario:
    return Scenario(text=" ".join(f"t{i}" for i in range(REPLY_TOKENS)), chunks=REPLY_TOKENS)


def run_raw_sdk(client: openai.OpenAI) -> tuple[float, float]:
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
    return first - started, ended - started


def run_ours(client: PlaygroundClient) -> tuple[float, float]:
    conversation = Conversation()
    request = ChatRequest(model="gpt-4.1-mini", messages=MESSAGES)
    reply = conversation.start_reply("gpt-4.1-mini")
    started = time.perf_counter()
    first = None
    for update in stream_reply(client, request, reply):
        if update.content and first is None:
            first = time.perf_counter()
    ended = time.perf_counter()
    assert reply.stats.finish_reason == "stop" and len(reply.content) > REPLY_TOKENS
    return first - started, ended - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with FakeOpenAIServer() as server:
        server.default_scenario = reply_scenario()
        # Each path keeps one client across runs, as a session's workspace does.
        raw_client = openai.OpenAI(base_url=server.base_url, api_key="bench", max_retries=0)
        settings = ConnectionSettings(
            provider="compatible", base_url=server.base_url, api_key=SecretStr("bench"), max_retries=0
        )
        our_client = PlaygroundClient(settings)
        run_raw_sdk(raw_client), run_ours(our_client)  # warm-up: imports, connection pools
        results: dict[str, list[tuple[float, float]]] = {"raw SDK": [], "ours": []}
        for _ in range(args.runs):
            results["raw SDK"].append(run_raw_sdk(raw_client))
            results["ours"].append(run_ours(our_client))
    medians = {
        name: (statistics.median(t for t, _ in runs), statistics.median(total for _, total in runs))
        for name, runs in results.items()
    }
    print(f"{REPLY_TOKENS:,}-token streamed reply, loopback fake server, median of {args.runs} alternating runs")
    for name, (ttft, total) in medians.items():
        print(f"{name:8s} time to first token {ttft * 1000:8.2f} ms   total {total * 1000:8.2f} ms")
    failed = False
    for index, label in enumerate(("time to first token", "total time")):
        ratio = medians["ours"][index] / medians["raw SDK"][index]
        # TTFT is ~1 ms on loopback: allow 0.5 ms of absolute noise before judging the ratio.
        absolute_gap = medians["ours"][index] - medians["raw SDK"][index]
        ok = ratio <= 1 + TARGET_OVERHEAD or (index == 0 and absolute_gap < 0.0005)
        failed |= not ok
        print(f"{'PASS' if ok else 'FAIL'}: {label} ratio ours/raw = {ratio:.3f} (target <= {1 + TARGET_OVERHEAD:.2f})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
