"""The prompt library panel and session files: save the setup as a versioned prompt, browse, diff,
restore, fork, tag and label versions; export the session or a version as a file, import one.

Every action runs in a button callback (before the script draws anything), so a restore or an
import can forget the widgets that still show the old setup and every panel redraws from the
Workspace. Database failures (down, locked, written by a newer playground) become a message on
the panel, never a crash.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, cast

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from components import persistence
from components.format import md_code, md_text
from components.state import Keys, clear_widgets, pop_widget_value, set_widget_value, widget_value
from components.tool_loop import LoopKeys
from components.tools_view import ToolKeys
from playground.errors import ErrorKind, PlaygroundError
from playground.store import (
    PromptDiff,
    Store,
    apply_session_document,
    database_url,
    export_prompt,
    import_file,
    session_document_from_workspace,
)
from playground.store.database import safe_url
from playground.store.files import FileFormat, ImageMode, dump_file, session_file
from playground.workspace import Workspace

LIBRARY_PAGE = "pages/library.py"
FILE_TYPES = ["json", "yaml", "yml"]
MIME = {"json": "application/json", "yaml": "application/yaml"}
# Widgets that show a part of the setup: forgotten when a restore or an import replaces it, so they
# redraw from the Workspace. (The key fields are not among them: a restore keeps the key.)
SETUP_WIDGET_KEYS = (
    Keys.PROVIDER,
    Keys.MODEL,
    Keys.DEPLOYMENT,
    Keys.BASE_URL,
    Keys.AZURE_ENDPOINT,
    Keys.AZURE_AUTH,
    Keys.AZURE_MODE,
    Keys.API_VERSION,
    Keys.DEPLOYMENT_TYPE,
    Keys.REGISTRY_ENTRY,
    Keys.STORE,
    Keys.ORGANIZATION,
    Keys.PROJECT,
    Keys.SYSTEM_PROMPT,
    Keys.TEMPERATURE,
    Keys.TOP_P,
    Keys.MAX_TOKENS,
    Keys.FREQUENCY_PENALTY,
    Keys.PRESENCE_PENALTY,
    Keys.STOP_SEQUENCES,
    Keys.SEED,
    Keys.REASONING_EFFORT,
    Keys.RESPONSE_FORMAT,
    ToolKeys.DEFINITIONS,
    ToolKeys.CHOICE,
    ToolKeys.PARALLEL,
)
# (The schema panel refills its editors itself when the schema changes; drafts are kept.)
SETUP_WIDGET_PREFIXES = (ToolKeys.FORM_PREFIX, ToolKeys.PARAMETERS_PREFIX, ToolKeys.output(""), LoopKeys.PREFIX)


class LibraryKeys:
    """Widget keys of the Prompt library page."""

    SAVE_NAME = "library.save_name"
    SAVE_NOTE = "library.save_note"
    SAVE = "library.save"
    SEARCH = "library.search"
    PROMPT = "library.prompt"
    DIFF_OLD = "library.diff_old"
    DIFF_NEW = "library.diff_new"
    VERSION = "library.version"
    RESTORE = "library.restore"
    FORK_NAME = "library.fork_name"
    FORK = "library.fork"
    TAG = "library.tag"
    ADD_TAG = "library.add_tag"
    REMOVE_TAG = "library.remove_tag"
    LABEL = "library.label"
    SET_LABEL = "library.set_label"
    REMOVE_LABEL = "library.remove_label"
    FILE_FORMAT = "library.file_format"
    FILE_IMAGES = "library.file_images"
    EXPORT_SESSION = "library.export_session"
    EXPORT_PROMPT = "library.export_prompt"
    IMPORT_FILE = "library.import_file"
    IMPORT = "library.import"
    OUTCOME = "library.outcome"  # the last action's (kind, message): not a widget


# --- the database ---------------------------------------------------------------------------------
def library_store_db() -> Store | None:
    """The process's one store (components/persistence.py), or None after drawing why it cannot be
    opened. Opening is retried on a later rerun: a failure is not cached."""
    url = database_url()
    try:
        return persistence.database()
    except PlaygroundError as error:
        st.error(md_text(error), icon=":material/database:")
    except SQLAlchemyError as error:
        st.error(
            md_text(f"Cannot open the database {safe_url(url)}: {type(error).__name__}."), icon=":material/database:"
        )
    return None


def _outcome(kind: str, message: str) -> None:
    set_widget_value(LibraryKeys.OUTCOME, (kind, message))


def _attempt(action: Callable[[], str]) -> None:
    """Run ``action`` (returns what to tell the user); a failure is told instead, nothing else changes."""
    try:
        _outcome("success", action())
    except PlaygroundError as error:
        _outcome("error", str(error))
    except SQLAlchemyError as error:
        reason = (str(getattr(error, "orig", None) or error).strip().splitlines() or [type(error).__name__])[0]
        _outcome("error", f"The database refused the change ({reason}). Nothing was changed; try again.")


def show_outcome() -> None:
    """The last action's result, once."""
    outcome = pop_widget_value(LibraryKeys.OUTCOME)
    if outcome:
        kind, message = outcome
        if kind == "success":
            st.success(md_text(message), icon=":material/check_circle:")
        else:
            st.error(md_text(message), icon=":material/error:")


def _forget_version_choice() -> None:
    """The version pickers start again from the latest (after a save, a fork, another prompt)."""
    for key in (LibraryKeys.VERSION, LibraryKeys.DIFF_OLD, LibraryKeys.DIFF_NEW):
        pop_widget_value(key)


def _version_picker(column: Any, label: str, versions: list[int], default: int, key: str) -> int:
    """A version selectbox starting at ``default``; the value is set through the state (not
    ``index``), so the browser is told when it starts over (see _forget_version_choice)."""
    if widget_value(key) not in versions:
        set_widget_value(key, default)
    return int(column.selectbox(label, versions, key=key))


def forget_setup_widgets() -> None:
    """Let every panel's widgets redraw from the Workspace after its setup was replaced."""
    for key in SETUP_WIDGET_KEYS:
        pop_widget_value(key)
    for prefix in SETUP_WIDGET_PREFIXES:
        clear_widgets(prefix)


# --- saving -------------------------------------------------------------------------------------
def _save(store: Store, workspace: Workspace) -> None:
    def save() -> str:
        name = (widget_value(LibraryKeys.SAVE_NAME) or "").strip()
        info = store.prompts.save(
            name, session_document_from_workspace(workspace), widget_value(LibraryKeys.SAVE_NOTE) or ""
        )
        set_widget_value(LibraryKeys.SAVE_NOTE, "")  # (a removed value would stay in the browser)
        set_widget_value(LibraryKeys.PROMPT, info.name)
        _forget_version_choice()
        return f"Saved {info.name} version {info.version}."

    _attempt(save)


def save_form(store: Store, workspace: Workspace) -> None:
    """Name and note, and Save: the current setup becomes the prompt's next version."""
    st.subheader("Save the current setup")
    name_column, note_column = st.columns([1, 2])
    name_column.text_input("Prompt name", key=LibraryKeys.SAVE_NAME, placeholder="support-triage")
    note_column.text_input("Note for this version", key=LibraryKeys.SAVE_NOTE, placeholder="What changed and why")
    turns = len(workspace.conversation.messages)
    st.caption(
        f"Saves the system prompt, {turns} message(s), parameters, {len(workspace.tools)} tool(s) with their "
        "mock outputs, the schema and the model. Each save is a new version; earlier ones never change."
    )
    st.button(
        "Save version",
        key=LibraryKeys.SAVE,
        icon=":material/bookmark_add:",
        type="primary",
        on_click=_save,
        args=(store, workspace),
    )


# --- browsing -----------------------------------------------------------------------------------
def prompt_list(store: Store) -> str | None:
    """Search and the matching prompts; returns the chosen prompt's name (None: none saved/found)."""
    st.subheader("Prompts")
    query = st.text_input("Search by name, tag or text", key=LibraryKeys.SEARCH, placeholder="triage")
    prompts = store.prompts.search(query or "")
    if not prompts:
        st.info("No prompt matches this search." if query else "No saved prompts yet: save the current setup above.")
        return None
    forks = any(prompt.forked_from for prompt in prompts)
    st.dataframe(
        [
            {
                "Prompt": prompt.name,
                "Latest": prompt.latest_version,
                "Tags": ", ".join(prompt.tags),
                "Labels": ", ".join(f"{label} → v{version}" for label, version in sorted(prompt.labels.items())),
                "Saved": f"{prompt.updated_at:%Y-%m-%d %H:%M}",
                **({"Forked from": prompt.forked_from or ""} if forks else {}),
            }
            for prompt in prompts
        ],
        hide_index=True,
        width="stretch",
    )
    names = [prompt.name for prompt in prompts]
    if widget_value(LibraryKeys.PROMPT) not in names:
        set_widget_value(LibraryKeys.PROMPT, names[0])
    return cast(str, st.selectbox("Open prompt", names, key=LibraryKeys.PROMPT, on_change=_forget_version_choice))


def versions_table(store: Store, name: str) -> list[int]:
    """Every version of ``name`` (number, note, date, labels); returns their numbers, oldest first."""
    versions = store.prompts.versions(name)
    st.dataframe(
        [
            {
                "Version": info.version,
                "Note": info.note,
                "Saved": f"{info.created_at:%Y-%m-%d %H:%M:%S}",
                "Labels": ", ".join(info.labels),
            }
            for info in reversed(versions)
        ],
        hide_index=True,
        width="stretch",
    )
    return [info.version for info in versions]


def _json(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


def draw_diff(diff: PromptDiff) -> None:
    """Text diffs of the system prompt and the messages; a list of every other setting that changed."""
    if diff.is_empty:
        st.caption("These versions are identical.")
        return
    if diff.system_prompt:
        st.caption("System prompt")
        st.code(diff.system_prompt, language="diff")
    if diff.messages:
        st.caption("Messages")
        st.code(diff.messages, language="diff")
    if diff.changes:
        st.caption("Parameters, tools, mocks, schema and model")
        st.dataframe(
            [
                {"Setting": change.path, "Before": _json(change.old), "After": _json(change.new)}
                for change in diff.changes
            ],
            hide_index=True,
            width="stretch",
        )


def diff_section(store: Store, name: str, versions: list[int]) -> None:
    st.markdown("**Compare versions**")
    if len(versions) < 2:
        st.caption("Save another version to compare it with this one.")
        return
    old_column, new_column = st.columns(2)
    old = _version_picker(old_column, "From version", versions, versions[-2], LibraryKeys.DIFF_OLD)
    new = _version_picker(new_column, "To version", versions, versions[-1], LibraryKeys.DIFF_NEW)
    draw_diff(store.prompts.diff(name, old, new))


# --- acting on a version ----------------------------------------------------------------------
def _restore(store: Store, workspace: Workspace, name: str) -> None:
    def restore() -> str:
        version = int(widget_value(LibraryKeys.VERSION))
        document = store.prompts.restore(name, version)
        workspace.restore_setup(apply_session_document(document, workspace.connection))
        forget_setup_widgets()
        return f"Restored {name} version {version} into this session: the chat and every panel show it now."

    _attempt(restore)


def _fork(store: Store, name: str) -> None:
    def fork() -> str:
        version = int(widget_value(LibraryKeys.VERSION))
        new_name = (widget_value(LibraryKeys.FORK_NAME) or "").strip()
        if not new_name:
            raise PlaygroundError.invalid_input("Give the fork a name.")
        store.prompts.fork(name, version, new_name)
        set_widget_value(LibraryKeys.FORK_NAME, "")  # (a removed value would stay in the browser)
        set_widget_value(LibraryKeys.PROMPT, new_name)
        _forget_version_choice()
        return f"Forked {name} version {version} into the new prompt {new_name}."

    _attempt(fork)


def _add_tag(store: Store, name: str) -> None:
    def add() -> str:
        tag = (widget_value(LibraryKeys.TAG) or "").strip()
        if not tag:
            raise PlaygroundError.invalid_input("Type a tag first.")
        store.prompts.tag(name, tag)
        set_widget_value(LibraryKeys.TAG, "")  # (a removed value would stay in the browser)
        return f"Tagged {name} with {tag.lower()}."

    _attempt(add)


def _remove_tag(store: Store, name: str, tag: str) -> None:
    def remove() -> str:
        store.prompts.untag(name, tag)
        return f"Removed the tag {tag} from {name}."

    _attempt(remove)


def _set_label(store: Store, name: str) -> None:
    def label() -> str:
        version = int(widget_value(LibraryKeys.VERSION))
        text = (widget_value(LibraryKeys.LABEL) or "").strip()
        store.prompts.set_label(name, text, version)
        return f"{name}: the label {text} now points at version {version}."

    _attempt(label)


def _remove_label(store: Store, name: str, label: str) -> None:
    def remove() -> str:
        store.prompts.remove_label(name, label)
        return f"Removed the label {label} from {name}."

    _attempt(remove)


def version_actions(store: Store, workspace: Workspace, name: str, versions: list[int]) -> None:
    """Pick a version; restore it, fork it, label it."""
    st.markdown("**Use a version**")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        _version_picker(st, "Version", list(reversed(versions)), versions[-1], LibraryKeys.VERSION)
        st.button(
            "Restore into this session",
            key=LibraryKeys.RESTORE,
            icon=":material/restore:",
            help="Replaces the system prompt, conversation, parameters, tools, schema and model of this session.",
            on_click=_restore,
            args=(store, workspace, name),
        )
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.text_input("Fork as a new prompt", key=LibraryKeys.FORK_NAME, placeholder=f"{name}-experiment")
        st.button("Fork", key=LibraryKeys.FORK, icon=":material/fork_right:", on_click=_fork, args=(store, name))
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.text_input("Label", value="production", key=LibraryKeys.LABEL)
        st.button(
            "Label this version",
            key=LibraryKeys.SET_LABEL,
            icon=":material/label:",
            on_click=_set_label,
            args=(store, name),
        )


def tags_and_labels(store: Store, name: str) -> None:
    """The prompt's labels (each pointing at one version) and tags, each removable; add a tag."""
    summary = next((prompt for prompt in store.prompts.search(name) if prompt.name == name), None)
    if summary is None:
        return
    st.markdown("**Labels and tags**")
    for label, version in sorted(summary.labels.items()):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(f":material/label: {md_code(label)} → version {version}", width="content")
            st.button(
                "Remove",
                key=f"{LibraryKeys.REMOVE_LABEL}.{label}",
                type="tertiary",
                on_click=_remove_label,
                args=(store, name, label),
            )
    for tag in summary.tags:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(f":material/sell: {md_code(tag)}", width="content")
            st.button(
                "Remove",
                key=f"{LibraryKeys.REMOVE_TAG}.{tag}",
                type="tertiary",
                on_click=_remove_tag,
                args=(store, name, tag),
            )
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.text_input("Add a tag", key=LibraryKeys.TAG, placeholder="support")
        st.button("Add tag", key=LibraryKeys.ADD_TAG, icon=":material/sell:", on_click=_add_tag, args=(store, name))


def share_section(store: Store, name: str) -> None:
    """A read-only share link to the chosen version, and the owner's links with Revoke (Demo page's)."""
    from components.demo import share_controls  # (components.demo uses this module's store)
    from playground.demo import DemoSource, LinkTarget

    st.markdown("**Share a read-only link**")
    version = int(widget_value(LibraryKeys.VERSION))
    share_controls(
        store, DemoSource(LinkTarget.PROMPT_VERSION, DemoSource.prompt_version_id(name, version), f"{name} v{version}")
    )


def prompt_detail(store: Store, workspace: Workspace, name: str) -> None:
    """One prompt: its versions, a diff of any two, what can be done with a version, its tags."""
    st.markdown(f"#### {md_text(name)}")
    versions = versions_table(store, name)
    version_actions(store, workspace, name, versions)
    share_section(store, name)
    tags_and_labels(store, name)
    diff_section(store, name, versions)


# --- files --------------------------------------------------------------------------------------
def session_file_text(workspace: Workspace, file_format: FileFormat = "json", images: ImageMode = "inline") -> str:
    """The current session as a session file (what Export session downloads)."""
    return dump_file(session_file(session_document_from_workspace(workspace), images), file_format)


def open_file(store: Store, workspace: Workspace, file_name: str, data: bytes) -> str:
    """Import a session or prompt file as a new saved session and open it in ``workspace``;
    returns what to tell the user. The whole file is checked first: a bad one raises
    PlaygroundError (what is wrong and where) and changes nothing, in the database or the session."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PlaygroundError.invalid_input(f"{file_name} is not UTF-8 text: not a playground file.") from None
    try:
        result = import_file(store.sessions, text)
    except PlaygroundError as error:
        raise PlaygroundError(ErrorKind.INVALID_INPUT, f"{file_name} was not imported. {error}") from None
    # The new session becomes this browser session's (its URL too): the one open so far stays saved.
    persistence.save_now()
    workspace = persistence.open_session(result.session_id).workspace
    missing = (
        f" {result.missing_images} image(s) were left out of the file and are not in this database either."
        if result.missing_images
        else ""
    )
    return (
        f"Imported {file_name} as session {result.session_id}; it is open in this browser session now "
        f"({len(workspace.conversation.messages)} message(s)).{missing}"
    )


def _import(store: Store, workspace: Workspace) -> None:
    def load() -> str:
        upload = widget_value(LibraryKeys.IMPORT_FILE)
        if upload is None:
            raise PlaygroundError.invalid_input("Choose a file to import first.")
        return open_file(store, workspace, upload.name, upload.getvalue())

    _attempt(load)


def _file_stem(name: str) -> str:
    """A prompt name fit for a file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "prompt"


def files_section(store: Store, workspace: Workspace, prompt: str | None) -> None:
    """Export the session or the chosen prompt version as JSON or YAML; import a file."""
    st.subheader("Files")
    st.caption("One readable, git-diffable file per session or prompt version. Keys are never written to a file.")
    format_column, images_column = st.columns(2)
    file_format = cast(
        FileFormat,
        format_column.segmented_control(
            "Format", ["json", "yaml"], default="json", required=True, key=LibraryKeys.FILE_FORMAT
        ),
    )
    images = cast(
        ImageMode,
        images_column.segmented_control(
            "Images",
            ["inline", "omit"],
            default="inline",
            required=True,
            format_func={"inline": "Inline (base64)", "omit": "Left out"}.__getitem__,
            key=LibraryKeys.FILE_IMAGES,
        ),
    )
    with st.container(horizontal=True):
        st.download_button(
            "Export session",
            lambda: session_file_text(workspace, file_format, images),
            file_name=f"session.{file_format}",
            mime=MIME[file_format],
            key=LibraryKeys.EXPORT_SESSION,
            icon=":material/download:",
            on_click="ignore",
        )
        if prompt is not None and (version := widget_value(LibraryKeys.VERSION)) is not None:
            st.download_button(
                f"Export {md_text(prompt)} v{version}",
                lambda: export_prompt(store.prompts, prompt, version, file_format, images),
                file_name=f"{_file_stem(prompt)}.v{version}.{file_format}",
                mime=MIME[file_format],
                key=LibraryKeys.EXPORT_PROMPT,
                icon=":material/download:",
                on_click="ignore",
            )
    st.file_uploader("Import a session or prompt file", type=FILE_TYPES, key=LibraryKeys.IMPORT_FILE)
    st.button(
        "Import and open",
        key=LibraryKeys.IMPORT,
        icon=":material/upload_file:",
        help="The file is checked whole first: a bad file changes nothing.",
        on_click=_import,
        args=(store, workspace),
    )


# --- the panel ----------------------------------------------------------------------------------
def _database_trouble(error: Exception) -> None:
    if isinstance(error, PlaygroundError):
        st.error(md_text(error), icon=":material/database:")
    else:
        reason = (str(getattr(error, "orig", None) or error).strip().splitlines() or [type(error).__name__])[0]
        st.error(
            md_text(f"The database could not be read ({reason}). Your session is unaffected; try again shortly."),
            icon=":material/database:",
        )


def library_panel(workspace: Workspace) -> None:
    """The whole panel: the last action's result, Save, the prompts and the chosen one, files."""
    show_outcome()
    store = library_store_db()
    if store is None:
        return
    save_form(store, workspace)
    st.divider()
    chosen = None
    try:
        chosen = prompt_list(store)
        if chosen is not None:
            prompt_detail(store, workspace, chosen)
    except (PlaygroundError, SQLAlchemyError) as error:
        _database_trouble(error)
    st.divider()
    files_section(store, workspace, chosen)
