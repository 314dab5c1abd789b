"""The playground's command line, for teams who keep sessions and prompts in git.

    python -m playground sessions list
    python -m playground export SESSION_ID [-o FILE] [--format json|yaml] [--images inline|omit]
    python -m playground import FILE
    python -m playground prompts list
    python -m playground prompts diff NAME V1 V2
    python -m playground code SESSION_ID --lang python|python-azure|js|curl
    python -m playground schema [-o docs/session-format.schema.json]

The database comes from ``--database`` or ``PLAYGROUND_DATABASE_URL`` (default data/playground.db).
Any failure exits non-zero with a one-line reason.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from playground.errors import ErrorKind, PlaygroundError
from playground.providers import provider_for
from playground.snippets import curl_snippet, javascript_snippet, python_snippet
from playground.store import Store, export_session, import_file, open_store
from playground.store.files import FileFormat, format_json_schema_text
from playground.workspace import Workspace

LANGUAGES = ("python", "python-azure", "js", "curl")


def view_code(workspace: Workspace, lang: str) -> str:
    """The code that sends the request the session's next reply would be asked with (the same text
    as the app's "View code"; the key is read from an environment variable)."""
    request = workspace.build_request()
    provider = provider_for(workspace.connection)
    if lang == "python-azure" and not provider.is_azure:
        raise PlaygroundError.invalid_input(
            f"This session uses {provider.label}, not Azure OpenAI: use --lang python for its code."
        )
    render = {"python": python_snippet, "python-azure": python_snippet, "js": javascript_snippet, "curl": curl_snippet}
    return render[lang](request, provider)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m playground", description="Saved sessions and prompts.")
    parser.add_argument("--database", help="database URL (default: $PLAYGROUND_DATABASE_URL or data/playground.db)")
    commands = parser.add_subparsers(dest="command", required=True)

    sessions = commands.add_parser("sessions", help="saved sessions").add_subparsers(dest="action", required=True)
    sessions.add_parser("list", help="list saved sessions, newest first")

    export = commands.add_parser("export", help="write a session as a JSON or YAML file")
    export.add_argument("session_id")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    export.add_argument("--format", choices=("json", "yaml"), help="default: from the file name, else json")
    export.add_argument("--images", choices=("inline", "omit"), default="inline")

    importing = commands.add_parser("import", help="create a session from a session or prompt file")
    importing.add_argument("file")

    prompts = commands.add_parser("prompts", help="the prompt library").add_subparsers(dest="action", required=True)
    prompts.add_parser("list", help="list prompts with their latest version, tags and labels")
    diff = prompts.add_parser("diff", help="show what changed between two versions of a prompt")
    diff.add_argument("name")
    diff.add_argument("old", type=int)
    diff.add_argument("new", type=int)

    schema = commands.add_parser("schema", help="print the JSON Schema of session and prompt files")
    schema.add_argument("-o", "--output", help="file to write (default: standard output)")

    code = commands.add_parser("code", help="print code that sends the session's next request")
    code.add_argument("session_id")
    code.add_argument("--lang", choices=LANGUAGES, default="python")
    return parser


def _run(args: argparse.Namespace, store: Store) -> str:
    if args.command == "sessions":
        rows = [
            f"{s.id}  {s.updated_at:%Y-%m-%d %H:%M}  {s.message_count:>4} msgs  {s.title or '(untitled)'}"
            for s in store.sessions.list_all()
        ]
        return "\n".join(rows) if rows else "No saved sessions."
    if args.command == "export":
        file_format: FileFormat = args.format or (
            "yaml" if str(args.output or "").endswith((".yaml", ".yml")) else "json"
        )
        text = export_session(store.sessions, args.session_id, file_format, args.images)
        if args.output is None:
            return text.rstrip("\n")
        Path(args.output).write_text(text, encoding="utf-8")
        return f"Wrote {args.output}"
    if args.command == "import":
        result = import_file(store.sessions, Path(args.file).read_text(encoding="utf-8"))
        note = (
            f" ({result.missing_images} image(s) were not in the file and are left out)"
            if result.missing_images
            else ""
        )
        return f"Imported {args.file}{note} as session {result.session_id}"
    if args.command == "prompts" and args.action == "list":
        rows = []
        for prompt in store.prompts.list_all():
            labels = ", ".join(f"{label}=v{version}" for label, version in sorted(prompt.labels.items()))
            extras = "  ".join(part for part in (", ".join(prompt.tags), labels) if part)
            rows.append(
                f"{prompt.name}  v{prompt.latest_version}  {prompt.updated_at:%Y-%m-%d %H:%M}  {extras}".rstrip()
            )
        return "\n".join(rows) if rows else "No saved prompts."
    if args.command == "prompts" and args.action == "diff":
        return store.prompts.diff(args.name, args.old, args.new).as_text().rstrip("\n")
    if args.command == "code":
        return view_code(store.sessions.load(args.session_id), args.lang).rstrip("\n")
    raise PlaygroundError.invalid_input(f"Unknown command {args.command!r}.")  # argparse prevents this


def _write_schema(output: str | None) -> int:
    text = format_json_schema_text()
    if output is None:
        print(text, end="")
    else:
        Path(output).write_text(text, encoding="utf-8")
        print(f"Wrote {output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    store: Store | None = None
    try:
        if args.command == "schema":  # needs no database
            return _write_schema(args.output)
        store = open_store(args.database)
        print(_run(args, store))
        return 0
    except PlaygroundError as exc:
        reason = str(exc)
    except UnicodeDecodeError:
        reason = "The file is not UTF-8 text."
    except OSError as exc:
        reason = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        reason = str(PlaygroundError(ErrorKind.SERVER, f"Unexpected {type(exc).__name__}: {exc}"))
    finally:
        if store is not None:
            store.close()
    print(f"error: {' '.join(reason.split())}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
