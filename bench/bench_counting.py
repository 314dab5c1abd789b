"""Benchmark: counting a ~1,000,000-token conversation on a Streamlit rerun.

Run from the repository root: ``python -m bench.bench_counting``. Builds 500 messages of ~2,000
tokens of varied text, then times, in the same run:

* the cold count (the first ``Workspace.breakdown``, every message through tiktoken once);
* our per-rerun count (``Workspace.breakdown`` on the unchanged conversation; median of RERUNS);
* a full tiktoken recount of the same messages (median of RECOUNTS), what a non-incremental meter
  would spend on every rerun;
* for information, everything the live meter computes per rerun (breakdown, per-turn usage rows,
  session cost).

Target: a rerun spends at most 20 ms on counting. Exits with status 1 if it does not.
"""

from __future__ import annotations

import random
import statistics
import sys
import time

from playground.conversation import Message, ReplyStats
from playground.tokens import get_encoding
from playground.workspace import Workspace

MESSAGES = 500
TOKENS_PER_MESSAGE = 2_000
RERUNS = 21
RECOUNTS = 3
TARGET_MS = 20.0
SEED = 41


def varied_text(rng: random.Random, tokens: int) -> str:
    """Prose-like text of about ``tokens`` o200k tokens: words, numbers, punctuation, some code."""
    words = [
        "context", "window", "token", "latency", "the", "model", "reply", "budget", "a", "of", "cache",
        "prompt", "streaming", "Azure", "deployment", "schema", "JSON", "image", "patch", "and", "price",
        "Streamlit", "rerun", "incremental", "cost", "to", "in", "is", "with", "tiktoken", "conversation",
    ]  # fmt: skip
    pieces: list[str] = []
    while len(pieces) < tokens // 2:  # a piece is about two tokens (a word and its space or punctuation)
        roll = rng.random()
        if roll < 0.05:
            pieces.append(f"{rng.randint(0, 10**6):,}")
        elif roll < 0.08:
            pieces.append(f"`f(x_{rng.randint(0, 99)}) = {rng.random():.3f}`")
        else:
            pieces.append(rng.choice(words) + rng.choice(["", "", "", ",", ".", ";", "\n"]))
    return " ".join(pieces)


def build_workspace() -> Workspace:
    rng = random.Random(SEED)
    workspace = Workspace(system_prompt="You are a careful assistant. Answer briefly and cite the turn you use.")
    for index in range(MESSAGES):
        text = varied_text(rng, TOKENS_PER_MESSAGE)
        if index % 2 == 0:
            workspace.conversation.add_user(text)
        else:  # replies carry usage, as after a real chat, so the per-turn rows have work to do
            stats = ReplyStats(model="gpt-4.1-mini", prompt_tokens=index * TOKENS_PER_MESSAGE, completion_tokens=1)
            workspace.conversation.messages.append(Message(role="assistant", content=text, stats=stats))
    return workspace


def whole_meter(workspace: Workspace) -> int:
    breakdown = workspace.breakdown()
    workspace.usage_rows()
    workspace.session_cost()
    return breakdown.total


def full_recount(workspace: Workspace) -> int:
    """Every message through tiktoken again, as a meter without a cache would do on each rerun."""
    encoding = get_encoding(workspace.model_spec().encoding)
    rules = workspace.model_spec().token_rules
    total = rules.reply_priming
    for message in workspace.api_messages():
        total += rules.per_message
        for value in message.values():
            if isinstance(value, str):
                total += len(encoding.encode(value, disallowed_special=()))
    return total


def median_ms(function, workspace: Workspace, repeats: int) -> tuple[float, int]:
    timings, result = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(workspace)
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings), result


def main() -> int:
    workspace = build_workspace()
    get_encoding(workspace.model_spec().encoding)  # load the ranks before timing anything

    start = time.perf_counter()
    cold_total = workspace.breakdown().total
    cold_ms = (time.perf_counter() - start) * 1000
    ours_ms, ours_total = median_ms(lambda ws: ws.breakdown().total, workspace, RERUNS)
    full_ms, full_total = median_ms(full_recount, workspace, RECOUNTS)
    meter_ms, _ = median_ms(whole_meter, workspace, RERUNS)

    print(f"conversation: {MESSAGES} messages, {ours_total:,} prompt tokens (full recount: {full_total:,})")
    print(f"cold count (first breakdown):           {cold_ms:9.2f} ms")
    print(f"per-rerun count (median of {RERUNS}):        {ours_ms:9.3f} ms")
    print(f"full tiktoken recount (median of {RECOUNTS}):    {full_ms:9.2f} ms")
    print(f"ratio (full recount / per-rerun):        {full_ms / ours_ms:9.0f}x")
    print(f"whole live meter per rerun (info):       {meter_ms:9.3f} ms")
    passed = ours_ms <= TARGET_MS and ours_total == full_total == cold_total
    print(f"{'PASS' if passed else 'FAIL'}: per-rerun count {ours_ms:.3f} ms (target <= {TARGET_MS:.0f} ms)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
