"""The state file on disk: locked while in use, backed up and replaced atomically.

Every write goes to a temporary file in the same folder, is fsynced and renamed
over the state, so a crash leaves either the old or the new state, never half of
one. The previous state is kept beside it as `<state>.backup`. The lock is an
advisory `flock` on `<state>.lock`, released by the kernel if the process dies;
the file records who holds it (an id, user, host, pid, operation and time) so a
blocked user can be told.

`force_unlock(ID)` is for the cases the kernel cannot settle: a holder on another
machine sharing the folder (NFS locks outlive a crashed client until the server
drops them) or a lock still held after its process is gone. It refuses while the
recorded holder is a live process on this machine; otherwise it puts a fresh lock
file in place, so the lost holder's lock no longer counts.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from pydantic import ValidationError

from kvmstate.diagnostics import error
from kvmstate.state.model import STATE_VERSION, State

DEFAULT_STATE_FILE = "kvmstate.state.json"


class StateStore:
    def __init__(self, path: Path | str, lock_timeout: float = 0):
        self.path = Path(path)
        self.lock_timeout = lock_timeout          # seconds lock() waits for another holder by default
        self.backup_path = self.path.with_name(self.path.name + ".backup")
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    def read(self) -> State | None:
        """The state, or None when there is no state file yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise error("Cannot read the state", f"{self.path}: {exc.strerror}.") from None
        try:
            data = json.loads(text)
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

    def write(self, state: State) -> None:
        """Bump the serial and replace the state file atomically, keeping the old one as the backup."""
        state.serial += 1
        data = state.model_dump_json(indent=2) + "\n"
        if self.path.exists():
            _atomic_write(self.backup_path, self.path.read_bytes())
        _atomic_write(self.path, data.encode())

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
                        info = _read_info(self.lock_path)
                        waited = f" (waited {timeout:g}s)" if timeout else ""
                        raise error("State locked", f"{self.path} is locked by {_holder(info)}{waited}. Wait for "
                                    "that command to finish, or retry with --lock-timeout SECONDS; the lock is "
                                    "released when its process ends. If that process is gone and the lock stays (a "
                                    "crash on another machine sharing this folder), run "
                                    f"`kvmstate force-unlock {info.get('id', 'ID')}`.") from None
                    time.sleep(0.1)
            info = {"id": str(uuid.uuid4()), "operation": operation, "who": f"{getpass.getuser()}@{socket.gethostname()}",
                    "host": socket.gethostname(), "pid": os.getpid(),
                    "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
            try:
                yield
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


    def force_unlock(self, lock_id: str) -> str:
        """Break the lock with this id when its holder is gone; what was done, in a sentence."""
        info = _read_info(self.lock_path)
        if info.get("id") != lock_id:
            current = f"the current lock has id {info['id']}" if info.get("id") else "no lock is recorded"
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
        if info.get("host") == socket.gethostname() and _alive(info.get("pid")):
            raise error("Lock holder is running", f"Lock {lock_id} is held by {_holder(info)}, which is still "
                        f"running on this machine. Let it finish, or stop it (kill {info.get('pid')}); "
                        "force-unlock only breaks locks whose holder is gone.")
        _atomic_write(self.lock_path, b"")     # a new lock file: the lost holder's flock is on the old one
        return f"Lock {lock_id} ({_holder(info)}) was broken."


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


def _read_info(lock_path: Path) -> dict:
    try:
        info = json.loads(lock_path.read_text() or "{}")
    except (OSError, json.JSONDecodeError):
        info = {}
    return info if isinstance(info, dict) else {}


def _holder(info: dict) -> str:
    if not info:
        return "another process"
    return f"{info.get('who', '?')} (pid {info.get('pid', '?')}, `{info.get('operation', '?')}` since {info.get('created', '?')})"


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
