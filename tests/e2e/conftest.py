"""Shared harness for the browser end-to-end tests: the real app, served as in production
(``streamlit run serve.py``, so with its security headers), talking to a loopback fake OpenAI
server, driven by Debian's Chromium through Playwright's sync API.

Fixtures
--------
- ``fake_server`` / ``fake``: the run's one fake server (tests/conftest.py) the app talks to
  (``OPENAI_BASE_URL``/``OPENAI_API_KEY`` of the app process point at it); here ``fake`` is
  autouse, so it is reset before every e2e test. Request it to enqueue scenarios and read requests.
- ``app_url`` (session): ``http://127.0.0.1:<port>`` of the running app. Its log is written to
  ``<tmp>/streamlit.log``; its tail is printed when it fails to start and when a test fails.
- ``own_app`` (function): an :class:`AppProcess` of the test's own, started (cold), for tests
  that need a cold server or restart it; ``.url``, ``.restart()``.
  ``.kill()`` ends it with SIGKILL (a crash; ``.start()`` again). Every app process saves its
  sessions in a throwaway SQLite database in its work folder (``.database_path``), which a
  restart keeps: the restarted server reopens the same sessions.
- ``browser`` (package scope: shared by all of tests/e2e, closed after it; its docstring says
  why not session): Chromium (``$CHROMIUM_PATH``, default ``/usr/bin/chromium``). A missing
  executable FAILS the tests (it is not a skip: CI installs Chromium).
- ``page`` (function): a page in a fresh browser context (so a fresh Streamlit session),
  viewport 1300x900, with the run tracker of :mod:`tests.e2e.helpers` installed. On failure a
  screenshot goes to ``test-artifacts/<test name>.png``.
- ``console_errors`` (function): the ``page``'s console errors and uncaught page errors, as strings.

Helpers live in :mod:`tests.e2e.helpers` (``open_app``, ``wait_for_app_idle``, ...).
Every test under ``tests/e2e`` is marked ``e2e`` automatically.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import install_run_tracker
from tests.fakes.server import FakeOpenAIServer

E2E_DIR = Path(__file__).resolve().parent
REPO_ROOT = E2E_DIR.parents[1]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"
APP_START_TIMEOUT_S = 60.0
VIEWPORT = {"width": 1300, "height": 900}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
# Provider settings of the outer environment must not leak into the app under test.
_SCRUBBED_ENV = re.compile(r"^(OPENAI_|AZURE_)")

_app_log: Path | None = None  # set by app_url; read when reporting failures


# --- marking ------------------------------------------------------------------------------------
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test collected under tests/e2e with ``e2e`` (the marker is in pyproject.toml)."""
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """On an e2e failure, save a screenshot and add console errors and the app log to the report.

    Done here, not in the ``page`` fixture's teardown, so the page is still open and the extra
    section lands in the report pytest prints. The report is also kept as ``item.rep_<phase>``.
    """
    report = yield
    setattr(item, f"rep_{report.when}", report)
    if report.failed and report.when == "call" and "page" in getattr(item, "funcargs", {}):
        report.sections.append(("e2e artifacts", _record_failure(item, item.funcargs["page"])))
    return report


# --- the fake provider --------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _fresh_fake(fake: FakeOpenAIServer) -> FakeOpenAIServer:
    """Every e2e test starts from a reset fake server (the app shares it across tests)."""
    return fake


# --- the app ------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(path: Path | None, lines: int = 60) -> str:
    if path is None or not path.exists():
        return "(no app log)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(app log is empty)"


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop_process_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class AppProcess:
    """One ``streamlit run serve.py`` process against the fake server, on its own port and log.

    ``start()`` waits for ``/_stcore/health``; ``stop()`` ends it; ``restart()`` is both, on the same
    port (what a server restart looks like to an open tab).
    """

    def __init__(self, fake_server: FakeOpenAIServer, workdir: Path) -> None:
        self.log_path = workdir / "streamlit.log"
        # An empty secrets file: a developer's (git-ignored) .streamlit/secrets.toml or
        # ~/.streamlit/secrets.toml would take precedence over the environment below.
        self.secrets = workdir / "secrets.toml"
        self.secrets.write_text("")
        self.env = {name: value for name, value in os.environ.items() if not _SCRUBBED_ENV.match(name)}
        self.env.update(OPENAI_BASE_URL=fake_server.base_url, OPENAI_API_KEY="test-key", PYTHONUNBUFFERED="1")
        # A throwaway database: the app under test must never write the developer's data/playground.db.
        # It is kept across restart(): the restarted server reopens the same sessions.
        self.database_path = workdir / "playground.db"
        self.env.update(PLAYGROUND_DATABASE_URL=f"sqlite:///{self.database_path}", PLAYGROUND_RETENTION_DAYS="")
        # Batch runs check their batches every 0.2 s (30 s in production): the fake advances on each check.
        self.env.update(PLAYGROUND_BATCH_POLL_SECONDS="0.2")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> AppProcess:
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "serve.py",
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            # Other engineers edit the tree while tests run: no file watching, no "source changed" reruns.
            "--server.fileWatcherType",
            "none",
            "--secrets.files",
            str(self.secrets),
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + APP_START_TIMEOUT_S
        while not _healthy(self.url):
            if self.process.poll() is not None:
                pytest.fail(
                    f"streamlit exited with code {self.process.returncode} before answering "
                    f"/_stcore/health.\n--- {self.log_path} ---\n{_log_tail(self.log_path)}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"streamlit did not answer {self.url}/_stcore/health within {APP_START_TIMEOUT_S:g} s."
                    f"\n--- {self.log_path} ---\n{_log_tail(self.log_path)}",
                    pytrace=False,
                )
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop_process_group(self.process)

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill(self) -> None:
        """End the process at once (SIGKILL), as a crash or a power cut would: nothing runs on the way out."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def app_url(fake_server: FakeOpenAIServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``streamlit run serve.py`` against the fake server; yield its URL; stop it at the end."""
    global _app_log
    app = AppProcess(fake_server, tmp_path_factory.mktemp("streamlit"))
    _app_log = app.log_path
    try:
        yield app.start().url
    finally:
        app.stop()


@pytest.fixture
def own_app(fake_server: FakeOpenAIServer, tmp_path: Path) -> Iterator[AppProcess]:
    """A freshly started app process of this test's own (for cold starts and restarts)."""
    global _app_log
    app = AppProcess(fake_server, tmp_path)
    shared_log, _app_log = _app_log, app.log_path
    try:
        yield app.start()
    finally:
        app.stop()
        _app_log = shared_log


# --- the browser --------------------------------------------------------------------------------
@pytest.fixture(scope="package")
def browser():
    """Chromium for all of tests/e2e. Package scope, not session: Playwright's sync API keeps an
    asyncio loop running on the main thread while it is open, and ``asyncio.run`` in any later
    test of the same pytest run (tests/unit runs after tests/e2e) would then fail with "cannot be
    called from a running event loop". Closing it with the package avoids that."""
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {executable!r}: install it (Debian: apt-get install chromium) or set "
            "CHROMIUM_PATH. The e2e tests do not use Playwright's downloaded browsers.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def console_errors() -> list[str]:
    """Console errors and uncaught exceptions of the ``page`` fixture's page (filled as they come)."""
    return []


@pytest.fixture
def page(browser, console_errors: list[str]):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    page = context.new_page()
    install_run_tracker(page)
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.on("pageerror", lambda error: console_errors.append(f"pageerror: {error}"))
    try:
        yield page
    finally:
        context.close()


def _record_failure(item: pytest.Item, page) -> str:
    """Screenshot to test-artifacts/<test name>.png; returns the text for the report section."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    screenshot = ARTIFACTS_DIR / (re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name) + ".png")
    try:
        page.screenshot(path=str(screenshot), full_page=True, timeout=10_000)
        saved = f"screenshot: {screenshot}"
    except Exception as error:  # a crashed page must not hide the test's own failure
        saved = f"screenshot failed: {error}"
    errors = item.funcargs.get("console_errors") or []
    return "\n\n".join(
        [
            saved,
            "console errors:\n" + ("\n".join(errors) or "(none)"),
            f"app log tail ({_app_log}):\n{_log_tail(_app_log)}",
        ]
    )
