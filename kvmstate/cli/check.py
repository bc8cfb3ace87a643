"""`validate`'s work, and its plain form run without typer.

`kvmstate validate` and `kvmstate validate PATH` are the most frequent quick commands,
and typer's import and command building are about a sixth of their cold start. So
`kvmstate.entry` runs exactly these two forms here; a command line with any option
(`--var`, `--color`, `--help`, ...) goes through typer, whose `validate` calls the same
`check`. Nothing here imports typer.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from kvmstate.config.inputs import Inputs


def plain_validate(args: list[str]) -> Path | None:
    """The path of a command line that is `validate` or `validate PATH`; None for any other."""
    if args[:1] != ["validate"] or len(args) > 2 or any(arg.startswith("-") for arg in args[1:]):
        return None
    return Path(args[1] if len(args) == 2 else ".")


def check(path: Path, inputs: Optional[Inputs] = None, color: Optional[bool] = None) -> int:
    """Load and validate the files: print the verdict, or every problem to stderr; the exit code."""
    from kvmstate.cli.workspace import Workspace
    from kvmstate.diagnostics import DiagnosticError
    try:
        config = Workspace.open(path, inputs=inputs).load()
    except DiagnosticError as exc:
        report(exc, color)
        return 1
    print(f"Success! The configuration is valid ({len(config.resources)} resources in {len(config.files)} files).")
    return 0


def report(exc: Exception, color: Optional[bool] = None) -> None:
    """Print an error to stderr: every diagnostic with its snippet, or the exception's message."""
    from kvmstate.diagnostics import DiagnosticError, format_diagnostic
    from kvmstate.render.style import Style, use_color
    colored = use_color(sys.stderr, color)
    if isinstance(exc, DiagnosticError):
        for d in exc.diagnostics:
            sys.stderr.write(format_diagnostic(d, colored) + "\n")
    else:
        sys.stderr.write(Style(colored)("Error: ", "red", "bold") + str(exc) + "\n")
