"""``python -m playground`` run as a team would run it: in a subprocess, against a real database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from playground.store import open_store, session_document_from_workspace
from playground.workspace import Workspace
from tests.store_data import SECRET_KEY, rich_workspace

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, database: str | None = None, env_database: str | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}
    if env_database:
        env["PLAYGROUND_DATABASE_URL"] = env_database
    command = [sys.executable, "-m", "playground", *(["--database", database] if database else []), *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def saved(tmp_path):
    """A SQLite database with a session and a two-version prompt (the store itself is tested on
    PostgreSQL too; the command line is the same code on both)."""
    database_url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(database_url)
    workspace = rich_workspace()
    session_id = store.sessions.create(workspace, title="Support chat")
    store.prompts.save("support", session_document_from_workspace(workspace), "first")
    workspace.system_prompt = "Be brief."
    workspace.params.temperature = 0.8
    store.prompts.save("support", session_document_from_workspace(workspace), "brief")
    store.prompts.set_label("support", "production", 2)
    store.close()
    return database_url, session_id


def test_sessions_list_export_import_round_trip(saved, tmp_path):
    database, session_id = saved
    listed = run_cli("sessions", "list", env_database=database)
    assert listed.returncode == 0 and session_id in listed.stdout and "Support chat" in listed.stdout
    target = tmp_path / "session.yaml"
    exported = run_cli("export", session_id, "-o", str(target), database=database)
    assert exported.returncode == 0, exported.stderr
    assert target.read_text().startswith("exported_at: null\nformat: gpt41mini-playground/session\n")
    assert SECRET_KEY not in target.read_text()
    imported = run_cli("import", str(target), database=database)
    assert imported.returncode == 0, imported.stderr
    new_id = imported.stdout.split()[-1]
    store = open_store(database)
    assert store.sessions.load_document(new_id).messages == store.sessions.load_document(session_id).messages
    store.close()
    stdout_export = run_cli("export", session_id, "--format", "json", "--images", "omit", database=database)
    assert json.loads(stdout_export.stdout)["session"]["title"] == "Support chat"


def test_prompts_list_and_diff(saved):
    database, _ = saved
    listed = run_cli("prompts", "list", database=database)
    assert listed.returncode == 0 and "support  v2" in listed.stdout and "production=v2" in listed.stdout
    diff = run_cli("prompts", "diff", "support", "1", "2", database=database)
    assert diff.returncode == 0
    assert "+Be brief." in diff.stdout and "params.temperature: 0.3 -> 0.8" in diff.stdout


def test_code_prints_the_next_request_without_the_key(saved):
    database, session_id = saved
    store = open_store(database)
    store.sessions.save(session_id, Workspace(system_prompt="Hi there"))
    store.close()
    python = run_cli("code", session_id, "--lang", "python", database=database)
    assert python.returncode == 0, python.stderr
    assert "client.chat.completions.create(" in python.stdout and "Hi there" in python.stdout
    curl = run_cli("code", session_id, "--lang", "curl", database=database)
    assert curl.returncode == 0 and curl.stdout.startswith("curl ")
    azure = run_cli("code", session_id, "--lang", "python-azure", database=database)
    assert azure.returncode == 1 and "--lang python" in azure.stderr


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("export", "no-such-session"), "no saved session"),
        (("prompts", "diff", "support", "1", "9"), "no version 9"),
        (("prompts", "diff", "nothing", "1", "2"), "no prompt named"),
        (("import", "/nonexistent/file.json"), "No such file"),
    ],
)
def test_failures_exit_non_zero_with_one_line_and_no_traceback(saved, args, reason):
    database, _ = saved
    result = run_cli(*args, database=database)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and reason in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_file_is_refused_with_its_reason(saved, tmp_path):
    database, _ = saved
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"format": "gpt41mini-playground/session", "format_version": 1, "session": {"messages": [{"id": "a"}]}}'
    )
    result = run_cli("import", str(bad), database=database)
    assert result.returncode == 1 and "session.messages[0].role: Field required" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_from_a_newer_playground_is_refused(tmp_path):
    import sqlite3

    path = tmp_path / "newer.db"
    with sqlite3.connect(path) as connection:
        connection.execute("create table alembic_version (version_num varchar(32) primary key)")
        connection.execute("insert into alembic_version values ('9999')")
    result = run_cli("sessions", "list", env_database=f"sqlite:///{path}")
    assert result.returncode == 1 and "newer version of the playground" in result.stderr


def test_the_schema_command_prints_the_published_schema():
    result = run_cli("schema")
    assert result.returncode == 0 and result.stdout == (ROOT / "docs" / "session-format.schema.json").read_text()
