"""The local backend's journal: one line per recorded change, appended beside the state file.

During an apply each recorded action appends one JSON line to `<state>.journal`
and fsyncs it, instead of rewriting the whole state file: recording costs the
size of one resource, whatever the size of the state. At the end of the apply
(and when a lock is released after a crash) the journal is folded into the state
file, which stays a plain, readable JSON document, and the journal is emptied.

Reading replays the journal over the state file: lines whose serial the file
already has are skipped (a crash between folding and emptying), a torn last line
(a crash while appending) is ignored, and a gap or another lineage stops the
replay. So a crash at any point leaves the state as of the last complete line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kvmstate.state.backend import Change
from kvmstate.state.crypto import Codec
from kvmstate.state.model import State


class Journal:
    def __init__(self, path: Path, codec: Codec):
        self.path, self.codec = path, codec
        self._fd: int | None = None
        self.bytes_written = 0

    def append(self, lineage: str, change: Change) -> None:
        """Append one change durably (written and fsynced before returning)."""
        record = {"lineage": lineage, **change.model_dump(mode="json")}
        line = (json.dumps(self.codec.seal(record), separators=(",", ":")) + "\n").encode()
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            self._drop_torn_line()
        os.write(self._fd, line)
        os.fdatasync(self._fd)
        self.bytes_written += len(line)

    def _drop_torn_line(self) -> None:
        """Cut a line a crash left half-written, so that new lines do not follow it (replay stops there)."""
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            os.ftruncate(self._fd, os.pread(self._fd, size, 0).rfind(b"\n") + 1)

    def pending(self) -> bool:
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False

    def replay(self, state: State | None) -> State | None:
        """The state with the journal's complete, consecutive lines applied."""
        try:
            lines = self.path.read_bytes().split(b"\n")
        except FileNotFoundError:
            return state
        for raw in lines[:-1]:                      # the last piece is empty, or a torn line
            try:
                record = self.codec.open(json.loads(raw))
            except ValueError:
                break
            change = Change.model_validate(record)
            if state is None:
                state = State(lineage=record["lineage"], serial=change.serial - 1)
            if record["lineage"] != state.lineage or change.serial > state.serial + 1:
                break
            if change.serial <= state.serial:
                continue
            if change.resource is None:
                state.remove(change.address)
            else:
                state.put(change.resource)
            state.serial = change.serial
        return state

    def clear(self) -> None:
        """Empty the journal (its changes are in the state file now)."""
        self.close()
        try:
            os.truncate(self.path, 0)
        except FileNotFoundError:
            pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
