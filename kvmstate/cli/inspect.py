"""show and output: what the state, or a saved plan, holds."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from kvmstate.cli.app import ColorOpt, StateOpt, app, fail


@app.command()
def show(path: Path = typer.Argument(Path("."), help="Configuration file or folder (its state is shown), or a "
                                     "saved plan."),
         state: Optional[Path] = StateOpt,
         json_out: bool = typer.Option(False, "--json", help="Print the state file's (or saved plan's) JSON."),
         color: Optional[bool] = ColorOpt) -> None:
    """Print the resources recorded in the state, or a saved plan.

    Examples:

      kvmstate show examples/basic

      kvmstate show --json plan.bin
    """
    from kvmstate.cli.workspace import Workspace
    from kvmstate.diagnostics import DiagnosticError
    from kvmstate.plan import planfile
    from kvmstate.render.formats import Format, render
    from kvmstate.render.style import Style, use_color
    from kvmstate.render.text import render_state
    style = Style(use_color(sys.stdout, color))
    try:
        if planfile.is_plan_file(path):
            print(render(planfile.load(path), Format.json if json_out else Format.text, style), end="")
            return
        ws = Workspace.open(path, state)
        current = ws.store.read()
    except DiagnosticError as exc:
        fail(exc, color)
    if current is None:
        print(f"No state at {ws.state_path}.")
        return
    print(current.model_dump_json(indent=2) if json_out else render_state(current, style))


@app.command()
def output(name: Optional[str] = typer.Argument(None, help="One output's name; all of them when omitted."),
           path: Path = typer.Option(Path("."), "--path", help="The configuration file or folder (locates the state)."),
           state: Optional[Path] = StateOpt,
           json_out: bool = typer.Option(False, "--json", help="Print JSON: {NAME: {value, sensitive}}, or one value."),
           show_sensitive: bool = typer.Option(False, "--show-sensitive", help="Print sensitive values instead of "
                                               "masking them."),
           color: Optional[bool] = ColorOpt) -> None:
    """Print the outputs recorded in the state at the last apply; sensitive ones are masked unless --show-sensitive.

    Example: kvmstate output --path examples/lab-vars --json
    """
    from kvmstate.cli.workspace import Workspace
    from kvmstate.diagnostics import DiagnosticError, error
    from kvmstate.render.outputs import render_outputs
    ws = Workspace.open(path, state)
    try:
        current = ws.store.read()
        outputs = current.outputs if current else {}
        if name is not None and name not in outputs:
            raise error("No such output", f"The state at {ws.state_path} has no output {name!r}; it has: "
                        f"{', '.join(sorted(outputs)) or 'none'}. Outputs are recorded by apply.")
        print(render_outputs(outputs, name, json_out, show_sensitive), end="")
    except DiagnosticError as exc:
        fail(exc, color)
