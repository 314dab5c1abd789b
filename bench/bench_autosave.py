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

Then, at the rerun level (``--rerun``, on by default), the app itself (AppTest) on the same
200-turn session opened through ``?session=<id>``: the time a rerun spends in the app's saving
(``attach_session`` at the top of app.py plus ``autosave`` at its end), for a rerun where nothing
changed and one where a message was added, beside the whole rerun's time.

Target: the incremental save, and what autosave adds to a rerun, cost at most 10 ms each. Exits
with status 1 if either does not.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
RERUNS = 9
APP_PATH = str(Path(__file__).resolve().parents[1] / "app.py")
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


def rerun_figures(url: str, session_id: str) -> tuple[float, float, float, float]:
    """Median ms per rerun spent saving (nothing changed; one message added), drawing the sidebar's
    Sessions list, and per whole rerun."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    import components.persistence as persistence
    import components.sidebar as sidebar
    from components.state import STATE_KEY

    # As tests/app/conftest.py does: rerun app.py (AppTest would rerun the page alone, as a v1 app).
    original_init = PagesManager.__init__

    def init_as_navigation_app(self: PagesManager, *args: Any, **kwargs: Any) -> None:
        PagesManager.uses_pages_directory = False
        original_init(self, *args, **kwargs)

    PagesManager.__init__ = init_as_navigation_app  # type: ignore[method-assign]
    spent: list[float] = []
    listing: list[float] = []

    def timed(function: Callable[[], Any], into: list[float]) -> Callable[[], Any]:
        def run() -> Any:
            start = time.perf_counter()
            try:
                return function()
            finally:
                into.append((time.perf_counter() - start) * 1000)

        return run

    os.environ["PLAYGROUND_DATABASE_URL"] = url
    persistence.attach_session = timed(persistence.attach_session, spent)
    persistence.autosave = timed(persistence.autosave, spent)
    sidebar.sessions_panel = timed(sidebar.sessions_panel, listing)
    app = AppTest.from_file(APP_PATH, default_timeout=120)
    app.query_params["session"] = session_id
    app.run()
    assert not app.exception, app.exception
    workspace = app.session_state[STATE_KEY].workspace
    assert len(workspace.conversation) >= 2 * TURNS, "the session did not reopen"
    unchanged, added, whole = [], [], []
    for run in range(RERUNS):
        spent.clear()
        start = time.perf_counter()
        app.run()
        whole.append((time.perf_counter() - start) * 1000)
        unchanged.append(sum(spent))
        workspace.conversation.add_user(f"a rerun with one more message {run}", [])
        spent.clear()
        app.run()
        added.append(sum(spent))
    return statistics.median(unchanged), statistics.median(added), statistics.median(listing), statistics.median(whole)


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
        rerun_idle, rerun_added, rerun_list, rerun_whole = rerun_figures(url, session_id)
    ours, idle, baseline = statistics.median(incremental), statistics.median(unchanged), statistics.median(rewrite)
    print(f"Session: {TURNS} turns ({messages} messages), {backend}, median of {RUNS} saves")
    print(f"  incremental save, one new message : {ours:7.2f} ms")
    print(f"  save with nothing changed         : {idle:7.2f} ms")
    print(f"  full rewrite of the session       : {baseline:7.2f} ms")
    print(f"  ratio full rewrite / incremental  : {baseline / ours:7.1f}x")
    print(f"Rerun level (the app under AppTest, this session via ?session=, median of {RERUNS} reruns)")
    print(f"  saving in a rerun, nothing changed : {rerun_idle:7.2f} ms")
    print(f"  saving in a rerun, one new message : {rerun_added:7.2f} ms")
    print(f"  the sidebar's Sessions list        : {rerun_list:7.2f} ms")
    print(f"  the whole rerun (400 messages)     : {rerun_whole:7.2f} ms")
    print(f"  share of the rerun spent saving    : {rerun_added / rerun_whole:7.1%}")
    failed = False
    if ours > TARGET_MS:
        print(f"FAIL: the incremental save took {ours:.2f} ms (target: at most {TARGET_MS:g} ms)")
        failed = True
    if max(rerun_idle, rerun_added) > TARGET_MS:
        print(
            f"FAIL: autosave added {max(rerun_idle, rerun_added):.2f} ms to a rerun (target: at most {TARGET_MS:g} ms)"
        )
        failed = True
    if failed:
        return 1
    print(f"OK: the incremental save and what autosave adds to a rerun are within {TARGET_MS:g} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
