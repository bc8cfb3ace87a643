"""The command line: a thin layer that parses options, calls the engine and prints.

Exit codes: 0 success (no changes, with --detailed-exitcode), 1 error, 2 changes
present (with --detailed-exitcode).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from kvmstate import __version__
from kvmstate.apply import Event, apply_plan
from kvmstate.diagnostics import DiagnosticError, format_diagnostic
from kvmstate.plan import Action
from kvmstate.provider import ProviderError
from kvmstate.render.style import Style, use_color
from kvmstate.render.text import render_plan, render_state, summary_line
from kvmstate.workspace import Workspace

app = typer.Typer(help="Declarative desired state for KVM hosts: plan and apply libvirt topologies.",
                  no_args_is_help=True, add_completion=True, pretty_exceptions_enable=False)
state_app = typer.Typer(help="Inspect the state file.", no_args_is_help=True)
app.add_typer(state_app, name="state")

PathArg = typer.Argument(Path("."), help="A desired-state file, or a folder of *.yaml, *.yml and *.hcl files.")
StateOpt = typer.Option(None, "--state", help="State file. Default: kvmstate.state.json beside the configuration.")
UriOpt = typer.Option(None, "--uri", help="libvirt URI. Default: $LIBVIRT_DEFAULT_URI, then qemu:///system.")
ColorOpt = typer.Option(None, "--color/--no-color", help="Colour the output. Default: on for a terminal, off with NO_COLOR.")
ApproveOpt = typer.Option(False, "--auto-approve", help="Skip the confirmation prompt.")
TimeoutOpt = typer.Option(60, "--shutdown-timeout", help="Seconds to wait for a guest to shut down before forcing it off.")
ParallelismOpt = typer.Option(10, "--parallelism", min=1, help="How many independent actions to run at once.")


def _fail(exc: Exception, color: bool) -> None:
    if isinstance(exc, DiagnosticError):
        for d in exc.diagnostics:
            sys.stderr.write(format_diagnostic(d, color) + "\n")
    else:
        sys.stderr.write(Style(color)("Error: ", "red", "bold") + str(exc) + "\n")
    raise typer.Exit(1)


def _version(value: bool) -> None:
    if value:
        print(f"kvmstate {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    pass


@app.command()
def validate(path: Path = PathArg, color: Optional[bool] = ColorOpt) -> None:
    """Check the configuration files without contacting libvirt.

    Example: kvmstate validate examples/basic
    """
    colored = use_color(sys.stderr, color)
    try:
        config = Workspace.open(path).load()
    except DiagnosticError as exc:
        _fail(exc, colored)
    print(f"Success! The configuration is valid ({len(config.resources)} resources in {len(config.files)} files).")


@app.command()
def plan(path: Path = PathArg, state: Optional[Path] = StateOpt, uri: Optional[str] = UriOpt,
         json_out: bool = typer.Option(False, "--json", help="Print the plan as JSON (schemas/plan.schema.json)."),
         detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode",
                                                help="Exit 0 with no changes, 1 on error, 2 with changes."),
         color: Optional[bool] = ColorOpt) -> None:
    """Show what apply would change, without changing anything.

    Example: kvmstate plan examples/basic --detailed-exitcode
    """
    colored = use_color(sys.stdout, color)
    ws = Workspace.open(path, state, uri)
    try:
        with ws.store.lock("plan"):
            ws.connect_ahead()
            the_plan = ws.plan(ws.load(), ws.read_state())
    except (DiagnosticError, ProviderError) as exc:
        _fail(exc, colored)
    finally:
        ws.close()
    print(the_plan.model_dump_json(indent=2) if json_out else render_plan(the_plan, Style(colored)), end="\n" if json_out else "")
    if detailed_exitcode and the_plan.has_changes:
        raise typer.Exit(2)


@app.command()
def apply(path: Path = PathArg, state: Optional[Path] = StateOpt, uri: Optional[str] = UriOpt,
          auto_approve: bool = ApproveOpt, shutdown_timeout: int = TimeoutOpt,
          parallelism: int = ParallelismOpt, color: Optional[bool] = ColorOpt) -> None:
    """Plan, ask for confirmation, then make the live objects match the configuration.

    Example: kvmstate apply examples/basic --auto-approve
    """
    _run(path, state, uri, auto_approve, shutdown_timeout, parallelism, color, destroy=False)


@app.command()
def destroy(path: Path = PathArg, state: Optional[Path] = StateOpt, uri: Optional[str] = UriOpt,
            auto_approve: bool = ApproveOpt, shutdown_timeout: int = TimeoutOpt,
            parallelism: int = ParallelismOpt, color: Optional[bool] = ColorOpt) -> None:
    """Delete everything recorded in the state, dependents first.

    Example: kvmstate destroy examples/basic --auto-approve
    """
    _run(path, state, uri, auto_approve, shutdown_timeout, parallelism, color, destroy=True)


def _run(path: Path, state_file: Optional[Path], uri: Optional[str], auto_approve: bool, shutdown_timeout: int,
         parallelism: int, color: Optional[bool], destroy: bool) -> None:
    colored = use_color(sys.stdout, color)
    style = Style(colored)
    ws = Workspace.open(path, state_file, uri, shutdown_timeout=shutdown_timeout)
    try:
        with ws.store.lock("destroy" if destroy else "apply"):
            ws.connect_ahead()
            config = ws.empty_config() if destroy else ws.load()
            state = ws.read_state()
            the_plan = ws.plan(config, state, destroy)
            print(render_plan(the_plan, style), end="")
            if not the_plan.has_changes and not the_plan.drift:
                return
            if the_plan.has_changes and not auto_approve and not _confirm(destroy):
                print("Cancelled: nothing was changed.")
                raise typer.Exit(1)
            outcome = apply_plan(the_plan, config, state, ws.store, ws.registry, lambda e: _progress(e, style),
                                  parallelism)
            if not outcome.ok:
                for address, message in outcome.failed.items():
                    sys.stderr.write(style("Error: ", "red", "bold") + f"{address}: {message}\n")
                sys.stderr.write(f"{len(outcome.done)} actions completed and recorded in {ws.state_path}; "
                                 f"{len(outcome.failed)} failed, {len(outcome.skipped)} skipped. "
                                 "Run `kvmstate plan` to see what is left.\n")
                raise typer.Exit(1)
            verb = "Destroy" if destroy else "Apply"
            print(style(f"\n{verb} complete! ", "bold", "green") + summary_line(the_plan, done=True))
    except (DiagnosticError, ProviderError) as exc:
        _fail(exc, colored)
    finally:
        ws.close()


def _confirm(destroy: bool) -> bool:
    if not sys.stdin.isatty():
        sys.stderr.write("Error: no terminal to confirm on; run with --auto-approve to apply without confirmation.\n")
        raise typer.Exit(1)
    what = "destroy all resources in the state" if destroy else "perform these actions"
    answer = input(f"Do you want to {what}? Only 'yes' will be accepted: ")
    return answer.strip() == "yes"


_VERBS = {Action.CREATE: ("Creating", "Creation"), Action.UPDATE: ("Updating", "Update"),
          Action.RESTART: ("Updating and restarting", "Restart"), Action.REPLACE: ("Replacing", "Replacement"),
          Action.DELETE: ("Destroying", "Destruction")}


def _progress(event: Event, style: Style) -> None:
    c = event.change
    if event.phase == "start":
        print(f"{style(c.address, 'bold')}: {_VERBS[c.action][0]}...", flush=True)
    elif event.phase == "done":
        print(f"{style(c.address, 'bold')}: {_VERBS[c.action][1]} complete after {event.elapsed:.1f}s", flush=True)
    elif event.phase == "failed":
        print(f"{style(c.address, 'bold')}: {style('failed', 'red')} after {event.elapsed:.1f}s", flush=True)
    else:
        print(f"{style(c.address, 'bold')}: skipped because {event.message}", flush=True)


@app.command()
def show(path: Path = PathArg, state: Optional[Path] = StateOpt,
         json_out: bool = typer.Option(False, "--json", help="Print the state file's JSON."),
         color: Optional[bool] = ColorOpt) -> None:
    """Print the resources recorded in the state."""
    ws = Workspace.open(path, state)
    try:
        current = ws.store.read()
    except DiagnosticError as exc:
        _fail(exc, use_color(sys.stderr, color))
    if current is None:
        print(f"No state at {ws.state_path}.")
        return
    print(current.model_dump_json(indent=2) if json_out else render_state(current, Style(use_color(sys.stdout, color))))


@state_app.command("list")
def state_list(path: Path = PathArg, state: Optional[Path] = StateOpt) -> None:
    """List the addresses recorded in the state."""
    ws = Workspace.open(path, state)
    try:
        current = ws.store.read()
    except DiagnosticError as exc:
        _fail(exc, use_color(sys.stderr))
    for r in current.resources if current else []:
        print(r.address)


def main() -> None:
    app()
