"""The command line: a thin layer that parses options, calls the engine and prints.

Exit codes: 0 success (no changes, with --detailed-exitcode), 1 error, 2 changes
present (with --detailed-exitcode), 3 files not formatted (fmt --check).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from kvmstate import __version__
from kvmstate.apply import Event, apply_plan, record_outputs
from kvmstate import planfile
from kvmstate.config.fmt import format_text
from kvmstate.config.loader import EXTENSIONS
from kvmstate.config.variables import Inputs
from kvmstate.diagnostics import DiagnosticError, error, format_diagnostic
from kvmstate.interrupt import graceful_interrupts
from kvmstate.plan import Action, Options, Plan, Source
from kvmstate.planfile import config_hash
from kvmstate.provider import ProviderError, Registry
from kvmstate.render.markdown import render_markdown
from kvmstate.render.style import Style, use_color
from kvmstate.render.outputs import render_outputs
from kvmstate.render.text import render_plan, render_state, summary_line
from kvmstate.state import State, select
from kvmstate.workspace import Workspace, resolve_uri

app = typer.Typer(help="Declarative desired state for KVM hosts: plan and apply libvirt topologies.",
                  no_args_is_help=True, add_completion=True, pretty_exceptions_enable=False)
state_app = typer.Typer(help="Inspect and edit the state file (each edit keeps a backup).", no_args_is_help=True)
app.add_typer(state_app, name="state")

PathArg = typer.Argument(Path("."), help="A desired-state file, or a folder of *.yaml, *.yml and *.hcl files.")
StateOpt = typer.Option(None, "--state", help="State file. Default: kvmstate.state.json beside the configuration.")
UriOpt = typer.Option(None, "--uri", help="libvirt URI. Default: $LIBVIRT_DEFAULT_URI, then qemu:///system.")
ColorOpt = typer.Option(None, "--color/--no-color", help="Colour the output. Default: on for a terminal, off with NO_COLOR.")
ApproveOpt = typer.Option(False, "--auto-approve", help="Skip the confirmation prompt.")
FMT_CHANGES = 3
LockOpt = typer.Option(0.0, "--lock-timeout", help="Seconds to wait for another command's state lock.")
TimeoutOpt = typer.Option(60, "--shutdown-timeout", help="Seconds to wait for a guest to shut down before forcing it off.")
VarOpt = typer.Option(None, "--var", help="Set a variable: NAME=VALUE (repeatable; later ones win).")
VarFileOpt = typer.Option(None, "--var-file", help="Variables from a YAML, JSON or HCL file (repeatable).")
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
                                       help="Print the version and exit."),
          backend: Optional[str] = typer.Option(None, "--backend", envvar="KVMSTATE_BACKEND", help="Where the state "
                                                "lives: local, local:PATH, pg or pg:PROJECT (see docs/state.md)."),
          workspace: Optional[str] = typer.Option(None, "--workspace", envvar="KVMSTATE_WORKSPACE",
                                                  help="The workspace (its own state); default: the selected one.")
          ) -> None:
    select.chosen = select.Choice(backend, workspace)


@app.command()
def validate(path: Path = PathArg, var: Optional[list[str]] = VarOpt, var_file: Optional[list[Path]] = VarFileOpt,
             color: Optional[bool] = ColorOpt) -> None:
    """Check the configuration files without contacting libvirt.

    Example: kvmstate validate examples/basic
    """
    colored = use_color(sys.stderr, color)
    try:
        config = Workspace.open(path, inputs=inputs(var, var_file)).load()
    except DiagnosticError as exc:
        _fail(exc, colored)
    print(f"Success! The configuration is valid ({len(config.resources)} resources in {len(config.files)} files).")


class Format(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


TargetOpt = typer.Option(None, "--target", help="Limit the plan to this address and what it depends on (repeatable).")
ReplaceOpt = typer.Option(None, "--replace", help="Replace this resource even if it has no change (repeatable).")
RefreshOpt = typer.Option(False, "--refresh-only", help="Only record drift in the state; change no object.")


def render(the_plan: Plan, fmt: Format, colored: bool) -> str:
    """The plan in the asked format, ending with a newline; sensitive values are masked in every format."""
    the_plan = the_plan.redacted()
    if fmt == Format.json:
        return the_plan.model_dump_json(indent=2) + "\n"
    if fmt == Format.markdown:
        return render_markdown(the_plan)
    return render_plan(the_plan, Style(colored))


@app.command()
def plan(path: Path = PathArg, state: Optional[Path] = StateOpt, uri: Optional[str] = UriOpt,
         var: Optional[list[str]] = VarOpt, var_file: Optional[list[Path]] = VarFileOpt,
         out: Optional[Path] = typer.Option(None, "--out", help="Save the plan to this file for `kvmstate apply FILE`."),
         fmt: Format = typer.Option(Format.text, "--format", help="Output format: text, json or markdown."),
         json_out: bool = typer.Option(False, "--json", help="Shorthand for --format json (schemas/plan.schema.json)."),
         target: Optional[list[str]] = TargetOpt, replace: Optional[list[str]] = ReplaceOpt,
         refresh_only: bool = RefreshOpt,
         destroy: bool = typer.Option(False, "--destroy", help="Plan to delete everything in the state."),
         lock_timeout: float = LockOpt,
         detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode",
                                                help="Exit 0 with no changes, 1 on error, 2 with changes."),
         color: Optional[bool] = ColorOpt) -> None:
    """Show what apply would change, without changing anything.

    Examples:

      kvmstate plan examples/basic --detailed-exitcode

      kvmstate plan --format markdown --out plan.bin      # a PR comment, and the plan to apply on merge

      kvmstate plan --target domain.web --replace domain.web
    """
    fmt = Format.json if json_out else fmt
    colored = use_color(sys.stdout, color)
    ws = Workspace.open(path, state, uri, inputs=inputs(var, var_file), lock_timeout=lock_timeout)
    options = Options(destroy=destroy, refresh_only=refresh_only, targets=target or [], replace=replace or [])
    try:
        with ws.store.lock("plan"):
            ws.connect_ahead()
            config = ws.load_for(options)
            the_plan = ws.plan(config, ws.read_state(), options)
            the_plan.source = Source(path=str(path), state=str(ws.state_path), hash=config_hash(config))
    except (DiagnosticError, ProviderError) as exc:
        _fail(exc, colored)
    finally:
        ws.close()
    print(render(the_plan, fmt, colored), end="")
    if out is not None:
        try:
            planfile.save(the_plan, out)
        except DiagnosticError as exc:
            _fail(exc, colored)
        note = sys.stdout if fmt == Format.text else sys.stderr
        note.write(f"\nSaved the plan to {out}. Apply exactly this plan with: kvmstate apply {out}\n")
    if detailed_exitcode and (the_plan.has_changes or the_plan.refreshes):
        raise typer.Exit(2)


@app.command()
def apply(path: Path = typer.Argument(Path("."), help="Configuration file or folder, or a plan saved with "
                                      "`kvmstate plan --out FILE`."),
          state: Optional[Path] = StateOpt, uri: Optional[str] = UriOpt,
          var: Optional[list[str]] = VarOpt, var_file: Optional[list[Path]] = VarFileOpt,
          auto_approve: bool = ApproveOpt, shutdown_timeout: int = TimeoutOpt,
          target: Optional[list[str]] = TargetOpt, replace: Optional[list[str]] = ReplaceOpt,
          refresh_only: bool = RefreshOpt, lock_timeout: float = LockOpt, parallelism: int = ParallelismOpt,
          color: Optional[bool] = ColorOpt) -> None:
    """Plan, ask for confirmation, then make the live objects match the configuration.

    Given a saved plan, apply exactly that plan without asking; it is refused as stale, and nothing is
    touched, when the state, the configuration or the live objects changed since it was made.

    Examples:

      kvmstate apply examples/basic --auto-approve

      kvmstate apply plan.bin

      kvmstate apply --refresh-only --auto-approve
    """
    options = Options(refresh_only=refresh_only, targets=target or [], replace=replace or [])
    if planfile.is_plan_file(path):
        if target or replace or refresh_only or state:
            _fail(error("Options fixed by the saved plan", "--target, --replace, --refresh-only and --state were "
                        "chosen when the plan was saved; give them to `kvmstate plan --out FILE` instead."),
                  use_color(sys.stderr, color))
        _run_saved(path, uri, shutdown_timeout, color, inputs(var, var_file), lock_timeout, parallelism)
        return
    _run(path, state, uri, auto_approve, shutdown_timeout, color, options, inputs(var, var_file), lock_timeout,
         parallelism)


@app.command()
def destroy(path: Path = PathArg, state: Optional[Path] = StateOpt, uri: Optional[str] = UriOpt,
            var: Optional[list[str]] = VarOpt, var_file: Optional[list[Path]] = VarFileOpt,
            auto_approve: bool = ApproveOpt, shutdown_timeout: int = TimeoutOpt,
            target: Optional[list[str]] = TargetOpt, lock_timeout: float = LockOpt,
            parallelism: int = ParallelismOpt, color: Optional[bool] = ColorOpt) -> None:
    """Delete everything recorded in the state, dependents first.

    Resources with lifecycle.prevent_destroy in the configuration stop the command.

    Examples:

      kvmstate destroy examples/basic --auto-approve

      kvmstate destroy --target domain.web
    """
    _run(path, state, uri, auto_approve, shutdown_timeout, color, Options(destroy=True, targets=target or []),
         inputs(var, var_file), lock_timeout, parallelism)


def _run(path: Path, state_file: Optional[Path], uri: Optional[str], auto_approve: bool, shutdown_timeout: int,
         color: Optional[bool], options: Options, inputs: Optional[Inputs] = None, lock_timeout: float = 0,
         parallelism: int = 10) -> None:
    colored = use_color(sys.stdout, color)
    ws = Workspace.open(path, state_file, uri, inputs=inputs, lock_timeout=lock_timeout,
                        shutdown_timeout=shutdown_timeout)
    try:
        with ws.store.lock("destroy" if options.destroy else "apply"):
            ws.connect_ahead()
            config = ws.load_for(options)
            state = ws.read_state()
            the_plan = ws.plan(config, state, options)
            _carry_out(ws, the_plan, config, state, Style(colored), auto_approve, parallelism)
    except (DiagnosticError, ProviderError) as exc:
        _fail(exc, colored)
    finally:
        ws.close()


def inputs(var: Optional[list[str]], var_file: Optional[list[Path]]) -> Inputs:
    """Variable values from --var, --var-file and the environment (KVMSTATE_VAR_name)."""
    return Inputs(list(var or []), list(var_file or []))


def _run_saved(file: Path, uri: Optional[str], shutdown_timeout: int, color: Optional[bool],
               inputs: Optional[Inputs] = None, lock_timeout: float = 0, parallelism: int = 10) -> None:
    colored = use_color(sys.stdout, color)
    try:
        saved = planfile.load(file)
        ws = Workspace.open(saved.source.path, saved.source.state, uri, inputs=inputs, lock_timeout=lock_timeout,
                            shutdown_timeout=shutdown_timeout)
    except DiagnosticError as exc:
        _fail(exc, colored)
    try:
        with ws.store.lock("apply"):
            config = ws.load_for(saved.options)
            state = ws.store.read() or State(lineage=saved.lineage)
            planfile.check_fresh(saved, state, config_hash(config))
            fresh = ws.plan(config, state, saved.options)
            planfile.check_same(saved, fresh)
            _carry_out(ws, fresh, config, state, Style(colored), True, parallelism)
    except (DiagnosticError, ProviderError) as exc:
        _fail(exc, colored)
    finally:
        ws.close()


def _carry_out(ws: Workspace, the_plan: Plan, config, state: State, style: Style, auto_approve: bool,
               parallelism: int) -> None:
    """Print the plan, confirm it, apply it and report; exit 1 when an action failed."""
    print(render_plan(the_plan.redacted(), style), end="")
    if not the_plan.has_changes and not the_plan.drift:
        record_outputs(config, state, ws.store)
        return
    destroy = the_plan.options.destroy
    if (the_plan.has_changes or the_plan.refreshes) and not auto_approve and not _confirm(destroy):
        print("Cancelled: nothing was changed.")
        raise typer.Exit(1)
    with graceful_interrupts(ws.state_path) as stop:
        outcome = apply_plan(the_plan, config, state, ws.store, ws.registry, lambda e: _progress(e, style),
                             parallelism, stop)
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
    record_outputs(config, state, ws.store)
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
    if planfile.is_plan_file(path):
        try:
            saved = planfile.load(path)
        except DiagnosticError as exc:
            _fail(exc, use_color(sys.stderr, color))
        print(render(saved, Format.json if json_out else Format.text, use_color(sys.stdout, color)), end="")
        return
    ws = Workspace.open(path, state)
    try:
        current = ws.store.read()
    except DiagnosticError as exc:
        _fail(exc, use_color(sys.stderr, color))
    if current is None:
        print(f"No state at {ws.state_path}.")
        return
    print(current.model_dump_json(indent=2) if json_out else render_state(current, Style(use_color(sys.stdout, color))))


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
    ws = Workspace.open(path, state)
    try:
        current = ws.store.read()
    except DiagnosticError as exc:
        _fail(exc, use_color(sys.stderr, color))
    outputs = current.outputs if current else {}
    if name is not None and name not in outputs:
        _fail(error("No such output", f"The state at {ws.state_path} has no output {name!r}; it has: "
                    f"{', '.join(sorted(outputs)) or 'none'}. Outputs are recorded by apply."),
              use_color(sys.stderr, color))
    try:
        print(render_outputs(outputs, name, json_out, show_sensitive), end="")
    except DiagnosticError as exc:
        _fail(exc, use_color(sys.stderr, color))


@app.command()
def fmt(path: Path = PathArg,
        check: bool = typer.Option(False, "--check", help="Write nothing; list the files that would change and exit 3 "
                                   "if there are any."),
        color: Optional[bool] = ColorOpt) -> None:
    """Rewrite HCL and YAML files in the canonical layout, keeping comments; prints each file it changes.

    Example: kvmstate fmt examples/ --check
    """
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in EXTENSIONS) if path.is_dir() else [path]
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
        _fail(exc, use_color(sys.stderr, color))
    for file in changed:
        print(file)
    if check and changed:
        raise typer.Exit(FMT_CHANGES)


@app.command()
def doctor(uri: Optional[str] = UriOpt, color: Optional[bool] = ColorOpt) -> None:
    """Check that the host can run kvmstate's domains (as virt-host-validate does), and say what to fix.

    Exits 1 when a check fails. Example: kvmstate doctor --uri qemu:///system
    """
    style = Style(use_color(sys.stdout, color))
    target = resolve_uri(uri)
    failed = 0
    for provider in Registry.discover().providers:
        for check in getattr(provider, "doctor", lambda _: [])(target):
            mark = style("ok  ", "green") if check.ok else style("FAIL", "red", "bold")
            print(f"{mark} {check.name}: {check.detail}")
            if not check.ok:
                failed += 1
                print(f"     fix: {check.fix}")
    if failed:
        print(f"\n{failed} check{'s' if failed > 1 else ''} failed on {target}.")
        raise typer.Exit(1)
    print(f"\nAll checks passed on {target}.")


@state_app.command("list")
def state_list(path: Path = PathArg, state: Optional[Path] = StateOpt) -> None:
    """List the addresses recorded in the state.

    Example: kvmstate state list examples/basic
    """
    ws = Workspace.open(path, state)
    try:
        current = ws.store.read()
    except DiagnosticError as exc:
        _fail(exc, use_color(sys.stderr))
    for r in current.resources if current else []:
        print(r.address + (f" ({r.pending} pending)" if r.pending else ""))


def main() -> None:
    try:
        app()
    except DiagnosticError as exc:             # raised before a command's own handling, e.g. choosing the backend
        for d in exc.diagnostics:
            sys.stderr.write(format_diagnostic(d, use_color(sys.stderr)) + "\n")
        sys.exit(1)


from kvmstate import cli_state  # noqa: E402,F401  (registers state, import, force-unlock and graph)
from kvmstate import cli_backend  # noqa: E402,F401  (registers workspace, state history/pull/push/migrate/rekey)
