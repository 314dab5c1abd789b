"""View code, from every panel: the request the next reply would be asked with, as Python (openai
SDK: ``OpenAI``, ``AzureOpenAI`` or the Azure v1 form, as the provider says), JavaScript (the
``openai`` npm package) and curl. The text is :mod:`playground.snippets`' (the same as
``python -m playground code``); keys only ever come from environment variables.

Chat, functions and images draw :func:`view_code` (an expander: the snippets are built only while
it is open, so a rerun with it closed costs nothing); the schema panel's "View code" tab draws
:func:`code_view` with its test run's request.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components.format import md_text
from playground.errors import PlaygroundError
from playground.request import ChatRequest
from playground.snippets import SNIPPET_LANGUAGES, ImageMode, all_snippets
from playground.workspace import Workspace


class ViewCodeKeys:
    EXPANDER = "view_code.open"
    IMAGES_INLINE = "view_code.images_inline"


def code_snippets(workspace: Workspace, request: ChatRequest, images: ImageMode = "inline") -> dict[str, str]:
    """The snippets of ``request`` by language label (Python, JavaScript, curl), for this
    session's provider (which picks ``OpenAI``, ``AzureOpenAI`` or the Azure v1 form)."""
    return all_snippets(request, workspace.provider(), images)


def code_view(workspace: Workspace, build_request: Callable[[], ChatRequest], what: str) -> None:
    """The images toggle and one tab per language for the request ``build_request`` makes (``what``
    names it for the caption); a request that cannot be built is a warning."""
    inline = st.toggle(
        "Images inline (base64)",
        value=False,
        key=ViewCodeKeys.IMAGES_INLINE,
        help="Off: the code reads each uploaded image from a file (image-1.png, ...) next to it.",
    )
    try:
        snippets = code_snippets(workspace, build_request(), "inline" if inline else "file")
    except PlaygroundError as error:
        st.warning(md_text(error), icon=":material/warning:")
        return
    st.caption(f"The exact request {what}. The key is read from an environment variable.")
    for tab, (label, text) in zip(st.tabs(list(snippets)), snippets.items(), strict=True):
        with tab:
            st.code(text, language=SNIPPET_LANGUAGES[label])


def view_code(workspace: Workspace) -> None:
    """A "View code" expander with the request the next reply would be asked with."""
    expander = st.expander("View code", icon=":material/code:", key=ViewCodeKeys.EXPANDER, on_change="rerun")
    with expander:
        if expander.open:
            code_view(workspace, workspace.build_request, "the next reply would be asked with")
