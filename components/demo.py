"""The Demo page: a saved session or prompt version played as a script, live or from its recording,
in a presentation view for an audience; read-only share links to it (issue 12, on playground.demo).

- Rehearsal (the owner, not presenting): pick what to play, save the current chat as a demo session,
  choose Live or Replay, make and revoke share links; the conversation shows its figures.
- Presentation (the sidebar's toggle or ``?present=1``): the operator's title and logo, the
  conversation in large type, Next / Restart, and "Continue from the recording" after a live turn
  fails. No settings, keys, per-message buttons, figures or meter.
- A share-link viewer (``?share=<token>``): the presentation of the shared session, read-only:
  replay only, unless the link and the operator allow live requests (billed to the owner).

Every reply played from a recording says so (``Message.replayed``, drawn by the chat view).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from streamlit.delta_generator import DeltaGenerator

from components import format as fmt
from components.chat_view import REPLAY_MARK, ROLE_AVATARS, render_conversation
from components.library import library_store_db
from components.presenting import DEMO_URL_PATH, presenting, share_token
from components.state import get_store, server_secrets, set_widget_value, widget_value
from playground.conversation import Message
from playground.demo import (
    DemoMode,
    DemoPanel,
    DemoSource,
    LinkPermission,
    LinkTarget,
    PresentationSettings,
    PresentationView,
    ScriptedDemo,
    SessionRecording,
    ShareLinkRefused,
    ShareLinks,
    load_presentation_settings,
)
from playground.errors import PlaygroundError
from playground.store import SessionDocument, Store, apply_session_document
from playground.store.share_links import ShareLinkRepository
from playground.workspace import Workspace

STAGE_KEY = "demo-stage"  # the conversation's container (its CSS class: st-key-demo-stage)
# Presentation type: our own static CSS for our own container (no user text in it).
PRESENTATION_CSS = """<style>
.st-key-demo-stage [data-testid="stChatMessageContent"],
.st-key-demo-stage [data-testid="stChatMessageContent"] p,
.st-key-demo-stage [data-testid="stChatMessageContent"] li { font-size: 1.45rem; line-height: 1.5; }
.st-key-demo-stage [data-testid="stChatMessageContent"] code { font-size: 1.2rem; }
.st-key-demo-stage [data-testid="stCaptionContainer"] p { font-size: 1.05rem; }
</style>"""
LINK_LIFETIMES = {
    "1 hour": timedelta(hours=1),
    "1 day": timedelta(days=1),
    "7 days": timedelta(days=7),
    "30 days": timedelta(days=30),
}
SOURCE_KINDS = {LinkTarget.SESSION: "A saved session", LinkTarget.PROMPT_VERSION: "A prompt version"}
DEMO_NOTICE, SHARE_NOTICE = "demo", "share"  # where an action's outcome is shown
MODES = {DemoMode.REPLAY: "Replay the recording", DemoMode.LIVE: "Live from the model"}


class DemoKeys:
    """Widget keys of the Demo page."""

    SOURCE_KIND = "demo.source_kind"
    SESSION = "demo.session"
    PROMPT = "demo.prompt"
    VERSION = "demo.version"
    LOAD = "demo.load"
    RECORD_TITLE = "demo.record_title"
    RECORD = "demo.record"
    MODE = "demo.mode"
    NEXT = "demo.next"
    RESTART = "demo.restart"
    CONTINUE = "demo.continue"
    LINK_LIFETIME = "demo.link_lifetime"
    LINK_SENDS = "demo.link_sends"
    SHARE = "demo.share"
    REVOKE_PREFIX = "demo.revoke."


# --- state and configuration -----------------------------------------------------------------------
def demo_panel() -> DemoPanel:
    """This session's demo state (made on the page's first draw)."""
    store = get_store()
    if store.demo_panel is None:
        store.demo_panel = DemoPanel()
    return store.demo_panel


def presentation_settings() -> tuple[PresentationSettings, str | None]:
    """The operator's presentation settings, and what is wrong with them (defaults apply then)."""
    try:
        return load_presentation_settings(os.environ, server_secrets()), None
    except PlaygroundError as error:
        return PresentationSettings(), error.message


def share_links(store: Store) -> ShareLinks:
    """Share links signed with the server's secret; raises PlaygroundError saying how to set one."""
    return ShareLinks.from_config(os.environ, server_secrets(), ShareLinkRepository(store.engine))


def _attempt(panel: DemoPanel, action: Callable[[], str], place: str = DEMO_NOTICE) -> None:
    """Run ``action`` (returns what to tell the user, at ``place``); a failure is told instead."""
    try:
        panel.tell(place, "success", action())
    except PlaygroundError as error:
        panel.tell(place, "error", error.message)
    except SQLAlchemyError as error:
        reason = (str(getattr(error, "orig", None) or error).strip().splitlines() or [type(error).__name__])[0]
        panel.tell(place, "error", f"The database refused the change ({reason}). Nothing was changed; try again.")


def show_notice(panel: DemoPanel, place: str = DEMO_NOTICE) -> None:
    if notice := panel.take_notice(place):
        kind, message = notice
        (st.success if kind == "success" else st.error)(fmt.md_text(message))


# --- loading a demo --------------------------------------------------------------------------------
def source_document(store: Store, source: DemoSource) -> SessionDocument:
    """The saved session or prompt version ``source`` names (PlaygroundError NOT_FOUND when gone)."""
    if source.target is LinkTarget.SESSION:
        return store.sessions.load_document(source.target_id)
    name, version = source.prompt_version()
    return store.prompts.restore(name, version)


def load_demo(
    workspace: Workspace, panel: DemoPanel, document: SessionDocument, source: DemoSource, *, at_end: bool = False
) -> None:
    """Make ``document``'s user turns the script and its setup (system prompt, tools, schema, model)
    this session's. ``at_end``: its conversation shows whole (a viewer's first sight), else the
    chat starts empty and Next plays the first turn."""
    recorded = apply_session_document(document, workspace.connection)
    recording = SessionRecording.from_conversation(recorded.conversation)
    if not recording.turns:
        raise PlaygroundError.invalid_input(f"{source.title} has no user messages: there is nothing to play.")
    workspace.restore_setup(recorded)
    if not at_end:
        workspace.clear_chat()
    script = ScriptedDemo(recording=recording, position=len(recording.turns) if at_end else 0)
    panel.play(script, source, panel.grant)


def _load_chosen(store: Store, workspace: Workspace, panel: DemoPanel) -> None:
    def load() -> str:
        if widget_value(DemoKeys.SOURCE_KIND) == LinkTarget.PROMPT_VERSION:
            name = widget_value(DemoKeys.PROMPT)
            version = int(widget_value(DemoKeys.VERSION))
            source = DemoSource(LinkTarget.PROMPT_VERSION, DemoSource.prompt_version_id(name, version), "")
        else:
            source = DemoSource(LinkTarget.SESSION, widget_value(DemoKeys.SESSION), "")
        document = source_document(store, source)
        source = DemoSource(source.target, source.target_id, document.title or "Untitled session")
        load_demo(workspace, panel, document, source)
        assert panel.script is not None
        return f"Loaded {source.title}: {len(panel.script.script)} turn(s) to play. Press Next to send the first."

    _attempt(panel, load)


def _record_current_chat(store: Store, workspace: Workspace, panel: DemoPanel) -> None:
    def record() -> str:
        if not workspace.conversation.messages:
            raise PlaygroundError.invalid_input("The chat is empty: talk to the model first, then save it here.")
        title = (widget_value(DemoKeys.RECORD_TITLE) or "").strip() or "Demo session"
        session_id = store.sessions.create(workspace, title=title)
        set_widget_value(DemoKeys.SOURCE_KIND, LinkTarget.SESSION)
        set_widget_value(DemoKeys.SESSION, session_id)
        return f"Saved the chat as the session {title}: load it below to play it."

    _attempt(panel, record)


def source_picker(store: Store, workspace: Workspace, panel: DemoPanel) -> None:
    """Save the current chat as a demo session; pick a saved session or a prompt version and load it."""
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.text_input("Save the current chat as a demo session", key=DemoKeys.RECORD_TITLE, placeholder="Demo session")
        st.button(
            "Save chat",
            key=DemoKeys.RECORD,
            icon=":material/save:",
            on_click=_record_current_chat,
            args=(store, workspace, panel),
            help="Keeps every reply with its pace (time to first token, token rate): a replay plays at that pace.",
        )
    if widget_value(DemoKeys.SOURCE_KIND) is None:
        set_widget_value(DemoKeys.SOURCE_KIND, LinkTarget.SESSION)  # (Save chat sets it too: no default=)
    kind = st.segmented_control(
        "Play",
        [LinkTarget.SESSION, LinkTarget.PROMPT_VERSION],
        required=True,
        format_func=SOURCE_KINDS.__getitem__,
        key=DemoKeys.SOURCE_KIND,
    )
    if kind == LinkTarget.PROMPT_VERSION:
        prompts = [prompt.name for prompt in store.prompts.list_all()]
        if not prompts:
            st.info("No saved prompts yet: save one in the Prompt library.")
            return
        name = st.selectbox("Prompt", prompts, key=DemoKeys.PROMPT)
        versions = [info.version for info in reversed(store.prompts.versions(name))]
        if widget_value(DemoKeys.VERSION) not in versions:
            set_widget_value(DemoKeys.VERSION, versions[0])
        st.selectbox("Version", versions, key=DemoKeys.VERSION)
    else:
        sessions = {
            summary.id: f"{summary.title or 'Untitled'} · {summary.message_count} messages · "
            f"{summary.updated_at:%Y-%m-%d %H:%M}"
            for summary in store.sessions.list_all()
        }
        if not sessions:
            st.info(
                "No saved sessions yet: save the current chat above, or import a session file in the Prompt library."
            )
            return
        if widget_value(DemoKeys.SESSION) not in sessions:
            set_widget_value(DemoKeys.SESSION, next(iter(sessions)))
        st.selectbox("Session", list(sessions), format_func=sessions.__getitem__, key=DemoKeys.SESSION)
    st.button(
        "Load the demo",
        key=DemoKeys.LOAD,
        icon=":material/slideshow:",
        type="primary",
        on_click=_load_chosen,
        args=(store, workspace, panel),
        help="Its user messages become the script; its system prompt, tools, schema and model become this "
        "session's. The chat is cleared.",
    )


# --- playing -------------------------------------------------------------------------------------
def _draw_body(message: Message, *, streaming: bool) -> None:
    cursor = " ▌" if streaming else ""
    if message.role == "user":
        st.markdown(fmt.md_lines(message.content))
    elif message.role == "tool":
        st.code(message.content)
    else:  # the model's Markdown, as the chat draws it (no HTML)
        if message.content or streaming:
            st.markdown(message.content + cursor)
        if message.refusal:
            st.warning(f"The model refused: {message.refusal}", icon=":material/block:")
        for call in message.tool_calls:
            st.code(f"{call.name}({call.arguments})", language="json")


def play(updates: Iterator[Message]) -> None:
    """Draw a demo turn as it plays: each message opens its own bubble, a replayed one marked so."""
    current: str | None = None
    body = None
    for message in updates:
        if message.id != current:
            current = message.id
            with st.chat_message(message.role, avatar=ROLE_AVATARS.get(message.role)):
                if message.replayed and message.role != "user":
                    st.caption(REPLAY_MARK)
                body = st.empty()
        assert body is not None
        with body.container():
            _draw_body(message, streaming=message.role == "assistant")


def _restart(workspace: Workspace, panel: DemoPanel) -> None:
    assert panel.script is not None
    workspace.clear_chat()
    panel.script.restart()


def _set_mode(panel: DemoPanel) -> None:
    assert panel.script is not None
    panel.script.set_mode(DemoMode(widget_value(DemoKeys.MODE)))


def script_controls(workspace: Workspace, panel: DemoPanel, view: PresentationView, stage: DeltaGenerator) -> None:
    """Next, Restart and the mode; after a failed live turn, the offer of its recording. A turn plays
    into ``stage`` (under the conversation), then the page redraws it whole."""
    script = panel.script
    assert script is not None
    if not view.may_send and script.mode is DemoMode.LIVE:
        script.set_mode(DemoMode.REPLAY)  # a viewer without the owner's permission replays only
    continuing = False
    if script.offers_recording:
        assert script.failure is not None
        st.warning(
            f"Turn {script.failure.turn + 1} failed live: {fmt.md_text(script.failure.error.message)} "
            "Its recording can take over.",
            icon=":material/wifi_off:",
        )
        continuing = st.button(
            "Continue from the recording", key=DemoKeys.CONTINUE, icon=":material/replay:", type="primary"
        )
    elif script.failure is not None:
        st.error(fmt.md_text(script.failure.error.message), icon=":material/error:")
    with st.container(horizontal=True, vertical_alignment="center"):
        advancing = st.button(
            "Next",
            key=DemoKeys.NEXT,
            icon=":material/skip_next:",
            type="primary" if not continuing and not script.offers_recording else "secondary",
            disabled=script.finished,
            help=None if script.next_line is None else f"Sends: {script.next_line[:200]}",
        )
        st.button(
            "Restart",
            key=DemoKeys.RESTART,
            icon=":material/restart_alt:",
            on_click=_restart,
            args=(workspace, panel),
            help="Clear the chat and go back to the first turn.",
        )
        if view.may_send and view.shows_settings:
            if widget_value(DemoKeys.MODE) != script.mode:
                set_widget_value(DemoKeys.MODE, script.mode)
            st.segmented_control(
                "Replies",
                list(MODES),
                format_func=MODES.__getitem__,
                required=True,
                key=DemoKeys.MODE,
                on_change=_set_mode,
                args=(panel,),
                label_visibility="collapsed",
            )
        progress = (
            "the script is done" if script.finished else f"next: turn {script.position + 1} of {len(script.script)}"
        )
        mode = "" if view.may_send and view.shows_settings else f"{MODES[script.mode]} · "  # (else the control says)
        st.caption(mode + progress, width="content")
    if not (advancing or continuing):
        return
    try:
        updates = script.continue_from_recording(workspace) if continuing else script.next(workspace)
        with stage:
            play(updates)
    except PlaygroundError as error:
        panel.tell(DEMO_NOTICE, "error", error.message)
    st.rerun()


# --- share links -----------------------------------------------------------------------------------
def _page_url() -> str:
    """This deployment's Demo page URL, as the browser reached it (relative when it is unknown)."""
    parts = urlsplit(st.context.url or "")
    if parts.scheme and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}/{DEMO_URL_PATH}"
    return f"/{DEMO_URL_PATH}"


def _make_link(store: Store, panel: DemoPanel, source: DemoSource) -> None:
    def make() -> str:
        lifetime = LINK_LIFETIMES[widget_value(DemoKeys.LINK_LIFETIME)]
        permission = LinkPermission.SEND if widget_value(DemoKeys.LINK_SENDS) else LinkPermission.REPLAY
        link = share_links(store).create(source.target, source.target_id, expires_in=lifetime, permission=permission)
        grant = link.grant
        ShareLinkRepository(store.engine).record(
            grant.link_id, grant.target, grant.target_id, grant.permission, grant.expires_at, source.title
        )
        panel.new_link = link.url(_page_url())
        return f"Made a read-only link to {source.title}, valid until {grant.expires_at:%Y-%m-%d %H:%M} UTC."

    _attempt(panel, make, SHARE_NOTICE)


def _revoke(store: Store, panel: DemoPanel, link_id: str, title: str) -> None:
    def revoke() -> str:
        ShareLinkRepository(store.engine).revoke(link_id)
        panel.new_link = None
        return f"Revoked the link to {title}: it opens nothing from now on."

    _attempt(panel, revoke, SHARE_NOTICE)


def share_controls(store: Store, source: DemoSource | None) -> None:
    """Make a read-only link to ``source`` (signed, expiring); list this owner's links, each revocable.
    (The Demo page and the Prompt library both draw it.)"""
    panel = demo_panel()
    settings, _ = presentation_settings()
    show_notice(panel, SHARE_NOTICE)
    try:
        share_links(store)
    except PlaygroundError as error:
        st.info(fmt.md_text(error.message), icon=":material/key_off:")
        return
    if source is not None:
        with st.container(horizontal=True, vertical_alignment="bottom"):
            st.selectbox("Link valid for", list(LINK_LIFETIMES), index=2, key=DemoKeys.LINK_LIFETIME)
            st.checkbox(
                "Viewers may send live requests (billed to you)",
                key=DemoKeys.LINK_SENDS,
                disabled=not settings.viewers_may_send,
                help="Needs the operator's PLAYGROUND_PRESENTATION_VIEWERS_MAY_SEND=true; else viewers replay only.",
            )
            st.button(
                f"Share {fmt.md_text(source.title)}",
                key=DemoKeys.SHARE,
                icon=":material/share:",
                on_click=_make_link,
                args=(store, panel, source),
            )
    if panel.new_link:
        st.caption("Send this link (viewers see the conversation and can replay it; no keys, no settings):")
        st.code(panel.new_link, language=None, wrap_lines=True)
    links = ShareLinkRepository(store.engine).list_links()
    if not links:
        return
    st.markdown("**Your share links**")
    for info in links:
        state = "revoked" if info.revoked_at else ("active" if info.is_active() else "expired")
        reach = "may send" if info.permission == LinkPermission.SEND else "replay only"
        state += f" · until {info.expires_at:%Y-%m-%d %H:%M} UTC · {reach}"
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(f":material/link: {fmt.md_text(info.title or info.target_id)} · {state}", width="content")
            if info.revoked_at is None:
                st.button(
                    "Revoke",
                    key=f"{DemoKeys.REVOKE_PREFIX}{info.link_id}",
                    type="tertiary",
                    icon=":material/link_off:",
                    on_click=_revoke,
                    args=(store, panel, info.link_id, info.title or info.target_id),
                )


# --- a viewer --------------------------------------------------------------------------------------
def open_shared(store: Store, workspace: Workspace, panel: DemoPanel, token: str) -> bool:
    """Open the share link (checked again on every run: a revocation holds at once); False after
    drawing why it does not open (expired, revoked, tampered, no secret, the session gone)."""
    try:
        grant = share_links(store).open(token)
        if panel.grant is None or panel.grant.link_id != grant.link_id:
            source = DemoSource(LinkTarget(grant.target), grant.target_id, "")
            document = source_document(store, source)
            panel.grant = grant
            source = DemoSource(source.target, source.target_id, document.title or "Shared session")
            load_demo(workspace, panel, document, source, at_end=True)
    except ShareLinkRefused as refused:
        st.error(fmt.md_text(refused.message), icon=":material/link_off:")
        return False
    except PlaygroundError as error:
        st.error(fmt.md_text(error.message), icon=":material/link_off:")
        return False
    return True


# --- the page ------------------------------------------------------------------------------------
def presentation_header(settings: PresentationSettings, panel: DemoPanel) -> None:
    """The operator's title and logo, and what is playing."""
    with st.container(horizontal=True, vertical_alignment="center"):
        if settings.logo and not settings.logo_is_url:  # a remote logo would be blocked by the CSP
            st.image(settings.logo, width=72)
        st.title(fmt.md_text(settings.title), width="content")
    if panel.source is not None:
        st.caption(fmt.md_text(panel.source.title))


def demo_page(workspace: Workspace) -> None:
    """The whole page: for the owner (rehearsing or presenting) or a share-link viewer."""
    panel = demo_panel()
    settings, problem = presentation_settings()
    token = share_token()
    workspace.settle_interrupted()
    store = library_store_db()
    if store is None:
        return
    if token is not None:
        if not open_shared(store, workspace, panel, token):
            return
        assert panel.grant is not None
        view = PresentationView(settings, presenting=True, viewer_may_send=panel.grant.may_send)
    else:
        panel.grant = None
        view = PresentationView(settings, presenting=presenting())
    if view.presentation:
        st.html(PRESENTATION_CSS)
        presentation_header(settings, panel)
    else:
        st.title("Demo")
        st.caption(
            "Play a saved session or prompt version to an audience: Next sends each user message in turn, "
            "answered live by the model or replayed from the recording (no network, no key). Turn on "
            "Presentation view in the sidebar to hide everything but the conversation."
        )
        if problem:
            st.warning(fmt.md_text(problem), icon=":material/settings:")
        try:
            source_picker(store, workspace, panel)
        except (PlaygroundError, SQLAlchemyError) as error:
            st.error(fmt.md_text(getattr(error, "message", None) or "The database could not be read."))
    show_notice(panel)
    if panel.script is None:
        if view.presentation:
            st.info("No demo is loaded: turn Presentation view off, load one, and turn it back on.")
        return
    stage = st.container(key=STAGE_KEY)
    with stage:
        render_conversation(workspace, workspace.model_spec(), presenting=view.presentation)
    script_controls(workspace, panel, view, stage)
    if view.shows_settings:
        st.divider()
        st.subheader("Share")
        share_controls(store, panel.source)
