"""Benchmark: autosaving a 200-turn session after one new message.

Run from the repository root: ``python -m bench.bench_autosave [DATABASE_URL]`` (default: a SQLite
file in a temp dir; a PostgreSQL URL measures that server instead). Builds a 200-turn session (400
messages of a few hundred words, replies with stats, a few images) in a SQLite file, then times,
in the same run (median of RUNS each):

* our incremental save after one new message (``SessionRepository.save``: every message is
  serialised and digested, only the new row and the session row are written);
* our save of an unchanged session (a rerun where nothing changed: nothing is written);
* a full rewrite of the same session (every message row deleted and written again), what a
  store without change tracking would do on every autosave.

Target: the incremental save costs at most 10 ms. Exits with status 1 if it does not.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import delete, insert, update

from playground.conversation import ImageAttachment, Status
from playground.store import open_store
from playground.store.document import ImageCache, header_record, message_record
from playground.store.models import MessageRow, SessionRow, utc_now
from playground.store.sessions import SessionRepository, digest, to_json
from playground.workspace import Workspace

TURNS = 200
WORDS_PER_MESSAGE = 250
RUNS = 21
TARGET_MS = 10.0
SEED = 7
WORDS = ["the", "model", "reply", "token", "latency", "cache", "prompt", "stream", "schema", "image", "and", "of"]


def build_workspace(rng: random.Random) -> Workspace:
    workspace = Workspace(system_prompt="You are a careful assistant. " * 20)
    for turn in range(TURNS):
        text = " ".join(rng.choice(WORDS) for _ in range(WORDS_PER_MESSAGE))
        if turn % 50 == 0:
            payload = bytes(rng.getrandbits(8) for _ in range(20_000))
            import base64

            url = "data:image/png;base64," + base64.b64encode(payload).decode()
            workspace.pending_images = [ImageAttachment(name=f"shot{turn}.png", url=url, width=800, height=600)]
        workspace.submit(text)
        reply = workspace.conversation.start_reply("gpt-4.1-mini")
        reply.content = " ".join(rng.choice(WORDS) for _ in range(WORDS_PER_MESSAGE))
        reply.status = Status.COMPLETE
        assert reply.stats is not None
        reply.stats.prompt_tokens, reply.stats.completion_tokens, reply.stats.cost_usd = 1000 + turn, 300, 0.0004
        workspace.usage_ledger[reply.id] = reply.stats
    return workspace


def full_rewrite(repository: SessionRepository, session_id: str, workspace: Workspace) -> None:
    """The baseline: serialise everything and rewrite every row of the session."""
    cache = ImageCache()
    header, _ = header_record(workspace, "bench", cache)
    rows = []
    for message in workspace.conversation.messages:
        record, _ = message_record(message, cache)
        body = to_json(record)
        rows.append(
            {"session_id": session_id, "id": message.id, "owner": "local", "body": body, "body_hash": digest(body)}
        )
    with repository.engine.begin() as connection:
        connection.execute(delete(MessageRow).where(MessageRow.session_id == session_id))
        connection.execute(insert(MessageRow), rows)
        body = to_json(header)
        connection.execute(
            update(SessionRow)
            .where(SessionRow.id == session_id)
            .values(
                body=body, body_hash=digest(body), message_order=to_json([r["id"] for r in rows]), updated_at=utc_now()
            )
        )


def timed_ms(action) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as folder:
        url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{Path(folder) / 'bench.db'}"
        store = open_store(url)
        workspace = build_workspace(rng)
        session_id = store.sessions.create(workspace, title="bench")
        incremental, unchanged, rewrite = [], [], []
        for run in range(RUNS):
            workspace.submit(f"one more question {run}")
            incremental.append(timed_ms(lambda: store.sessions.save(session_id, workspace)))
            unchanged.append(timed_ms(lambda: store.sessions.save(session_id, workspace)))
            rewrite.append(timed_ms(lambda: full_rewrite(store.sessions, session_id, workspace)))
            # The rewrite went behind the repository's back: let it re-read what the database holds.
            store.sessions = SessionRepository(store.engine)
            store.sessions.save(session_id, workspace)
        messages = len(workspace.conversation)
        backend = store.engine.dialect.name
        store.close()
    ours, idle, baseline = statistics.median(incremental), statistics.median(unchanged), statistics.median(rewrite)
    print(f"Session: {TURNS} turns ({messages} messages), {backend}, median of {RUNS} saves")
    print(f"  incremental save, one new message : {ours:7.2f} ms")
    print(f"  save with nothing changed         : {idle:7.2f} ms")
    print(f"  full rewrite of the session       : {baseline:7.2f} ms")
    print(f"  ratio full rewrite / incremental  : {baseline / ours:7.1f}x")
    if ours > TARGET_MS:
        print(f"FAIL: the incremental save took {ours:.2f} ms (target: at most {TARGET_MS:g} ms)")
        return 1
    print(f"OK: the incremental save is within {TARGET_MS:g} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
