"""AppTest fixtures: run app.py in-process with a clean environment pointing at the fake server."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

APP_PATH = str(Path(__file__).resolve().parents[2] / "app.py")
PROVIDER_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "OPENAI_MODEL",
    "AZURE_OPENAI_ENDPOINT",
    "PLAYGROUND_LOCK_CONNECTION",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_DEPLOYMENT",
    "OPENAI_API_VERSION",
)


@pytest.fixture(autouse=True)
def navigation_app_not_v1_multipage(monkeypatch):
    """Rerun app.py (not the page alone) on every AppTest run.

    AppTest resets ``PagesManager.uses_pages_directory`` before each run, so an ``st.navigation`` app
    whose pages live in ``pages/`` is rerun as a legacy v1 multipage app: the page script alone,
    without app.py's sidebar. ``streamlit run`` never does that, because ``st.navigation`` clears the
    flag for the process; this fixture keeps it cleared, as ``st.navigation`` leaves it.
    """
    original_init = PagesManager.__init__

    def init_as_navigation_app(self, *args, **kwargs):
        PagesManager.uses_pages_directory = False
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(PagesManager, "__init__", init_as_navigation_app)


@pytest.fixture
def clean_env(monkeypatch):
    for name in PROVIDER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def app_factory(clean_env, fake):
    """Build an AppTest of app.py; by default connected to the fake server as an OpenAI-compatible one."""

    def build(connected: bool = True, page: str | None = None) -> AppTest:
        if connected:
            clean_env.setenv("OPENAI_BASE_URL", fake.base_url)
            clean_env.setenv("OPENAI_API_KEY", "sk-server-side-key")
        app = AppTest.from_file(APP_PATH, default_timeout=30)
        app.run()
        if page:
            app.switch_page(page).run()
        return app

    return build


@pytest.fixture(autouse=True)
def throwaway_database(monkeypatch, tmp_path):
    """Every AppTest saves its sessions in a database of its own (never the project's data/)."""
    url = f"sqlite:///{tmp_path / 'playground.db'}"
    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", url)
    monkeypatch.delenv("PLAYGROUND_RETENTION_DAYS", raising=False)
    return url
