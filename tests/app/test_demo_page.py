"""The Demo page under AppTest: a chat recorded against the fake server plays back as a script
(every replayed reply marked), the presentation view hides settings, keys, buttons and figures, a
failed live turn continues from its recording in one click, and share links open read-only or are
refused (expired, revoked, tampered, no secret)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from components.chat_view import REPLAY_MARK
from components.demo import PRESENTATION_CSS, DemoKeys
from components.presenting import DEMO_PAGE, PRESENT_KEY
from components.state import STATE_KEY, Keys
from playground.conversation import Status
from playground.demo import LinkTarget, ShareLinks
from playground.demo.links import SECRET_ENV
from playground.demo.presentation import ENV_PREFIX
from playground.store import DATABASE_URL_VARIABLE, open_store
from playground.store.share_links import ShareLinkRepository
from tests.app.conftest import APP_PATH
from tests.fakes.server import FakeOpenAIServer, Scenario

SECRET = "a-share-secret-for-tests-only-0123456789"
TURNS = ("First question", "Second question", "Third question")


@pytest.fixture
def database(tmp_path, clean_env):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    clean_env.setenv(DATABASE_URL_VARIABLE, url)
    clean_env.setenv(SECRET_ENV, SECRET)
    clean_env.setenv(ENV_PREFIX + "TITLE", "Acme support bot")
    return url


def run_app(clean_env, fake: FakeOpenAIServer, query: dict[str, str] | None = None) -> AppTest:
    clean_env.setenv("OPENAI_BASE_URL", fake.base_url)
    clean_env.setenv("OPENAI_API_KEY", "sk-server-side-key")
    app = AppTest.from_file(APP_PATH, default_timeout=30)
    app.query_params = dict(query or {})
    app.run()
    assert not app.exception
    return app


def demo(clean_env, fake, query=None) -> AppTest:
    app = run_app(clean_env, fake, query)
    if not query:
        app.switch_page(DEMO_PAGE).run()
    assert not app.exception
    return app


def workspace(app):
    return app.session_state[STATE_KEY].workspace


def panel(app):
    return app.session_state[STATE_KEY].demo_panel


def click(app, key) -> AppTest:
    app.button(key=key).click().run()
    assert not app.exception, app.exception
    return app


def captions(app) -> list[str]:
    return [caption.value for caption in app.caption]


def texts(app) -> str:
    return "\n".join(e.value for e in [*app.success, *app.error, *app.warning, *app.info]).replace("\\", "")


def recorded(clean_env, fake) -> AppTest:
    """The Demo page after a three-turn chat with the fake server, saved and loaded as the demo."""
    app = demo(clean_env, fake)
    ws = workspace(app)
    for text in TURNS:
        ws.submit(text)
        list(ws.stream_next_reply())
    assert [m.status for m in ws.conversation.messages if m.role == "assistant"] == [Status.COMPLETE] * 3
    app.run()
    app.text_input(key=DemoKeys.RECORD_TITLE).input("Support demo")
    click(app, DemoKeys.RECORD)
    assert "Saved the chat as the session Support demo" in texts(app)
    click(app, DemoKeys.LOAD)
    assert "Loaded Support demo: 3 turn(s) to play." in texts(app)
    assert ws.conversation.messages == []
    return app


def contents(app) -> list[str]:
    return [(m.role, m.content) for m in workspace(app).conversation.messages]


def test_a_recorded_session_replays_turn_by_turn_each_reply_marked_as_a_replay(clean_env, fake, database):
    app = recorded(clean_env, fake)
    requests = len(fake.chat_requests())
    for turns in (1, 2, 3):
        click(app, DemoKeys.NEXT)
        assert len(contents(app)) == 2 * turns
    assert contents(app)[-2:] == [("user", "Third question"), ("assistant", "Echo: Third question")]
    assert all(m.replayed for m in workspace(app).conversation.messages)
    assert captions(app).count(REPLAY_MARK) == 3  # one mark per replayed reply
    assert len(fake.chat_requests()) == requests  # a replay sends nothing
    assert app.button(key=DemoKeys.NEXT).disabled
    click(app, DemoKeys.RESTART)
    assert contents(app) == [] and not app.button(key=DemoKeys.NEXT).disabled


def test_presentation_view_hides_settings_keys_actions_and_figures(clean_env, fake, database):
    app = recorded(clean_env, fake)
    click(app, DemoKeys.NEXT)
    assert any(caption.startswith("Model figures") for caption in captions(app))  # rehearsal: the sidebar
    assert any("tokens" in caption for caption in captions(app))  # and the reply's stats line
    assert [b for b in app.button if b.key and b.key.startswith("chat.delete.")]
    app.toggle(key=PRESENT_KEY).set_value(True).run()
    assert not app.exception
    assert app.query_params.get("present") == ["1"] or app.query_params.get("present") == "1"
    keys = {widget.key for widget in [*app.text_input, *app.selectbox, *app.button, *app.toggle]}
    assert Keys.api_key("compatible") not in keys and Keys.PROVIDER not in keys and Keys.MODEL not in keys
    assert not [key for key in keys if key and key.startswith(("chat.", "demo.share", "demo.revoke", "demo.record"))]
    assert DemoKeys.MODE not in {w.key for w in app.get("button_group")}
    assert not any(caption.startswith("Model figures") or "tokens" in caption for caption in captions(app))
    assert [t.value for t in app.title] == ["Acme support bot"]
    assert REPLAY_MARK in captions(app)
    assert PRESENTATION_CSS in [element.proto.body for element in app.get("html")]
    click(app, DemoKeys.NEXT)  # the script still plays
    assert contents(app)[-1] == ("assistant", "Echo: Second question")


def test_the_url_form_presents_and_other_pages_go_to_the_demo(clean_env, fake, database):
    app = run_app(clean_env, fake, {"present": "1"})
    assert app.toggle(key=PRESENT_KEY).value is True
    assert [t.value for t in app.title] == ["Acme support bot"]  # the Demo page, not the chat
    assert not app.chat_input and Keys.PROVIDER not in {s.key for s in app.selectbox}
    assert "No demo is loaded" in texts(app)


def test_a_failed_live_turn_continues_from_its_recording_in_one_click(clean_env, fake, database):
    app = recorded(clean_env, fake)
    mode = next(control for control in app.get("button_group") if control.key == DemoKeys.MODE)
    mode.set_value("live").run()  # the Replies control: live from the model
    assert panel(app).script.mode == "live"
    click(app, DemoKeys.NEXT)
    assert contents(app)[-1] == ("assistant", "Echo: First question")  # live: the fake answered
    assert not workspace(app).conversation.messages[-1].replayed
    fake.enqueue(Scenario(fault="rate_limit", should_retry=False, repeat=5))
    click(app, DemoKeys.NEXT)
    assert "Turn 2 failed live" in texts(app)
    click(app, DemoKeys.CONTINUE)
    assert contents(app)[-2:] == [("user", "Second question"), ("assistant", "Echo: Second question")]
    last = workspace(app).conversation.messages
    assert len(last) == 4 and last[-1].replayed and last[-1].status is Status.COMPLETE
    assert REPLAY_MARK in captions(app) and "failed live" not in texts(app)


def share(app) -> str:
    """Make a link to the loaded demo on the page; returns its token."""
    click(app, DemoKeys.SHARE)
    link = panel(app).new_link
    assert link in [code.value for code in app.code]
    return parse_qs(urlsplit(link).query)["share"][0]


def test_a_share_link_opens_read_only_and_replays_then_is_refused_once_revoked(clean_env, fake, database):
    owner = recorded(clean_env, fake)
    token = share(owner)
    viewer = run_app(clean_env, fake, {"share": token})
    assert [t.value for t in viewer.title] == ["Acme support bot"]
    assert [c for c in contents(viewer) if c[0] == "assistant"] == [("assistant", f"Echo: {t}") for t in TURNS]
    keys = {w.key for w in [*viewer.text_input, *viewer.selectbox, *viewer.button, *viewer.toggle]}
    assert keys == {DemoKeys.NEXT, DemoKeys.RESTART}  # no connection, keys, toggle, share or per-message buttons
    assert not viewer.get("button_group")  # no Live choice: this link replays only
    requests = len(fake.chat_requests())
    click(viewer, DemoKeys.RESTART)
    click(viewer, DemoKeys.NEXT)
    assert contents(viewer) == [("user", TURNS[0]), ("assistant", f"Echo: {TURNS[0]}")]
    assert workspace(viewer).conversation.messages[-1].replayed and REPLAY_MARK in captions(viewer)
    assert len(fake.chat_requests()) == requests

    revoke = [b for b in owner.button if b.key and b.key.startswith(DemoKeys.REVOKE_PREFIX)]
    assert len(revoke) == 1
    click(owner, revoke[0].key)
    assert "Revoked the link to Support demo" in texts(owner)
    click(viewer, DemoKeys.NEXT)  # the viewer's next click is refused
    assert "This link was revoked by its owner" in texts(viewer)
    assert not [b for b in viewer.button if b.key == DemoKeys.NEXT]


def test_tampered_and_expired_links_are_refused_with_their_message(clean_env, fake, database):
    owner = recorded(clean_env, fake)
    token = share(owner)
    tampered = run_app(clean_env, fake, {"share": token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")})
    assert "This link is not valid here" in texts(tampered) and not tampered.button
    store = open_store(database)
    try:
        session_id = panel(owner).source.target_id
        past = ShareLinks(SECRET, ShareLinkRepository(store.engine), now=lambda: datetime.now(UTC) - timedelta(days=2))
        expired = past.create(LinkTarget.SESSION, session_id, expires_in=timedelta(days=1))
    finally:
        store.close()
    refused = run_app(clean_env, fake, {"share": expired.token})
    assert "This link expired on" in texts(refused) and not contents(refused)


def test_without_a_secret_share_links_are_off_and_the_page_says_how_to_turn_them_on(clean_env, fake, database):
    clean_env.delenv(SECRET_ENV)
    app = recorded(clean_env, fake)
    assert "Share links are off" in texts(app) and SECRET_ENV in texts(app)
    assert DemoKeys.SHARE not in {b.key for b in app.button}


def test_a_prompt_version_is_shared_and_revoked_from_the_prompt_library(clean_env, fake, database):
    from components.library import LIBRARY_PAGE, LibraryKeys

    app = run_app(clean_env, fake)
    ws = workspace(app)
    ws.set_system_prompt("You are terse.")
    ws.submit("Hello there")
    list(ws.stream_next_reply())
    app.switch_page(LIBRARY_PAGE).run()
    app.text_input(key=LibraryKeys.SAVE_NAME).input("triage")
    click(app, LibraryKeys.SAVE)
    click(app, DemoKeys.SHARE)
    assert "Made a read-only link to triage v1" in texts(app)
    token = parse_qs(urlsplit(panel(app).new_link).query)["share"][0]
    viewer = run_app(clean_env, fake, {"share": token})
    assert contents(viewer) == [("user", "Hello there"), ("assistant", "Echo: Hello there")]
    assert workspace(viewer).system_prompt == "You are terse."
    revoke = next(b for b in app.button if b.key and b.key.startswith(DemoKeys.REVOKE_PREFIX))
    click(app, revoke.key)
    assert "Revoked the link to triage v1" in texts(app)
    assert "revoked" in " ".join(m.value for m in app.markdown)
    assert "This link was revoked by its owner" in texts(run_app(clean_env, fake, {"share": token}))
