"""Commands on where the state lives: workspaces, history, pull and push, migration between backends, rekey.

Registered on the main command line by kvmstate/cli/__init__.py. Each command works on the
backend and workspace kvmstate.state.select chooses (global --backend and
--workspace, the environment, the configuration's backend block).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from kvmstate.cli.app import PathArg, StateOpt, app, fail, state_app
from kvmstate.diagnostics import DiagnosticError, error
from kvmstate.state.select import current_workspace, open_backend, select_workspace

if TYPE_CHECKING:
    from kvmstate.state import Backend, State

workspace_app = typer.Typer(help="Workspaces: separate states of one configuration, such as a preview environment "
                                 "per pull request.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")


def _run(action) -> None:
    """Run `action()`, printing a diagnostic and exiting 1 on failure."""
    try:
        action()
    except DiagnosticError as exc:
        fail(exc)


@workspace_app.command("list")
def workspace_list(path: Path = PathArg) -> None:
    """List the workspaces; the current one is marked with *.

    Example: kvmstate workspace list
    """
    def action() -> None:
        current = current_workspace(path)
        for name in open_backend(path).workspaces():
            print(f"{'*' if name == current else ' '} {name}")
    _run(action)


@workspace_app.command("show")
def workspace_show(path: Path = PathArg) -> None:
    """Print the current workspace's name."""
    _run(lambda: print(current_workspace(path)))


@workspace_app.command("new")
def workspace_new(name: str = typer.Argument(..., help="The new workspace, e.g. pr-123."),
                  path: Path = PathArg) -> None:
    """Create a workspace with an empty state and switch to it.

    Example: kvmstate workspace new pr-123
    """
    def action() -> None:
        backend = open_backend(path, workspace=name)
        if name in backend.workspaces():
            raise error("Workspace exists", f"There is already a workspace {name!r}; switch to it with "
                        f"`kvmstate workspace select {name}`.")
        with backend.lock("workspace new"):            # creates its place: a folder, or a row
            pass
        select_workspace(path, name)
        print(f"Created and switched to workspace {name!r}. Its state is empty.")
    _run(action)


@workspace_app.command("select")
def workspace_select(name: str = typer.Argument(..., help="The workspace to switch to."),
                     path: Path = PathArg) -> None:
    """Switch to another workspace for the commands run on this configuration.

    --workspace and KVMSTATE_WORKSPACE still take precedence. Example: kvmstate workspace select pr-123
    """
    def action() -> None:
        if name not in open_backend(path, workspace=name).workspaces():
            raise error("No such workspace", f"There is no workspace {name!r}; create it with "
                        f"`kvmstate workspace new {name}`.")
        select_workspace(path, name)
        print(f"Switched to workspace {name!r}.")
    _run(action)


@workspace_app.command("delete")
def workspace_delete(name: str = typer.Argument(..., help="The workspace to delete."), path: Path = PathArg,
                     force: bool = typer.Option(False, "--force", help="Delete it even though its state records "
                                                "resources (their objects stay in libvirt, unmanaged).")) -> None:
    """Delete a workspace and its state; refused while its state records resources (destroy them first).

    Example: kvmstate --workspace pr-123 destroy --auto-approve && kvmstate workspace delete pr-123
    """
    def action() -> None:
        if name == current_workspace(path):
            raise error("Workspace in use", f"{name!r} is the current workspace; switch to another one first "
                        "(`kvmstate workspace select default`).")
        backend = open_backend(path, workspace=name)
        if name not in backend.workspaces():
            raise error("No such workspace", f"There is no workspace {name!r}.")
        state = backend.read()
        if state is not None and state.resources and not force:
            raise error("Workspace not empty", f"The state of {name!r} records {len(state.resources)} resources. "
                        f"Destroy them first (`kvmstate --workspace {name} destroy`), or use --force to forget them "
                        "(their objects stay in libvirt).")
        backend.delete_workspace(name)
        print(f"Deleted workspace {name!r}.")
    _run(action)


@state_app.command("history")
def state_history(path: Path = PathArg, state: Optional[Path] = StateOpt) -> None:
    """List the commands that wrote the state: serials, time, who, command and what they recorded.

    Example: kvmstate state history
    """
    def action() -> None:
        backend = open_backend(path, state)
        entries = backend.history()
        if not entries:
            print(f"{backend.where} keeps no history (the local backend keeps the current state and "
                  "<state>.backup only; the pg backend keeps every serial).")
            return
        print(f"{'SERIAL':>13}  {'TIME (UTC)':19}  {'WHO':24}  {'COMMAND':14}  ACTIONS")
        for e in entries:
            serials = f"{e.first_serial}-{e.serial}" if e.first_serial != e.serial else str(e.serial)
            print(f"{serials:>13}  {e.time.astimezone().strftime('%Y-%m-%d %H:%M:%S'):19}  {e.who:24}  "
                  f"{e.command:14}  {e.summary()}")
    _run(action)


@state_app.command("pull")
def state_pull(path: Path = PathArg, state: Optional[Path] = StateOpt,
               serial: Optional[int] = typer.Option(None, "--serial", help="As it was at this serial.")) -> None:
    """Print the state's JSON (decrypted), now or at an earlier serial.

    Example: kvmstate state pull > backup.json
    """
    def action() -> None:
        backend = open_backend(path, state)
        current = backend.read() if serial is None else backend.at_serial(serial)
        if current is None:
            raise error("No state", f"{backend.where} has no state" + (f" at serial {serial}." if serial else "."))
        print(current.model_dump_json(indent=2))
    _run(action)


@state_app.command("push")
def state_push(file: Path = typer.Argument(..., help="A state JSON file, e.g. from `state pull`."),
               path: Path = PathArg, state: Optional[Path] = StateOpt,
               force: bool = typer.Option(False, "--force", help="Replace a state of another lineage, or a newer "
                                          "one.")) -> None:
    """Replace the state with a file's: refused for another lineage or an older serial unless --force.

    Example: kvmstate state push backup.json
    """
    def action() -> None:
        pushed = _read_state_file(file)
        backend = open_backend(path, state)
        with backend.lock("state push"):
            current = backend.read()
            if current is not None and not force:
                if current.lineage != pushed.lineage:
                    raise error("Another lineage", f"{file} has lineage {pushed.lineage}; {backend.where} holds "
                                f"lineage {current.lineage}, a different history. Use --force to replace it.")
                if pushed.serial < current.serial or (pushed.serial == current.serial and pushed != current):
                    raise error("Older state", f"{file} is at serial {pushed.serial}; {backend.where} is at serial "
                                f"{current.serial}, so it would undo later writes. Use --force to push it anyway.")
            stored = current.serial if current else 0
            pushed.serial = max(pushed.serial, stored + 1) - 1
            backend.write(pushed, expected=stored, force=force)
        print(f"Pushed {file} to {backend.where}: serial {pushed.serial}, {len(pushed.resources)} resources.")
    _run(action)


def _read_state_file(file: Path) -> State:
    from pydantic import ValidationError

    from kvmstate.state import State
    from kvmstate.state.crypto import Codec
    try:
        return State.model_validate(Codec.from_env().open(json.loads(file.read_text(encoding="utf-8"))))
    except (OSError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            raise error("Invalid state file", f"{file}: {'.'.join(map(str, first['loc']))}: {first['msg']}.") from None
        raise error("Cannot read the state file", f"{file}: {exc}.") from None


@state_app.command("migrate")
def state_migrate(to: str = typer.Option(..., "--to", help="The backend to copy to: local, local:PATH, pg or "
                                         "pg:PROJECT."),
                  path: Path = PathArg, state: Optional[Path] = StateOpt,
                  force: bool = typer.Option(False, "--force", help="Replace a state the target already holds.")
                  ) -> None:
    """Copy the current workspace's state to another backend, keeping its lineage and serial, under both locks.

    The source is left as it was; afterwards, point the configuration's backend block (or KVMSTATE_BACKEND) at
    the target. Example: kvmstate state migrate --to pg:lab
    """
    def action() -> None:
        source = open_backend(path, state)
        target = open_backend(path, spec=to, workspace=source.workspace)
        if target.location == source.location:
            raise error("Same backend", f"The state already lives in {source.where}.")
        copied = _migrate(source, target, force)
        print(f"Copied {len(copied.resources)} resources (lineage {copied.lineage}, serial {copied.serial}) from "
              f"{source.where} to {target.where}. The source was left as it was; point the backend block or "
              "KVMSTATE_BACKEND at the new place.")
    _run(action)


def _migrate(source: Backend, target: Backend, force: bool) -> State:
    with source.lock("state migrate"), target.lock("state migrate"):
        current = source.read()
        if current is None:
            raise error("No state", f"{source.where} has no state to migrate.")
        existing = target.read()
        if existing == current:
            return current
        if existing is not None and not force:
            raise error("Target holds a state", f"{target.where} already holds a state (lineage {existing.lineage}, "
                        f"serial {existing.serial}). Use --force to replace it.")
        copy = current.model_copy(deep=True)
        copy.serial = max(current.serial, existing.serial + 1 if existing else 0) - 1      # serials never go back
        target.write(copy, expected=existing.serial if existing else 0, force=True)
        if target.read() != current:
            raise error("Migration not verified", f"{target.where} does not read back the state just copied; the "
                        f"source {source.where} is unchanged.")
    return current


@state_app.command("rekey")
def state_rekey(path: Path = PathArg, state: Optional[Path] = StateOpt) -> None:
    """Rewrite the whole state with the current key: after a key rotation (old key as the fallback), to encrypt
    a plaintext state, or, with no key set, to decrypt it.

    Example: KVMSTATE_STATE_KEY=$NEW KVMSTATE_STATE_KEY_FALLBACK=$OLD kvmstate state rekey
    """
    def action() -> None:
        backend = open_backend(path, state)
        with backend.lock("state rekey"):
            current = backend.read()
            if current is None:
                raise error("No state", f"{backend.where} has no state.")
            backend.write(current)
        from kvmstate.state.crypto import Codec
        how = "encrypted with the current key" if Codec.from_env().encrypts else "in plaintext (no key is set)"
        print(f"Rewrote {backend.where} {how}, serial {current.serial}.")
    _run(action)
