"""The command line: thin typer commands that parse options, call the engine and print.

    app.py        the typer application, the options every command shares, error printing
    workspace.py  one command's pieces: configuration path, state store, providers
    files.py      validate, fmt, graph: commands that read only the files
    run.py        plan, apply, destroy; progress.py prints their progress lines
    inspect.py    show, output: what the state or a saved plan holds
    state.py      state list/show/rm/mv/recover, import, force-unlock
    backend.py    workspaces, state history/pull/push/migrate/rekey: where the state lives
    doctor.py     doctor: can this host run the domains
    check.py      validate's work and error printing, without typer: `kvmstate.entry` runs
                  `validate [PATH]` through it alone

Each command module registers its commands on `app` when imported. `main` imports
only the module of the command named on the command line (all of them for help,
completion or an unknown name), so typer builds one module's commands, not all;
the engine is imported inside the commands, so a command loads only what it uses.
`application()` is the app with every command, for tests and embedding.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

# top-level command (or group) -> the modules that register it
MODULES: dict[str, tuple[str, ...]] = {
    "validate": ("files",), "fmt": ("files",), "graph": ("files",),
    "plan": ("run",), "apply": ("run",), "destroy": ("run",),
    "show": ("inspect",), "output": ("inspect",),
    "import": ("state",), "force-unlock": ("state",), "state": ("state", "backend"),
    "workspace": ("backend",),
    "doctor": ("doctor",),
}
ALL = tuple(sorted({module for modules in MODULES.values() for module in modules}))
GLOBAL_VALUE_OPTIONS = ("--backend", "--workspace")     # the app's options that take a value (kvmstate.cli.app)


def command_name(args: list[str]) -> str | None:
    """The command named on a command line (arguments without the program), past the global options."""
    rest = iter(args)
    for arg in rest:
        if arg in GLOBAL_VALUE_OPTIONS:
            next(rest, None)
        elif not arg.startswith("-"):
            return arg
    return None


def application(command: str | None = None) -> typer.Typer:
    """The typer app with `command`'s commands registered, or every command for None or an unknown name."""
    for module in MODULES.get(command or "", ALL):
        importlib.import_module(f"kvmstate.cli.{module}")
    from kvmstate.cli.app import app
    return app


def main() -> None:
    from kvmstate.diagnostics import DiagnosticError
    app = application(command_name(sys.argv[1:]))
    try:
        app()
    except DiagnosticError as exc:             # raised before a command's own handling, e.g. choosing the backend
        from kvmstate.cli.check import report
        report(exc)
        sys.exit(1)
