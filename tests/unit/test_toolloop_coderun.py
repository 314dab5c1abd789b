"""The Python tool runner's limits, under bubblewrap (where it works) and under resource limits only.

Limits are ~1-2 s so each test is fast. Fork bombs run only where the process count is enforced:
under bubblewrap (PID namespace, and the child drops to nobody when the server is root) or for a
non-root server (the kernel ignores RLIMIT_NPROC for root).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator

import pytest

from playground.toolloop import CodeLimits, CodeStatus, Isolation, detect_isolation, run_tool_code
from playground.toolloop.coderun import ENABLE_ENV, _bwrap_works

LIMITS = CodeLimits(cpu_s=1, wall_s=2.0, memory_mb=200, output_bytes=10_000, processes=16)
MODES = [
    pytest.param(
        Isolation.BUBBLEWRAP, marks=pytest.mark.skipif(not _bwrap_works(), reason="bubblewrap is not usable here")
    ),
    Isolation.RLIMITS,
]


@pytest.mark.parametrize("mode", MODES)
def test_result_contract_and_errors(mode: Isolation) -> None:
    ok = run_tool_code(
        "def run(arguments):\n    print('log line')\n    return {'twice': arguments['n'] * 2}",
        {"n": 21},
        LIMITS,
        isolation=mode,
    )
    assert (ok.status, json.loads(ok.content), ok.log.strip()) == (CodeStatus.OK, {"twice": 42}, "log line")
    text = run_tool_code("def run(arguments):\n    return 'plain text'", {}, LIMITS, isolation=mode)
    assert text.content == "plain text"
    raised = run_tool_code("def run(arguments):\n    raise ValueError('no such city')", {}, LIMITS, isolation=mode)
    assert (raised.status, raised.content) == (
        CodeStatus.ERROR,
        "Error: the tool code failed: ValueError: no such city",
    )
    missing = run_tool_code("x = 1", {}, LIMITS, isolation=mode)
    assert "must define a function run(arguments)" in missing.content
    unserialisable = run_tool_code("def run(arguments):\n    return object()", {}, LIMITS, isolation=mode)
    assert unserialisable.status is CodeStatus.ERROR and "not JSON-serialisable" in unserialisable.content


@pytest.mark.parametrize("mode", MODES)
def test_infinite_loop_is_killed(mode: Isolation) -> None:
    outcome = run_tool_code("def run(arguments):\n    while True:\n        pass", {}, LIMITS, isolation=mode)
    assert outcome.status in (CodeStatus.CPU_LIMIT, CodeStatus.TIMEOUT)
    assert outcome.duration_s < LIMITS.wall_s + 1


@pytest.mark.parametrize("mode", MODES)
def test_sleeping_code_is_stopped_at_the_wall_clock(mode: Isolation) -> None:
    outcome = run_tool_code("import time\ndef run(arguments):\n    time.sleep(60)", {}, LIMITS, isolation=mode)
    assert outcome.status is CodeStatus.TIMEOUT and "within 2 s" in outcome.content
    assert outcome.duration_s < LIMITS.wall_s + 1


@pytest.mark.parametrize("mode", MODES)
def test_memory_bomb_is_killed_and_the_server_carries_on(mode: Isolation) -> None:
    outcome = run_tool_code("def run(arguments):\n    return len(bytearray(1 << 32))", {}, LIMITS, isolation=mode)
    assert outcome.status is CodeStatus.MEMORY_LIMIT and "200 MB" in outcome.content
    assert run_tool_code("def run(arguments):\n    return 1", {}, LIMITS, isolation=mode).ok


@pytest.mark.parametrize("mode", MODES)
def test_the_environment_holds_no_key(mode: Isolation, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-parent-secret")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-parent-secret")
    outcome = run_tool_code("import os\ndef run(arguments):\n    return dict(os.environ)", {}, LIMITS, isolation=mode)
    environment = json.loads(outcome.content)
    assert "OPENAI_API_KEY" not in environment and "AZURE_OPENAI_API_KEY" not in environment
    assert "secret" not in outcome.content


@pytest.mark.parametrize("mode", MODES)
def test_huge_output_is_truncated(mode: Isolation) -> None:
    outcome = run_tool_code("def run(arguments):\n    return 'x' * 5_000_000", {}, LIMITS, isolation=mode)
    assert outcome.status is CodeStatus.OUTPUT_LIMIT and outcome.truncated
    assert outcome.content.startswith("x" * 10_000) and "exceeded 10,000 bytes" in outcome.content
    assert len(outcome.content) < 10_100
    printed = run_tool_code(
        "def run(arguments):\n    print('y' * 5_000_000)\n    return 'done'", {}, LIMITS, isolation=mode
    )
    assert len(printed.log) <= LIMITS.output_bytes


@pytest.fixture
def listening_port() -> Iterator[int]:
    # The kernel completes connections into the backlog: no accepting thread is needed (one left
    # blocked in accept() could take over the fd number and steal a later test's connections).
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


CONNECT = """import socket
from collections.abc import Iterator
def run(arguments):
    socket.create_connection(("127.0.0.1", arguments["port"]), timeout=1).close()
    return "connected"
"""


@pytest.mark.skipif(not _bwrap_works(), reason="bubblewrap is not usable here")
def test_socket_connect_fails_under_bubblewrap(listening_port: int) -> None:
    outcome = run_tool_code(CONNECT, {"port": listening_port}, LIMITS, isolation=Isolation.BUBBLEWRAP)
    assert outcome.status is CodeStatus.ERROR and "Connection refused" in outcome.content


def test_resource_limits_only_do_not_block_the_network(listening_port: int) -> None:
    """What the "accident isolation, not a security boundary" sentence warns about."""
    outcome = run_tool_code(CONNECT, {"port": listening_port}, LIMITS, isolation=Isolation.RLIMITS)
    assert outcome.content == "connected"
    assert "not a security boundary" in Isolation.RLIMITS.sentence


FORK_BOMB = """import os, time
def run(arguments):
    forked = 0
    try:
        while forked < 500:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            forked += 1
    except OSError:
        pass
    return forked
"""


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(
            Isolation.BUBBLEWRAP, marks=pytest.mark.skipif(not _bwrap_works(), reason="bubblewrap is not usable here")
        ),
        pytest.param(
            Isolation.RLIMITS,
            marks=pytest.mark.skipif(os.geteuid() == 0, reason="the kernel ignores RLIMIT_NPROC for root"),
        ),
    ],
)
def test_fork_bomb_is_contained(mode: Isolation) -> None:
    outcome = run_tool_code(FORK_BOMB, {}, LIMITS, isolation=mode)
    assert outcome.ok and int(outcome.content) < LIMITS.processes
    assert outcome.duration_s < LIMITS.wall_s  # the sleeping children did not hold the call open


@pytest.mark.skipif(not _bwrap_works(), reason="bubblewrap is not usable here")
def test_the_code_cannot_raise_its_own_limits_under_bubblewrap() -> None:
    raise_limit = """import resource
def run(arguments):
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    return "raised"
"""
    outcome = run_tool_code(raise_limit, {}, LIMITS, isolation=Isolation.BUBBLEWRAP)
    assert outcome.status is CodeStatus.ERROR and "not allowed to raise maximum limit" in outcome.content


def test_code_is_off_unless_the_server_enables_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENABLE_ENV, raising=False)
    assert detect_isolation() is Isolation.DISABLED
    outcome = run_tool_code("def run(arguments):\n    return 1", {})
    assert outcome.status is CodeStatus.DISABLED and ENABLE_ENV in outcome.content
    monkeypatch.setenv(ENABLE_ENV, "1")
    assert detect_isolation() in (Isolation.BUBBLEWRAP, Isolation.RLIMITS)
    assert detect_isolation().sentence in (
        "bubblewrap namespaces + resource limits",
        "resource limits only: accident isolation, not a security boundary",
    )
