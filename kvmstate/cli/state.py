"""Commands that work on the state rather than on a plan: state list/show/rm/mv/recover, import, force-unlock.

Each command that changes the state holds the lock and writes it atomically; the previous state stays
in `<state>.backup` (local) or the history (PostgreSQL).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from kvmstate.cli.app import ColorOpt, PathArg, StateOpt, UriOpt, VarFileOpt, VarOpt, app, fail, inputs, state_app
from kvmstate.cli.workspace import Workspace
from kvmstate.diagnostics import DiagnosticError, error
from kvmstate.provider import ProviderError


def _edit(path: Path, state: Optional[Path], what: str, change) -> None:
    """Run `change(state)` on the state under the lock and write it, keeping a backup."""
    ws = Workspace.open(path, state)
    try:
        with ws.store.lock(what):
            current = ws.store.read()
            if current is None:
                raise _no_state(ws)
            before = current.serial
            message = change(current)
            ws.store.write(current)
    except DiagnosticError as exc:
        fail(exc)
    print(f"{message} The previous state is kept {ws.store.kept(before)}.")


def _no_state(ws: Workspace) -> DiagnosticError:
    return error("No state", f"There is no state at {ws.state_path}; nothing is recorded yet.")


@state_app.command("show")
def state_show(address: Optional[str] = typer.Argument(None, help="The resource address, e.g. domain.web; the "
                                                       "whole state when omitted."),
               path: Path = PathArg, state: Optional[Path] = StateOpt, color: Optional[bool] = ColorOpt,
               serial: Optional[int] = typer.Option(None, "--serial", help="As it was at this serial (see `state "
                                                    "history`).")) -> None:
    """Print one resource, or the whole state, as recorded (now, or at an earlier serial).

    Examples: kvmstate state show domain.basic-vm examples/basic; kvmstate state show --serial 12
    """
    from kvmstate.render.style import Style, use_color
    from kvmstate.render.text import render_state
    ws = Workspace.open(path, state)
    try:
        current = ws.store.read() if serial is None else ws.store.at_serial(serial)
        if current is None:
            raise _no_state(ws) if serial is None else error("No such serial", f"{ws.store.where} does not "
                                                             f"keep serial {serial}; `kvmstate state history` "
                                                             "lists the ones it has.")
        from kvmstate.state import ops
        shown = [ops.find(current, address)] if address else current.resources
    except DiagnosticError as exc:
        fail(exc, color)
    print(render_state(current.model_copy(update={"resources": shown}), Style(use_color(sys.stdout, color))),
          end="")


@state_app.command("rm")
def state_rm(address: str = typer.Argument(..., help="The address to forget: a resource (all its instances "
                                          "without a key), a module call or instance, or host.NAME (every "
                                          "resource on that host)."),
             path: Path = PathArg, state: Optional[Path] = StateOpt) -> None:
    """Forget a resource: it leaves the state, its libvirt object stays as it is.

    The object keeps kvmstate's mark, so while the resource is still in the configuration the next apply
    records it again; remove it from the configuration too to let it go.

    Examples: kvmstate state rm domain.old-vm; kvmstate state rm 'module.site["b"]'; kvmstate state rm host.kvm3
    """
    from kvmstate.state import ops
    _edit(path, state, "state rm", lambda s: "\n".join(f"Removed {r.address} from the state."
                                                         for r in ops.remove(s, address)))


@state_app.command("mv")
def state_mv(old: str = typer.Argument(..., help="The recorded address."),
             new: str = typer.Argument(..., help="The new address, of the same type."),
             path: Path = PathArg, state: Optional[Path] = StateOpt) -> None:
    """Record a resource under another address, e.g. after renaming it in the configuration; a module call
    instance moves with every resource in it.

    libvirt objects cannot be renamed: when the new address gives another object name, the next plan
    replaces the object. Dependencies recorded for other resources follow the move.

    Examples: kvmstate state mv 'domain.web' 'domain.web[0]'; kvmstate state mv 'module.vm[0]' 'module.vm["a"]'
    """
    from kvmstate.state import ops
    _edit(path, state, "state mv", lambda s: "\n".join(f"Moved {a} to {b}." for a, b in ops.move(s, old, new)))


@app.command("import")
def import_(address: str = typer.Argument(..., help="The address declared in the configuration."),
            name: str = typer.Argument(..., help="The libvirt object's name."),
            path: Path = PathArg, state: Optional[Path] = StateOpt, uri: Optional[str] = UriOpt,
            var: Optional[list[str]] = VarOpt, var_file: Optional[list[Path]] = VarFileOpt,
            color: Optional[bool] = ColorOpt) -> None:
    """Adopt an existing libvirt object into the state, after checking it matches the configuration (with the
    variables given, e.g. the hosts' URIs).

    Differences are listed and nothing is recorded. Domains and networks get kvmstate's ownership mark.

    Example: kvmstate import network.lab lab
    """
    from kvmstate.state.importer import import_object
    ws = Workspace.open(path, state, uri, inputs=inputs(var, var_file))
    try:
        with ws.store.lock("import"):
            config = ws.load()
            current = ws.read_state()
            recorded = import_object(config, current, ws.registry, address, name)
            ws.store.write(current)
    except (DiagnosticError, ProviderError) as exc:
        fail(exc, color)
    finally:
        ws.close()
    print(f"Imported {recorded.type} {recorded.name!r} (identity {recorded.identity}) as {recorded.address}.")


@app.command("force-unlock")
def force_unlock(lock_id: str = typer.Argument(..., metavar="ID", help="The lock id, as the 'State locked' "
                                               "error prints it."),
                 path: Path = PathArg, state: Optional[Path] = StateOpt) -> None:
    """Break a state lock whose holder is gone (killed, or on a machine that crashed).

    The lock is a kernel lock released when its process ends; force-unlock is for a lock left on a shared
    folder by another machine. It refuses while the holder is a running process on this machine.

    Example: kvmstate force-unlock 6f1c2a0e-...
    """
    ws = Workspace.open(path, state)
    try:
        print(ws.store.force_unlock(lock_id))
    except DiagnosticError as exc:
        fail(exc)


@state_app.command("recover")
def state_recover(path: Path = PathArg, state: Optional[Path] = StateOpt, uri: Optional[str] = UriOpt,
                  var: Optional[list[str]] = VarOpt, var_file: Optional[list[Path]] = VarFileOpt,
                  lineage: Optional[str] = typer.Option(None, "--lineage", help="Recover this state's objects when "
                                                        "libvirt holds the marks of several."),
                  force: bool = typer.Option(False, "--force", help="Replace a valid state (kept as the backup)."),
                  color: Optional[bool] = ColorOpt) -> None:
    """Rebuild a lost or corrupt state from the ownership marks kvmstate writes into libvirt.

    A corrupt state file is kept beside it as `<state>.corrupt`. Prints what was recovered and why, and what
    could not be, with how to take it over.

    Example: kvmstate state recover examples/basic
    """
    from kvmstate.state.recover import recover
    ws = Workspace.open(path, state, uri, inputs=inputs(var, var_file))
    try:
        with ws.store.lock("state recover"):
            try:
                current = ws.store.read()
            except DiagnosticError:
                current = None
                ws.state_path.replace(ws.state_path.with_name(ws.state_path.name + ".corrupt"))
            if current is not None and current.resources and not force:
                raise error("State exists", f"{ws.state_path} is a valid state with {len(current.resources)} "
                            "resources; recover rebuilds a lost or corrupt one. Use --force to replace it anyway "
                            "(it is kept as the backup).")
            result = recover(ws.load(), ws.registry, lineage)
            ws.store.write(result.state, force=True)
    except (DiagnosticError, ProviderError) as exc:
        fail(exc, color)
    finally:
        ws.close()
    for address, why in result.recovered.items():
        print(f"recovered     {address}: {why}")
    for address, why in result.missed.items():
        print(f"not recovered {address}: {why}")
    print(f"\nWrote {ws.state_path} (lineage {result.state.lineage}) with {len(result.recovered)} resources; "
          f"{len(result.missed)} existing objects were not recovered. Run `kvmstate plan` to see what is left.")


@state_app.command("list")
def state_list(path: Path = PathArg, state: Optional[Path] = StateOpt,
               host: Optional[str] = typer.Option(None, "--host", help="Only the resources on this host.")) -> None:
    """List the addresses recorded in the state; with resources on several hosts, each one's host too.

    Example: kvmstate state list examples/basic
    """
    ws = Workspace.open(path, state)
    try:
        current = ws.store.read()
    except DiagnosticError as exc:
        fail(exc)
    resources = [r for r in (current.resources if current else []) if host is None or r.host == host]
    several = len({r.host for r in current.resources}) > 1 if current else False
    width = max((len(r.address) for r in resources), default=0)
    for r in resources:
        pending = f" ({r.pending} pending)" if r.pending else ""
        print(f"{r.address:<{width}}  host {r.host}{pending}" if several else r.address + pending)
