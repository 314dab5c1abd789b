"""Benchmark: how long the first page takes in Chromium, beside a bare Streamlit app.

Run from the repository root: ``python -m bench.bench_startup``. In one run, for ROUNDS rounds and
for each of two apps, the playground (``streamlit run serve.py``, no credentials) and a bare app
(a title and a chat input, written to a temporary directory), started the same way:

* start the server process, wait for ``/_stcore/health`` (Python and Streamlit are loaded);
* cold: open the page in a fresh Chromium context and time until the chat input is on screen and
  the script run is over (this first run imports everything the app's script imports);
* warm: the same in a second fresh context (a second browser session on the running server);
* stop the server.

Medians over the rounds, and the ratios to the bare app. Targets (issue 8, P5): cold within 1.3x
of the bare app's, a second session within 1.2x. Exits with status 1 when a target is missed.
Needs Debian's Chromium (``$CHROMIUM_PATH``, default ``/usr/bin/chromium``).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 5
TARGETS = {"cold": 1.3, "warm": 1.2}
BARE_APP = 'import streamlit as st\n\nst.title("Bare app")\nst.chat_input("Message")\n'
READY = "[data-testid=stChatInputTextArea]"
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"streamlit exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not become healthy")


def _start(script: Path, workdir: Path, secrets: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("OPENAI_", "AZURE_"))}
    command = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--secrets.files", str(secrets),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(url, process)
    return process, url


def _page_ms(browser: Browser, url: str) -> float:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_selector(READY, state="visible", timeout=60_000)
        page.wait_for_selector(IDLE, state="attached", timeout=60_000)
        return (time.perf_counter() - started) * 1_000
    finally:
        context.close()


def measure(browser: Browser, script: Path, workdir: Path, secrets: Path) -> tuple[float, float]:
    process, url = _start(script, workdir, secrets)
    try:
        return _page_ms(browser, url), _page_ms(browser, url)
    finally:
        process.terminate()
        process.wait(timeout=20)


def main() -> int:
    results: dict[str, dict[str, list[float]]] = {
        "playground": {"cold": [], "warm": []},
        "bare": {"cold": [], "warm": []},
    }
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(BARE_APP)
        secrets = Path(tmp) / "secrets.toml"
        secrets.write_text("")
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"), args=CHROMIUM_ARGS
        )
        apps = {"playground": (REPO_ROOT / "serve.py", REPO_ROOT), "bare": (bare, Path(tmp))}
        for _ in range(ROUNDS):
            for name, (script, workdir) in apps.items():
                cold, warm = measure(browser, script, workdir, secrets)
                results[name]["cold"].append(cold)
                results[name]["warm"].append(warm)
        browser.close()
    print(f"First page in Chromium (median of {ROUNDS} server starts), ms:")
    print(f"{'':>16} {'playground':>11} {'bare app':>9} {'ratio':>6}  target")
    missed = []
    for kind, label in (("cold", "after cold start"), ("warm", "second session")):
        ours = statistics.median(results["playground"][kind])
        base = statistics.median(results["bare"][kind])
        ratio = ours / base
        ok = ratio <= TARGETS[kind]
        missed += [] if ok else [label]
        print(f"{label:>16} {ours:>11.0f} {base:>9.0f} {ratio:>6.2f}  <= {TARGETS[kind]}x {'ok' if ok else 'MISSED'}")
    if missed:
        print("Missed: " + ", ".join(missed) + ".")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
