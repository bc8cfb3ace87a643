"""The typer application, the options every command shares, and how errors end a command
(printed by `kvmstate.cli.check.report`, which the typer-free `validate` shares).

Exit codes: 0 success (no changes, with --detailed-exitcode), 1 error, 2 changes
present (with --detailed-exitcode), 3 files not formatted (fmt --check), 130 interrupted.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn, Optional

import typer

from kvmstate import __version__
from kvmstate.cli.check import report

app = typer.Typer(help="Declarative desired state for KVM hosts: plan and apply libvirt topologies.",
                  no_args_is_help=True, add_completion=True, pretty_exceptions_enable=False)
state_app = typer.Typer(help="Inspect and edit the state (each edit keeps a backup).", no_args_is_help=True)
app.add_typer(state_app, name="state")

PathArg = typer.Argument(Path("."), help="A desired-state file, or a folder of *.yaml, *.yml and *.hcl files.")
StateOpt = typer.Option(None, "--state", help="State file. Default: kvmstate.state.json beside the configuration.")
UriOpt = typer.Option(None, "--uri", help="libvirt URI. Default: $LIBVIRT_DEFAULT_URI, then qemu:///system.")
ColorOpt = typer.Option(None, "--color/--no-color", help="Colour the output. Default: on for a terminal, off with NO_COLOR.")
ApproveOpt = typer.Option(False, "--auto-approve", help="Skip the confirmation prompt.")
LockOpt = typer.Option(0.0, "--lock-timeout", help="Seconds to wait for another command's state lock.")
TimeoutOpt = typer.Option(60, "--shutdown-timeout", help="Seconds to wait for a guest to shut down before forcing it off.")
VarOpt = typer.Option(None, "--var", help="Set a variable: NAME=VALUE (repeatable; later ones win).")
VarFileOpt = typer.Option(None, "--var-file", help="Variables from a YAML, JSON or HCL file (repeatable).")
ParallelismOpt = typer.Option(10, "--parallelism", min=1, help="How many independent actions to run at once.")
TargetOpt = typer.Option(None, "--target", help="Limit the plan to this address and what it depends on (repeatable); "
                         "host.NAME: every resource on that host.")
ReplaceOpt = typer.Option(None, "--replace", help="Replace this resource even if it has no change (repeatable).")
RevertOpt = typer.Option(None, "--revert", help="Revert a domain to this snapshot (snapshot.NAME; repeatable, one "
                         "per domain).")
RefreshOpt = typer.Option(False, "--refresh-only", help="Only record drift in the state; change no object.")
PerHostOpt = typer.Option(0, "--parallelism-per-host", min=0, help="How many actions may run at once on one host "
                          "(within --parallelism); 0: no limit of its own.")
SkipUnreachableOpt = typer.Option(False, "--skip-unreachable", help="Plan the hosts that answer and leave out those "
                                  "that cannot be reached (with a warning), instead of failing.")


def fail(exc: Exception, color: Optional[bool] = None) -> NoReturn:
    """Print an error (every diagnostic, with its snippet) to stderr and exit 1."""
    report(exc, color)
    raise typer.Exit(1)


def inputs(var: Optional[list[str]], var_file: Optional[list[Path]]):
    """Variable values from --var, --var-file and the environment (KVMSTATE_VAR_name)."""
    from kvmstate.config.inputs import Inputs
    return Inputs(list(var or []), list(var_file or []))


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
    from kvmstate.state import select
    select.chosen = select.Choice(backend, workspace)
