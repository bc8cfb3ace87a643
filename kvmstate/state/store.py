"""The state file on disk: locked while in use, backed up and replaced atomically.

Every write goes to a temporary file in the same folder, is fsynced and renamed
over the state, so a crash leaves either the old or the new state, never half of
one. The previous state is kept beside it as `<state>.backup`. The lock is an
advisory `flock` on `<state>.lock`, released by the kernel if the process dies;
the file records who holds it so a blocked user can be told.
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
    def __init__(self, path: Path | str):
        self.path = Path(path)
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
    def lock(self, operation: str, timeout: float = 0) -> Iterator[None]:
        """Hold the state lock for one command; wait up to `timeout` seconds for a holder, then fail naming it."""
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
                        waited = f" (waited {timeout:g}s)" if timeout else ""
                        raise error("State locked", f"{self.path} is locked by {_holder(self.lock_path)}{waited}. "
                                    "Wait for that command to finish, or retry with --lock-timeout SECONDS; the "
                                    "lock is released when its process ends.") from None
                    time.sleep(0.1)
            info = {"id": str(uuid.uuid4()), "operation": operation, "who": f"{getpass.getuser()}@{socket.gethostname()}",
                    "pid": os.getpid(), "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
            try:
                yield
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _holder(lock_path: Path) -> str:
    try:
        info = json.loads(lock_path.read_text() or "{}")
    except (OSError, json.JSONDecodeError):
        info = {}
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
