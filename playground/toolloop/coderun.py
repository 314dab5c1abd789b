"""Running a tool's optional Python implementation, one process per call, under limits.

OFF unless the server sets ``PLAYGROUND_ALLOW_TOOL_CODE=1``. Contract for the code: it defines
``run(arguments: dict) -> Any``; it gets the call's arguments (parsed JSON) and returns any
JSON-serialisable value. A ``str`` result is sent to the model as it is, anything else as JSON.
``print`` output goes to a log (kept, truncated), not to the result. Only the standard library is
guaranteed (the child runs the server's interpreter with ``-I``: no site customisation, no env).

Each call gets: a throw-away working directory, an empty environment, CPU time, address space,
file size (output), process count and wall-clock limits. Where bubblewrap works it adds network,
PID, IPC and UTS namespaces and a read-only view of only the interpreter and system libraries;
when the server runs as root the child also drops to uid/gid 65534 inside the sandbox, because the
kernel ignores ``RLIMIT_NPROC`` for root. Without bubblewrap only the resource limits and the empty
environment hold: the code can still open network connections and read what the server user can,
and a root server's child could even raise its own limits (only the wall clock, enforced by the
server killing the process group, still holds then). The tests pin down each of these.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

ENABLE_ENV = "PLAYGROUND_ALLOW_TOOL_CODE"
NOBODY = 65534
TRUNCATION_MARK = "\n…[truncated: the output exceeded {limit:,} bytes]"

# The child's entry point. It limits itself first (argv: CPU s, address space bytes, file size bytes,
# processes; soft = hard, so the tool cannot raise them back): the limits are not set in a
# preexec_fn, which is unsafe in a threaded server like Streamlit's. Exit codes: 0 result on stdout,
# 1 the tool raised, 2 contract broken, 3 out of memory. Prints from the tool go to stderr (the log).
_RUNNER = r"""
import resource, sys
cpu_s, address_space, file_size, processes = (int(value) for value in sys.argv[1:5])
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
import json, traceback
result_stream, sys.stdout = sys.stdout, sys.stderr
try:
    arguments = json.load(sys.stdin)
    namespace = {"__name__": "tool"}
    with open("tool.py", encoding="utf-8") as source:
        exec(compile(source.read(), "tool.py", "exec"), namespace)
    run = namespace.get("run")
    if not callable(run):
        print("CONTRACT: the code must define a function run(arguments).")
        sys.exit(2)
    result = run(arguments)
    try:
        text = result if isinstance(result, str) else json.dumps(result)
    except (TypeError, ValueError) as error:
        print(f"CONTRACT: run() returned a value that is not JSON-serialisable ({error}).")
        sys.exit(2)
except MemoryError:
    sys.exit(3)
except SystemExit:
    raise
except BaseException:
    traceback.print_exc()
    sys.exit(1)
result_stream.write(text)
result_stream.flush()
"""


class Isolation(StrEnum):
    """Which isolation a code call runs under; :attr:`sentence` is what the UI shows."""

    DISABLED = "disabled"
    BUBBLEWRAP = "bubblewrap"
    RLIMITS = "rlimits"

    @property
    def sentence(self) -> str:
        return {
            Isolation.DISABLED: f"Python tools are off (the server enables them with {ENABLE_ENV}=1).",
            Isolation.BUBBLEWRAP: "bubblewrap namespaces + resource limits",
            Isolation.RLIMITS: "resource limits only: accident isolation, not a security boundary",
        }[self]


class CodeLimits(BaseModel):
    """Per-call limits. ``output_bytes`` caps the result and the log separately."""

    cpu_s: int = 2
    wall_s: float = 5.0
    memory_mb: int = 256
    output_bytes: int = 64_000
    processes: int = 16


class CodeStatus(StrEnum):
    OK = "ok"
    ERROR = "error"  # the code raised, or broke the contract
    TIMEOUT = "timeout"  # wall clock
    CPU_LIMIT = "cpu_limit"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"  # the result was cut at output_bytes
    KILLED = "killed"  # another signal
    DISABLED = "disabled"


class CodeOutcome(BaseModel):
    """What one call produced. ``content`` is what the model gets (also on failure: a sentence)."""

    status: CodeStatus
    content: str
    log: str = ""
    duration_s: float = 0.0
    isolation: Isolation
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.status is CodeStatus.OK


def code_enabled() -> bool:
    return os.environ.get(ENABLE_ENV) == "1"


def _interpreter() -> Path:
    # The venv's python is a symlink; inside bubblewrap only the real interpreter's prefix is mounted.
    return Path(os.path.realpath(sys.executable))


def _bwrap_command(workdir: Path, limits: CodeLimits) -> list[str]:
    interpreter = _interpreter()
    prefix = Path(sys.base_prefix)
    command = ["bwrap", "--die-with-parent", "--new-session", "--clearenv"]
    command += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        command.append("--unshare-user")
    command += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin"):
        target = Path("/") / name
        if target.is_symlink():
            command += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            command += ["--ro-bind", str(target), str(target)]
    if not str(prefix).startswith("/usr/"):
        command += ["--ro-bind", str(prefix), str(prefix)]
    command += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    command += ["--bind", str(workdir), "/sandbox", "--chdir", "/sandbox", "--"]
    if os.geteuid() == 0:
        command += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all"]
    return [*command, str(interpreter), "-I", *_runner_arguments(limits)]


@cache
def _bwrap_works() -> bool:
    if shutil.which("bwrap") is None or (os.geteuid() == 0 and shutil.which("setpriv") is None):
        return False
    with tempfile.TemporaryDirectory(prefix="toolcode-probe-") as directory:
        command = [*_bwrap_command(Path(directory), CodeLimits())[:-5], "-c", "pass"]
        try:
            return subprocess.run(command, capture_output=True, timeout=10, env={}).returncode == 0
        except (OSError, subprocess.SubprocessError):
            return False


def detect_isolation() -> Isolation:
    """The isolation a call would run under now (bubblewrap is probed once per process)."""
    if not code_enabled():
        return Isolation.DISABLED
    return Isolation.BUBBLEWRAP if _bwrap_works() else Isolation.RLIMITS


def _runner_arguments(limits: CodeLimits) -> list[str]:
    # One byte over the output cap, so a cut result is told apart from one that just fits.
    values = (limits.cpu_s, limits.memory_mb * 1024 * 1024, limits.output_bytes + 1, limits.processes)
    return ["_runner.py", *(str(value) for value in values)]


def _read_capped(path: Path, limit: int) -> tuple[str, bool]:
    with path.open("rb") as stream:
        data = stream.read(limit + 1)
    return data[:limit].decode("utf-8", errors="replace"), len(data) > limit


def run_tool_code(
    code: str,
    arguments: dict[str, Any],
    limits: CodeLimits | None = None,
    *,
    isolation: Isolation | None = None,
) -> CodeOutcome:
    """Run ``code``'s ``run(arguments)`` in a fresh limited process; never raises for the code's faults.

    ``isolation`` forces a mode (tests); by default :func:`detect_isolation` decides.
    """
    limits = limits or CodeLimits()
    mode = isolation or detect_isolation()
    if mode is Isolation.DISABLED:
        return CodeOutcome(status=CodeStatus.DISABLED, content=mode.sentence, isolation=mode)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="toolcode-") as directory:
        root = Path(directory)
        workdir = root / "work"
        workdir.mkdir()
        (workdir / "tool.py").write_text(code, encoding="utf-8")
        (workdir / "_runner.py").write_text(_RUNNER, encoding="utf-8")
        (root / "arguments.json").write_text(json.dumps(arguments), encoding="utf-8")
        if mode is Isolation.BUBBLEWRAP:
            command = _bwrap_command(workdir, limits)
            if os.geteuid() == 0:
                os.chmod(workdir, 0o777)  # the child runs as nobody and may write scratch files
        else:
            command = [str(_interpreter()), "-I", *_runner_arguments(limits)]
        result_path, log_path = root / "result.out", root / "log.out"
        with (
            (root / "arguments.json").open("rb") as stdin,
            result_path.open("wb") as stdout,
            log_path.open("wb") as stderr,
        ):
            process = subprocess.Popen(
                command,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                cwd=workdir,
                env={},
                start_new_session=True,
            )
            try:
                returncode: int | None = process.wait(timeout=limits.wall_s)
            except subprocess.TimeoutExpired:
                returncode = None
            finally:
                # The whole group goes: helpers the code spawned, or bubblewrap and its namespace.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        duration = time.perf_counter() - started
        if mode is Isolation.BUBBLEWRAP and returncode is not None and returncode > 128:
            returncode = 128 - returncode  # bubblewrap reports a child killed by signal N as 128 + N
        result, truncated = _read_capped(result_path, limits.output_bytes)
        log, _ = _read_capped(log_path, limits.output_bytes)
    status, content = _judge(returncode, result, truncated, log, limits)
    return CodeOutcome(
        status=status, content=content, log=log, duration_s=duration, isolation=mode, truncated=truncated
    )


def _judge(
    returncode: int | None, result: str, truncated: bool, log: str, limits: CodeLimits
) -> tuple[CodeStatus, str]:
    if truncated:
        return CodeStatus.OUTPUT_LIMIT, result + TRUNCATION_MARK.format(limit=limits.output_bytes)
    if returncode is None:
        return CodeStatus.TIMEOUT, f"Error: the tool code did not finish within {limits.wall_s:g} s and was stopped."
    if returncode == 0:
        return CodeStatus.OK, result
    if returncode == 3 or returncode == -signal.SIGSEGV:
        return CodeStatus.MEMORY_LIMIT, f"Error: the tool code ran out of its {limits.memory_mb} MB memory limit."
    if returncode == -signal.SIGXCPU or returncode == -signal.SIGKILL:
        return CodeStatus.CPU_LIMIT, f"Error: the tool code used up its {limits.cpu_s} s of CPU time and was stopped."
    if returncode == -signal.SIGXFSZ:
        return CodeStatus.OUTPUT_LIMIT, result + TRUNCATION_MARK.format(limit=limits.output_bytes)
    if returncode in (1, 2):
        lines = [line for line in log.strip().splitlines() if line.strip()]
        last = lines[-1].removeprefix("CONTRACT: ") if lines else "no details"
        return CodeStatus.ERROR, f"Error: the tool code failed: {last}"
    return CodeStatus.KILLED, f"Error: the tool code was stopped (exit status {returncode})."
