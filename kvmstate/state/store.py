"""The local backend: the state file on disk, locked while in use, backed up and replaced atomically.

Whole-state writes go to a temporary file in the same folder, are fsynced and
renamed over the state, so a crash leaves either the old or the new state, never
half of one. The previous state file stays beside it as `<state>.backup` (a hard
link, so keeping it costs no copy). During an apply, each recorded action is one
line appended to `<state>.journal` (kvmstate.state.journal), folded into the file
at the end of the apply. The lock is an advisory `flock` on `<state>.lock`,
released by the kernel if the process dies; the file records who holds it (an
id, user, host, pid, operation and time) so a blocked user can be told.

`force_unlock(ID)` is for the cases the kernel cannot settle: a holder on another
machine sharing the folder (NFS locks outlive a crashed client until the server
drops them) or a lock still held after its process is gone. It refuses while the
recorded holder is a live process on this machine; otherwise it puts a fresh lock
file in place, so the lost holder's lock no longer counts.

Workspaces other than `default` keep their files in `kvmstate.state.d/NAME/`
beside the default state file.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pydantic import ValidationError

from kvmstate.diagnostics import DiagnosticError, error
from kvmstate.state.backend import (DEFAULT_WORKSPACE, Backend, Change, Holder, lineage_error, locked_error,
                                    stale_error)
from kvmstate.state.crypto import Codec
from kvmstate.state.journal import Journal
from kvmstate.state.model import STATE_VERSION, State

DEFAULT_STATE_FILE = "kvmstate.state.json"
WORKSPACES_DIR = "kvmstate.state.d"


def workspace_path(default_path: Path, workspace: str) -> Path:
    """The state file of a workspace, given the default workspace's state file."""
    if workspace == DEFAULT_WORKSPACE:
        return default_path
    return default_path.parent / WORKSPACES_DIR / workspace / default_path.name


class StateStore(Backend):
    kind = "local"

    def __init__(self, path: Path | str, lock_timeout: float = 0, codec: Codec | None = None,
                 workspace: str = DEFAULT_WORKSPACE, default_path: Path | None = None):
        self.path = Path(path)
        self.lock_timeout = lock_timeout          # seconds lock() waits for another holder by default
        self.codec = codec or Codec()
        self.workspace = workspace
        self.default_path = default_path or self.path
        self.backup_path = self.path.with_name(self.path.name + ".backup")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.journal = Journal(self.path.with_name(self.path.name + ".journal"), self.codec)
        self.bytes_written = 0                    # by whole-state writes; the journal counts its own

    @property
    def where(self) -> str:
        return str(self.path)

    @property
    def location(self) -> str:
        return str(self.path)

    def kept(self, serial: int) -> str:
        return f"in {self.backup_path}"

    def read(self) -> State | None:
        """The state, or None when there is no state yet: the file with the journal replayed over it."""
        return self.journal.replay(self._read_file())

    def _read_file(self) -> State | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise error("Cannot read the state", f"{self.path}: {exc.strerror}.") from None
        try:
            data = self.codec.open(json.loads(text))
        except json.JSONDecodeError as exc:
            raise error("Corrupt state file", f"{self.path} is not valid JSON ({exc.msg} at line {exc.lineno}). "
                        f"It was left untouched; the previous state may be in {self.backup_path}.") from None
        version = data.get("version") if isinstance(data, dict) else None
        if isinstance(version, int) and version > STATE_VERSION:
            raise error("State from a newer kvmstate", f"{self.path} has state version {version}; this kvmstate "
                        f"reads version {STATE_VERSION}. Upgrade kvmstate.")
        try:
            return State.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise error("Invalid state file", f"{self.path}: {where}: {first['msg']}. It was left untouched.") from None

    def _store_all(self, state: State, expected: int, force: bool) -> None:
        stored = self.read()
        if stored is not None and not force and (stored.serial != expected or stored.lineage != state.lineage):
            raise stale_error(self.where, expected, stored.serial) if stored.lineage == state.lineage else \
                lineage_error(self.where, stored.lineage, state.lineage)
        self._snapshot(state)

    def _store_change(self, state: State, change: Change) -> None:
        self.journal.append(state.lineage, change)

    def _snapshot(self, state: State) -> None:
        """Replace the file with `state`, the old file becoming the backup, and empty the journal."""
        document = state.model_dump(mode="json")
        data = (json.dumps(self.codec.seal(document), indent=None if self.codec.encrypts else 2) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            link = self.backup_path.with_name(f".{self.backup_path.name}.{os.getpid()}.link")
            link.unlink(missing_ok=True)
            os.link(self.path, link)
            os.replace(link, self.backup_path)
        _atomic_write(self.path, data)
        self.bytes_written += len(data)
        self.journal.clear()

    def checkpoint(self) -> None:
        """Fold the journal into the state file (and drop a torn line a crash left at its end)."""
        if self.journal.pending():
            state = self.read()
            if state is not None:
                self._snapshot(state)
            else:
                self.journal.clear()

    def workspaces(self) -> list[str]:
        folder = self.default_path.parent / WORKSPACES_DIR
        named = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        return [DEFAULT_WORKSPACE, *named]

    def delete_workspace(self, name: str) -> None:
        if name == DEFAULT_WORKSPACE:
            raise error("Cannot delete the default workspace", "The default workspace always exists.")
        folder = workspace_path(self.default_path, name).parent
        if not folder.is_dir():
            raise error("No such workspace", f"There is no workspace {name!r} beside {self.default_path}.")
        shutil.rmtree(folder)

    @contextmanager
    def lock(self, operation: str, timeout: float | None = None) -> Iterator[None]:
        """Hold the state lock for one command; wait up to `timeout` seconds for a holder, then fail naming it."""
        timeout = self.lock_timeout if timeout is None else timeout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise locked_error(str(self.path), _read_holder(self.lock_path), timeout) from None
                    time.sleep(0.1)
            os.ftruncate(fd, 0)
            os.pwrite(fd, Holder.me(operation).model_dump_json().encode(), 0)
            try:
                self.checkpoint()              # a crashed command's journal: fold it before appending after it
            except DiagnosticError:
                pass                           # a corrupt state file: the command reports it (or recovers it)
            try:
                yield
            finally:
                try:
                    self.checkpoint()          # a journal left by this command or by a crashed one
                finally:
                    self.journal.close()
                    os.ftruncate(fd, 0)
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


    def force_unlock(self, lock_id: str) -> str:
        """Break the lock with this id when its holder is gone; what was done, in a sentence."""
        holder = _read_holder(self.lock_path)
        if holder is None or holder.id != lock_id:
            current = f"the current lock has id {holder.id}" if holder else "no lock is recorded"
            raise error("Lock id does not match", f"{self.lock_path}: {current}, not {lock_id}. Nothing was changed.")
        fd = os.open(self.lock_path, os.O_RDWR)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass
            else:
                os.ftruncate(fd, 0)          # nobody holds it: only the record of a killed holder was left
                return f"No process held lock {lock_id} any more; its record was cleared."
        finally:
            os.close(fd)
        if holder.host == socket.gethostname() and _alive(holder.pid):
            raise error("Lock holder is running", f"Lock {lock_id} is held by {holder}, which is still "
                        f"running on this machine. Let it finish, or stop it (kill {holder.pid}); "
                        "force-unlock only breaks locks whose holder is gone.")
        _atomic_write(self.lock_path, b"")     # a new lock file: the lost holder's flock is on the old one
        return f"Lock {lock_id} ({holder}) was broken."


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_holder(lock_path: Path) -> Holder | None:
    try:
        return Holder.model_validate_json(lock_path.read_text())
    except (OSError, ValidationError):
        return None


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dirfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)
