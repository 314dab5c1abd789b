"""View code, from every panel: the request the next reply would be asked with, as Python (openai
SDK: ``OpenAI``, ``AzureOpenAI`` or the Azure v1 form, as the provider says), JavaScript (the
``openai`` npm package) and curl. The text is :mod:`playground.snippets`' (the same as
``python -m playground code``); keys only ever come from environment variables.

The snippets are built only while the expander is open: a rerun with it closed costs nothing.
"""

from __future__ import annotations

from typing import Literal

import streamlit as st

from components.format import md_text
from components.schema_builder import SchemaKeys
from components.state import widget_value
from playground.errors import PlaygroundError
from playground.request import ChatRequest
from playground.schema_run import schema_run_request
from playground.snippets import SNIPPET_LANGUAGES, ImageMode, all_snippets
from playground.workspace import Workspace

#: What the code sends: the chat's next reply, or the schema panel's test run.
CodeFor = Literal["chat", "schema_run"]


class ViewCodeKeys:
    EXPANDER = "view_code.open"
    IMAGES_INLINE = "view_code.images_inline"


def code_request(workspace: Workspace, code_for: CodeFor = "chat") -> ChatRequest:
    """The request the code sends (raises PlaygroundError when it cannot be built)."""
    if code_for == "schema_run":
        return schema_run_request(
            workspace, widget_value(SchemaKeys.TEST_INPUT) or "", widget_value(SchemaKeys.MODE, "json_schema")
        )
    return workspace.build_request()


def code_snippets(workspace: Workspace, code_for: CodeFor = "chat", images: ImageMode = "inline") -> dict[str, str]:
    """The snippets by language label (Python, JavaScript, curl)."""
    return all_snippets(code_request(workspace, code_for), workspace.provider(), images)


def view_code(workspace: Workspace, code_for: CodeFor = "chat") -> None:
    """A "View code" expander with the request as Python, JavaScript and curl."""
    what = "the schema test run" if code_for == "schema_run" else "the next reply"
    expander = st.expander("View code", icon=":material/code:", key=ViewCodeKeys.EXPANDER, on_change="rerun")
    with expander:
        if not expander.open:
            return
        inline = st.toggle(
            "Images inline (base64)",
            value=False,
            key=ViewCodeKeys.IMAGES_INLINE,
            help="Off: the code reads each uploaded image from a file (image-1.png, ...) next to it.",
        )
        try:
            snippets = code_snippets(workspace, code_for, "inline" if inline else "file")
        except PlaygroundError as error:
            st.warning(md_text(error), icon=":material/warning:")
            return
        st.caption(f"The exact request {what} would be asked with. The key is read from an environment variable.")
        for tab, (label, text) in zip(st.tabs(list(snippets)), snippets.items(), strict=True):
            with tab:
                st.code(text, language=SNIPPET_LANGUAGES[label])
