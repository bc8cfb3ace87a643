"""The raw form of a resource, as read from any file format, before validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kvmstate.diagnostics import Position

Path = tuple[str | int, ...]


@dataclass
class RawResource:
    """One resource block as written: its type, name, plain-data body and where each part stands."""

    type: str
    name: str
    body: Any
    position: Position
    positions: dict[Path, Position] = field(default_factory=dict)   # path inside body -> position

    def position_of(self, path: Path) -> Position:
        """The position of the deepest written part of `path`."""
        for end in range(len(path), 0, -1):
            found = self.positions.get(tuple(path[:end]))
            if found:
                return found
        return self.position
