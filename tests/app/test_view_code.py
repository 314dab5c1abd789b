"""View code on the chat, functions, schema and images pages under AppTest: the request the next
reply (or the schema run) would be asked with, as Python, JavaScript and curl; images as files or
inline; the same text as ``python -m playground code``; never the key."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from components.images import IMAGES_PAGE
from components.schema_builder import SCHEMA_PAGE, SchemaKeys
from components.state import STATE_KEY
from components.view_code import ViewCodeKeys
from playground.conversation import ImageAttachment
from playground.store import open_store
from playground.store.database import DATABASE_URL_VARIABLE

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["pages/chat.py", "pages/tools.py", IMAGES_PAGE]
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def workspace(app):
    return app.session_state[STATE_KEY].workspace


def open_view_code(app, inline: bool = False):
    app.session_state[ViewCodeKeys.EXPANDER] = True
    app.run()
    if inline:
        app.toggle(key=ViewCodeKeys.IMAGES_INLINE).set_value(True).run()
    assert not app.exception
    return {
        code.language: code.value
        for code in app.code
        if "client.chat.completions.create(" in code.value or "curl --no-buffer" in code.value
    }


def with_conversation(app):
    ws = workspace(app)
    ws.set_system_prompt("You describe pictures.")
    ws.attach_image(ImageAttachment(name="dot.png", url=f"data:image/png;base64,{PIXEL}"))
    ws.submit("What is this?")
    reply = ws.conversation.start_reply("gpt-4.1-mini")
    reply.content = "A dot."
    ws.settle_interrupted()
    return ws


@pytest.mark.parametrize("page", PAGES)
def test_every_panel_shows_the_next_request_in_three_languages_without_the_key(app_factory, page):
    app = app_factory(page=page)
    with_conversation(app)
    assert not [code for code in app.code if code.language == "bash"]  # closed: nothing built
    codes = open_view_code(app)
    assert set(codes) == {"python", "javascript", "bash"}
    assert "client.chat.completions.create(" in codes["python"] and "from openai import OpenAI" in codes["python"]
    assert 'from "openai"' in codes["javascript"] and "curl --no-buffer" in codes["bash"]
    for text in codes.values():
        assert "sk-server-side-key" not in text and "OPENAI_API_KEY" in text
    assert "What is this?" in codes["bash"] and "A dot." in codes["bash"]
    assert "image-1.png" in codes["bash"] and PIXEL not in codes["bash"]


def test_the_schema_panel_shows_its_test_run_request_in_three_languages(app_factory):
    app = app_factory(page=SCHEMA_PAGE)
    with_conversation(app)
    app.text_area(key=SchemaKeys.TEST_INPUT).input("The parcel came fast.").run()
    codes = {
        code.language: code.value
        for code in app.code
        if "client.chat.completions.create(" in code.value or "curl --no-buffer" in code.value
    }
    assert set(codes) == {"python", "javascript", "bash"}
    body = json.loads(re.search(r"<<'JSON'\n(.*)\nJSON\n?$", codes["bash"], re.S).group(1))
    assert body["messages"][-1] == {"role": "user", "content": "The parcel came fast."}
    assert "What is this?" not in codes["bash"] and "sk-server-side-key" not in "".join(codes.values())


def test_images_inline_puts_the_base64_in_the_code(app_factory):
    app = app_factory(page="pages/chat.py")
    with_conversation(app)
    codes = open_view_code(app, inline=True)
    assert all(PIXEL in text for text in codes.values())


def test_a_parameter_out_of_bounds_is_a_warning_not_a_crash(app_factory):
    app = app_factory(page="pages/tools.py")  # (the chat's own form would bring it back in bounds)
    ws = workspace(app)
    ws.set_params(ws.params.model_copy(update={"max_completion_tokens": 10**9}))
    assert open_view_code(app) == {}
    assert any("max" in warning.value.lower() for warning in app.warning) and not app.exception


def test_the_panel_and_the_command_line_print_the_same_code(app_factory, tmp_path):
    app = app_factory(page="pages/chat.py")
    ws = with_conversation(app)
    codes = open_view_code(app, inline=True)
    database = f"sqlite:///{tmp_path / 'code.db'}"
    store = open_store(database)
    session_id = store.sessions.create(ws)
    store.close()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), DATABASE_URL_VARIABLE: database}
    for lang, language in (("python", "python"), ("js", "javascript"), ("curl", "bash")):
        done = subprocess.run(
            [sys.executable, "-m", "playground", "code", session_id, "--lang", lang],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.rstrip("\n") == codes[language].rstrip("\n")  # st.code drops the last newline
    body = json.loads(re.search(r"<<'JSON'\n(.*)\nJSON\n?$", codes["bash"], re.S).group(1))
    assert body == ws.build_request().to_kwargs()
    assert base64.b64decode(PIXEL)  # the image really travels in the inline form
