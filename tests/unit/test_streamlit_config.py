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
