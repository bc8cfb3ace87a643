"""Commands that read only the configuration files: validate, fmt, graph."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from kvmstate.cli.app import ColorOpt, PathArg, VarFileOpt, VarOpt, app, fail, inputs

FMT_CHANGES = 3


@app.command()
def validate(path: Path = PathArg, var: Optional[list[str]] = VarOpt, var_file: Optional[list[Path]] = VarFileOpt,
             color: Optional[bool] = ColorOpt) -> None:
    """Check the configuration files without contacting libvirt.

    Example: kvmstate validate examples/basic
    """
    from kvmstate.cli.check import check
    code = check(path, inputs(var, var_file), color)
    if code:
        raise typer.Exit(code)


@app.command()
def fmt(path: Path = PathArg,
        check: bool = typer.Option(False, "--check", help="Write nothing; list the files that would change and exit 3 "
                                   "if there are any."),
        color: Optional[bool] = ColorOpt) -> None:
    """Rewrite HCL and YAML files in the canonical layout, keeping comments; prints each file it changes.

    Example: kvmstate fmt examples/ --check
    """
    from kvmstate.config.fmt import format_text
    from kvmstate.config.loader import is_configuration
    from kvmstate.diagnostics import DiagnosticError
    files = sorted(p for p in path.rglob("*") if p.is_file() and is_configuration(p) and not any(
        part.startswith(".") for part in p.relative_to(path).parts)) if path.is_dir() else [path]
    changed = []
    try:
        for file in files:
            text = file.read_text(encoding="utf-8")
            new = format_text(str(file), text)
            if new != text:
                changed.append(file)
                if not check:
                    file.write_text(new, encoding="utf-8")
    except (DiagnosticError, OSError, UnicodeDecodeError) as exc:
        fail(exc, color)
    for file in changed:
        print(file)
    if check and changed:
        raise typer.Exit(FMT_CHANGES)


class GraphFormat(str, Enum):
    dot = "dot"
    svg = "svg"


@app.command()
def graph(path: Path = PathArg,
          fmt: GraphFormat = typer.Option(GraphFormat.dot, "--format", help="dot (text) or svg (through Graphviz).")
          ) -> None:
    """Print the dependency graph: an arrow from each resource to what it needs.

    Examples:

      kvmstate graph examples/basic

      kvmstate graph examples/basic --format svg > graph.svg
    """
    from kvmstate.cli.workspace import Workspace
    from kvmstate.diagnostics import DiagnosticError
    from kvmstate.render.dot import render_dot, render_svg
    try:
        config = Workspace.open(path).load()
        dot = render_dot(config.graph, {str(a): r.host for a, r in config.resources.items()})
        print(render_svg(dot) if fmt == GraphFormat.svg else dot, end="")
    except DiagnosticError as exc:
        fail(exc)
