"""The repository's Streamlit configuration: no outbound request for this machine's external IP at startup."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit import config, net_util
from streamlit.web import bootstrap

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo_config(monkeypatch):
    monkeypatch.chdir(REPO)
    config.get_config_options(force_reparse=True)
    yield
    monkeypatch.undo()
    config.get_config_options(force_reparse=True)


def test_startup_does_not_look_up_the_external_ip(repo_config, monkeypatch, capsys):
    def outbound() -> str:
        raise AssertionError("Streamlit asked checkip.amazonaws.com for the external IP")

    monkeypatch.setattr(net_util, "get_external_ip", outbound)
    assert config.get_option("server.headless")  # headless is what makes Streamlit print an "External URL"
    bootstrap._print_url(is_running_hello=False)
    assert "URL: http://localhost" in capsys.readouterr().out


SERVE_CHECK = """
import logging, sys
from streamlit import net_util
from streamlit.web.server import server_util

def outbound(*args, **kwargs):
    sys.exit("Streamlit made an outbound request for the external IP")

net_util._make_blocking_http_get = outbound
import serve  # noqa: F401  (what `streamlit run serve.py` executes at start)

assert not server_util.is_url_from_allowed_origins("http://visitor.example:8501")
assert server_util.is_url_from_allowed_origins("http://localhost:8501")
print("ok")
"""


@pytest.mark.parametrize(
    ("environment", "warned"),
    [({"PLAYGROUND_LOCK_CONNECTION": "1"}, False), ({}, True)],
    ids=["locked", "unlocked"],
)
def test_serve_refuses_foreign_origins_without_asking_for_the_external_ip_and_warns_the_operator(environment, warned):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "PLAYGROUND_"))}
    env |= environment | {"STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}
    done = subprocess.run([sys.executable, "-c", SERVE_CHECK], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")
    assert ("connection is unlocked" in done.stderr) is warned
