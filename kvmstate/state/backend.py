"""The state backend interface: where one workspace's state lives, how it is locked and written.

A backend holds the state of one workspace of one project. The engine uses only
this interface, so another kind of storage (S3-compatible, say) is one more
subclass and no engine change:

    read()                      the current state, or None
    lock(operation, timeout)    hold the lock for one command; fail naming the holder
    force_unlock(id)            break the lock of a holder that is gone
    put(state, resource)        record one resource: O(1), one journal line or one row
    remove(state, address)      forget one resource: O(1)
    write(state)                replace the whole state (state rm/mv, import, outputs, push)
    checkpoint()                fold incremental writes into the stored snapshot (end of an apply)
    history() / at_serial(n)    past serials, as far as the backend keeps them
    workspaces() / delete_workspace(name)

Every write bumps the serial by one and the subclass stores it only if the stored
serial is still the one before (compare-and-set): a second guard behind the lock.
Kinds: `local` (kvmstate.state.store) and `pg` (kvmstate.state.postgres).
"""

from __future__ import annotations

import getpass
import os
import socket
import uuid
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from datetime import datetime, timezone

from pydantic import BaseModel, Field

from kvmstate.diagnostics import DiagnosticError, error
from kvmstate.state.model import State, StateResource

from kvmstate.state.select import DEFAULT_WORKSPACE  # noqa: E402  (one home: where the state lives)


class Holder(BaseModel):
    """Who holds a lock, as the lock record names them."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    operation: str = "?"
    who: str = "?"
    host: str = ""
    pid: int | None = None
    created: str = "?"

    @classmethod
    def me(cls, operation: str) -> "Holder":
        return cls(operation=operation, who=who_am_i(), host=socket.gethostname(), pid=os.getpid(),
                   created=datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def __str__(self) -> str:
        return f"{self.who} (pid {self.pid or '?'}, `{self.operation}` since {self.created})"


class Change(BaseModel):
    """One incremental write: a resource recorded (`resource` set) or forgotten (`resource` None)."""

    serial: int
    address: str
    resource: StateResource | None = None


class HistoryEntry(BaseModel):
    """One command's writes: the serials it made, when, who and what."""

    first_serial: int
    serial: int
    time: datetime
    who: str
    command: str
    recorded: int = 0          # resources put
    removed: int = 0           # resources forgotten
    replaced: int = 0          # whole-state writes

    def summary(self) -> str:
        parts = [f"{n} {what}" for n, what in ((self.recorded, "recorded"), (self.removed, "removed"),
                                               (self.replaced, "whole-state writes")) if n]
        return ", ".join(parts) or "nothing"


def who_am_i() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def locked_error(where: str, holder: Holder | None, timeout: float) -> DiagnosticError:
    """The 'State locked' error, naming the holder and how to go on."""
    waited = f" (waited {timeout:g}s)" if timeout else ""
    return error("State locked", f"{where} is locked by {holder or 'another process'}{waited}. Wait for that command "
                 "to finish, or retry with --lock-timeout SECONDS; the lock is released when its process ends. If "
                 "that process is gone and the lock stays (a crash on another machine), run "
                 f"`kvmstate force-unlock {holder.id if holder else 'ID'}`.")


def stale_error(where: str, expected: int, found: int | None) -> DiagnosticError:
    """A compare-and-set that failed: someone else wrote the state."""
    return error("State changed underneath", f"{where} is at serial {found}, not {expected} as this command "
                 "expected: another command wrote it without holding the lock. Nothing more was written by this "
                 "command; run `kvmstate plan` to see where things stand.")


def lineage_error(where: str, stored: str, given: str) -> DiagnosticError:
    return error("Another lineage", f"{where} holds the state of lineage {stored}, not {given}: a different history. "
                 "Nothing was written. To replace it on purpose, use `kvmstate state push --force`.")


class Backend(ABC):
    """The state of one workspace; see the module docstring for the contract."""

    kind: str = "?"
    lock_timeout: float = 0
    workspace: str = DEFAULT_WORKSPACE

    @property
    @abstractmethod
    def where(self) -> str:
        """Where the state is, for messages: a path, or the database, project and workspace."""

    @property
    @abstractmethod
    def location(self) -> str:
        """A string that finds this state again (saved plans keep it): a path, or `pg:PROJECT/WORKSPACE`."""

    @abstractmethod
    def read(self) -> State | None: ...

    @abstractmethod
    def lock(self, operation: str, timeout: float | None = None) -> AbstractContextManager[None]: ...

    @abstractmethod
    def force_unlock(self, lock_id: str) -> str: ...

    @abstractmethod
    def _store_all(self, state: State, expected: int, force: bool) -> None:
        """Store the whole state at `state.serial` (already bumped) if the stored serial is `expected`; `force`
        also replaces a state of another lineage."""

    @abstractmethod
    def _store_change(self, state: State, change: Change) -> None:
        """Store one change at `change.serial` (already bumped), checking the stored serial is one less."""

    def write(self, state: State, expected: int | None = None, force: bool = False) -> None:
        """Bump the serial and store the whole state, if the stored serial is `expected` (default: the serial
        `state` was read at; 0 for none stored)."""
        expected = state.serial if expected is None else expected
        state.serial += 1
        self._store_all(state, expected, force)

    def put(self, state: State, resource: StateResource) -> None:
        """Record one resource in `state` and store just that change."""
        state.put(resource)
        state.serial += 1
        self._store_change(state, Change(serial=state.serial, address=resource.address, resource=resource))

    def remove(self, state: State, address: str) -> None:
        """Forget one resource in `state` and store just that change."""
        state.remove(address)
        state.serial += 1
        self._store_change(state, Change(serial=state.serial, address=address))

    def checkpoint(self) -> None:
        """Fold the incremental writes into the stored snapshot; nothing to do for backends without one."""

    def history(self) -> list[HistoryEntry]:
        return []

    def kept(self, serial: int) -> str:
        """Where the state at `serial` can be found after a later write, for messages (state rm and mv)."""
        return f"as serial {serial} in the history: `kvmstate state pull --serial {serial}`"

    def at_serial(self, serial: int) -> State | None:
        """The state as it was at `serial`, when the backend still has it."""
        current = self.read()
        return current if current is not None and current.serial == serial else None

    @abstractmethod
    def workspaces(self) -> list[str]: ...

    @abstractmethod
    def delete_workspace(self, name: str) -> None: ...
