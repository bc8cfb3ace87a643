"""The command line: thin typer commands that parse options, call the engine and print.

    app.py        the typer application, the options every command shares, error printing
    workspace.py  one command's pieces: configuration path, state store, providers
    files.py      validate, fmt, graph: commands that read only the files
    run.py        plan, apply, destroy; progress.py prints their progress lines
    inspect.py    show, output: what the state or a saved plan holds
    state.py      state list/show/rm/mv/recover, import, force-unlock
    backend.py    workspaces, state history/pull/push/migrate/rekey: where the state lives
    doctor.py     doctor: can this host run the domains

Each command module registers its commands on `app`; the engine is imported inside
the commands, so a command loads only what it uses.
"""

from __future__ import annotations

from kvmstate.cli.app import app
from kvmstate.cli import backend, doctor, files, inspect, run, state  # noqa: E402,F401  (register their commands)


def main() -> None:
    import sys

    from kvmstate.diagnostics import DiagnosticError
    try:
        app()
    except DiagnosticError as exc:             # raised before a command's own handling, e.g. choosing the backend
        from kvmstate.cli.app import report
        report(exc)
        sys.exit(1)
