"""plan, apply and destroy: the commands that read live objects and change them.

Each one opens a workspace, takes the state lock, plans and (for apply and destroy)
confirms and carries out the plan, printing progress as actions start and end.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from kvmstate.cli.app import (
    ApproveOpt, ColorOpt, LockOpt, ParallelismOpt, PathArg, PerHostOpt, RefreshOpt, ReplaceOpt, RevertOpt,
    SkipUnreachableOpt, StateOpt, TargetOpt, TimeoutOpt, UriOpt, VarFileOpt, VarOpt, app, fail, inputs,
)
from kvmstate.render.formats import Format

if TYPE_CHECKING:
    from kvmstate.cli.workspace import Workspace
    from kvmstate.config import Configuration
    from kvmstate.plan.model import Options


@app.command()
def plan(path: Path = PathArg, state: Optional[Path] = StateOpt, uri: Optional[str] = UriOpt,
         var: Optional[list[str]] = VarOpt, var_file: Optional[list[Path]] = VarFileOpt,
         out: Optional[Path] = typer.Option(None, "--out", help="Save the plan to this file for `kvmstate apply FILE`."),
         fmt: Format = typer.Option(Format.text, "--format", help="Output format: text, json or markdown."),
         json_out: bool = typer.Option(False, "--json", help="Shorthand for --format json (schemas/plan.schema.json)."),
         target: Optional[list[str]] = TargetOpt, replace: Optional[list[str]] = ReplaceOpt,
         revert: Optional[list[str]] = RevertOpt,
         refresh_only: bool = RefreshOpt, skip_unreachable: bool = SkipUnreachableOpt,
         destroy: bool = typer.Option(False, "--destroy", help="Plan to delete everything in the state."),
         lock_timeout: float = LockOpt,
         detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode",
                                                help="Exit 0 with no changes, 1 on error, 2 with changes."),
         generate_config_out: Optional[Path] = typer.Option(
             None, "--generate-config-out", help="Write the configuration of the objects import blocks adopt "
             "into this new file (HCL, or YAML for .yaml/.yml) in the configuration folder, then plan with it."),
         color: Optional[bool] = ColorOpt) -> None:
    """Show what apply would change, without changing anything.

    Examples:

      kvmstate plan examples/basic --detailed-exitcode

      kvmstate plan --format markdown --out plan.bin      # a PR comment, and the plan to apply on merge

      kvmstate plan --target domain.web --replace domain.web

      kvmstate plan --generate-config-out=generated.hcl     # after writing import blocks
      kvmstate plan --revert snapshot.before_upgrade
    """
    from kvmstate.cli.workspace import Workspace
    ws = Workspace.open(path, state, uri, inputs=inputs(var, var_file), lock_timeout=lock_timeout)
    ws.connect_ahead()                  # libvirt connects while the loader, the plan and the state backend load
    from kvmstate.diagnostics import DiagnosticError
    from kvmstate.plan import planfile
    from kvmstate.plan.model import Options
    from kvmstate.provider import ProviderError
    from kvmstate.render.formats import render
    from kvmstate.render.style import Style, use_color
    fmt = Format.json if json_out else fmt
    options = Options(destroy=destroy, refresh_only=refresh_only, targets=target or [], replace=replace or [],
                      revert=revert or [], skip_unreachable=skip_unreachable)
    try:
        with ws.store.lock("plan"):
            config = ws.load_for(options)
            if generate_config_out is not None:
                config = _generated(ws, config, options, generate_config_out)
            the_plan = ws.plan(config, ws.read_state(), options)
            the_plan.source = planfile.source(config, str(path), str(ws.state_path))
    except (DiagnosticError, ProviderError) as exc:
        fail(exc, color)
    finally:
        ws.close()
    print(render(the_plan, fmt, Style(use_color(sys.stdout, color))), end="")
    if out is not None:
        try:
            planfile.save(the_plan, out)
        except DiagnosticError as exc:
            fail(exc, color)
        note = sys.stdout if fmt == Format.text else sys.stderr
        note.write(f"\nSaved the plan to {out}. Apply exactly this plan with: kvmstate apply {out}\n")
    if detailed_exitcode and (the_plan.has_changes or the_plan.refreshes):
        raise typer.Exit(2)


def _generated(ws: Workspace, config: Configuration, options: Options, out: Path) -> Configuration:
    """The configuration with the file --generate-config-out wrote (unchanged when there was nothing to write)."""
    from kvmstate.plan.generate import generate
    written = generate(config, ws.read_state(), ws.registry, out)
    if not written:
        sys.stderr.write("No import block needs configuration; nothing was written.\n")
        return config
    sys.stderr.write(f"Wrote the configuration of {', '.join(map(str, written))} to {out}; review it.\n\n")
    return ws.load_for(options)


@app.command()
def apply(path: Path = typer.Argument(Path("."), help="Configuration file or folder, or a plan saved with "
                                      "`kvmstate plan --out FILE`."),
          state: Optional[Path] = StateOpt, uri: Optional[str] = UriOpt,
          var: Optional[list[str]] = VarOpt, var_file: Optional[list[Path]] = VarFileOpt,
          auto_approve: bool = ApproveOpt, shutdown_timeout: int = TimeoutOpt,
          target: Optional[list[str]] = TargetOpt, replace: Optional[list[str]] = ReplaceOpt,
          revert: Optional[list[str]] = RevertOpt,
          refresh_only: bool = RefreshOpt, lock_timeout: float = LockOpt, parallelism: int = ParallelismOpt,
          per_host: int = PerHostOpt, skip_unreachable: bool = SkipUnreachableOpt,
          color: Optional[bool] = ColorOpt) -> None:
    """Plan, ask for confirmation, then make the live objects match the configuration.

    Given a saved plan, apply exactly that plan without asking; it is refused as stale, and nothing is
    touched, when the state, the configuration or the live objects changed since it was made.

    Examples:

      kvmstate apply examples/basic --auto-approve

      kvmstate apply plan.bin

      kvmstate apply --refresh-only --auto-approve

      kvmstate apply --revert snapshot.before_upgrade
    """
    from kvmstate.diagnostics import error
    from kvmstate.plan import planfile
    from kvmstate.plan.model import Options
    if planfile.is_plan_file(path):
        if target or replace or revert or refresh_only or state or skip_unreachable:
            fail(error("Options fixed by the saved plan", "--target, --replace, --revert, --refresh-only, "
                       "--skip-unreachable and --state were chosen when the plan was saved; give them to "
                       "`kvmstate plan --out FILE` instead."), color)
        _run_saved(path, uri, shutdown_timeout, color, inputs(var, var_file), lock_timeout, parallelism, per_host)
        return
    options = Options(refresh_only=refresh_only, targets=target or [], replace=replace or [], revert=revert or [],
                      skip_unreachable=skip_unreachable)
    _run(path, state, uri, auto_approve, shutdown_timeout, color, options, inputs(var, var_file), lock_timeout,
         parallelism, per_host)


@app.command()
def destroy(path: Path = PathArg, state: Optional[Path] = StateOpt, uri: Optional[str] = UriOpt,
            var: Optional[list[str]] = VarOpt, var_file: Optional[list[Path]] = VarFileOpt,
            auto_approve: bool = ApproveOpt, shutdown_timeout: int = TimeoutOpt,
            target: Optional[list[str]] = TargetOpt, lock_timeout: float = LockOpt,
            parallelism: int = ParallelismOpt, per_host: int = PerHostOpt,
            skip_unreachable: bool = SkipUnreachableOpt, color: Optional[bool] = ColorOpt) -> None:
    """Delete everything recorded in the state, dependents first.

    Resources with lifecycle.prevent_destroy in the configuration stop the command.

    Examples:

      kvmstate destroy examples/basic --auto-approve

      kvmstate destroy --target domain.web
    """
    from kvmstate.plan.model import Options
    _run(path, state, uri, auto_approve, shutdown_timeout, color,
         Options(destroy=True, targets=target or [], skip_unreachable=skip_unreachable),
         inputs(var, var_file), lock_timeout, parallelism, per_host)


def _run(path: Path, state_file: Optional[Path], uri: Optional[str], auto_approve: bool, shutdown_timeout: int,
         color: Optional[bool], options, inputs, lock_timeout: float, parallelism: int, per_host: int = 0) -> None:
    from kvmstate.cli.workspace import Workspace
    from kvmstate.diagnostics import DiagnosticError
    from kvmstate.provider import ProviderError
    ws = Workspace.open(path, state_file, uri, inputs=inputs, lock_timeout=lock_timeout,
                        shutdown_timeout=shutdown_timeout)
    ws.connect_ahead()
    try:
        with ws.store.lock("destroy" if options.destroy else "apply"):
            config = ws.load_for(options)
            state = ws.read_state()
            the_plan = ws.plan(config, state, options)
            _carry_out(ws, the_plan, config, state, color, auto_approve, parallelism, per_host)
    except (DiagnosticError, ProviderError) as exc:
        fail(exc, color)
    finally:
        ws.close()


def _run_saved(file: Path, uri: Optional[str], shutdown_timeout: int, color: Optional[bool], inputs,
               lock_timeout: float, parallelism: int, per_host: int = 0) -> None:
    from kvmstate.cli.workspace import Workspace
    from kvmstate.diagnostics import DiagnosticError
    from kvmstate.plan import planfile
    from kvmstate.provider import ProviderError
    from kvmstate.state import State
    try:
        saved = planfile.load(file)
        ws = Workspace.open(saved.source.path, saved.source.state, uri, inputs=inputs, lock_timeout=lock_timeout,
                            shutdown_timeout=shutdown_timeout)
    except DiagnosticError as exc:
        fail(exc, color)
    try:
        with ws.store.lock("apply"):
            config = ws.load_for(saved.options)
            state = ws.store.read() or State(lineage=saved.lineage)
            planfile.check_fresh(saved, state, config)
            fresh = ws.plan(config, state, saved.options)
            planfile.check_same(saved, fresh)
            _carry_out(ws, fresh, config, state, color, True, parallelism, per_host)
    except (DiagnosticError, ProviderError) as exc:
        fail(exc, color)
    finally:
        ws.close()


def _carry_out(ws, the_plan, config, state, color: Optional[bool], auto_approve: bool, parallelism: int,
               per_host: int = 0) -> None:
    """Print the plan, confirm it, apply it and report; exit 1 when an action failed."""
    from kvmstate.apply.applier import apply_plan, record_fingerprints, record_outputs
    from kvmstate.apply.interrupt import graceful_interrupts
    from kvmstate.cli.progress import Progress
    from kvmstate.render.formats import render
    from kvmstate.render.style import Style, use_color
    from kvmstate.render.text import summary_line
    style = Style(use_color(sys.stdout, color))
    print(render(the_plan, Format.text, style), end="")
    if not the_plan.has_changes and not the_plan.drift:
        record_fingerprints(the_plan, state, ws.store)
        record_outputs(config, state, ws.store, the_plan.options)
        return
    destroy = the_plan.options.destroy
    if (the_plan.has_changes or the_plan.refreshes) and not auto_approve and not _confirm(destroy):
        print("Cancelled: nothing was changed.")
        raise typer.Exit(1)
    with graceful_interrupts(ws.state_path) as stop, Progress(style) as progress:
        outcome = apply_plan(the_plan, config, state, ws.store, ws.registry, progress.report, parallelism, stop,
                             uris=ws.hosts, per_host=per_host)
    if outcome.interrupted:
        sys.stderr.write(f"Interrupted: {len(outcome.done)} actions completed and recorded in {ws.state_path}; "
                         f"{len(outcome.skipped)} not started. Run `kvmstate plan` to see what is left.\n")
        raise typer.Exit(130)
    if not outcome.ok:
        for address, message in outcome.failed.items():
            sys.stderr.write(style("Error: ", "red", "bold") + f"{address}: {message}\n")
        sys.stderr.write(f"{len(outcome.done)} actions completed and recorded in {ws.state_path}; "
                         f"{len(outcome.failed)} failed, {len(outcome.skipped)} skipped. "
                         "Run `kvmstate plan` to see what is left.\n")
        raise typer.Exit(1)
    record_fingerprints(the_plan, state, ws.store)
    record_outputs(config, state, ws.store, the_plan.options)
    outcome.postconditions.raise_if_errors()
    if the_plan.options.refresh_only:
        print(style("\nRefresh complete! ", "bold", "green") + f"{len(the_plan.drift)} changes recorded in the state.")
        return
    verb = "Destroy" if destroy else "Apply"
    print(style(f"\n{verb} complete! ", "bold", "green") + summary_line(the_plan, done=True))


def _confirm(destroy: bool) -> bool:
    if not sys.stdin.isatty():
        sys.stderr.write("Error: no terminal to confirm on; run with --auto-approve to apply without confirmation.\n")
        raise typer.Exit(1)
    what = "destroy all resources in the state" if destroy else "perform these actions"
    answer = input(f"Do you want to {what}? Only 'yes' will be accepted: ")
    return answer.strip() == "yes"
