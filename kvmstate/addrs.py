"""Typed resource addresses: `TYPE.NAME`, with an instance key for repeated resources.

    domain.web          a single resource
    domain.web[0]       an instance of a resource with `count`
    domain.web["a"]     an instance of a resource with `for_each`

The address names a resource in the configuration and the state. Where the
resource lives (which libvirt host) is an attribute of the resource, not part of
its address, so moving a resource between hosts is a replacement, not a rename.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property, total_ordering

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}"
_NAME = re.compile(rf"^{NAME_PATTERN}$")
_ADDRESS = re.compile(rf'^([a-z][a-z0-9_]*)\.({NAME_PATTERN}?)(?:\[(\d+|"(?:[^"\\]|\\.)*")\])?$')


@total_ordering
@dataclass(frozen=True)
class Address:
    type: str
    name: str
    key: int | str | None = None

    def __str__(self) -> str:
        if self.key is None:
            return f"{self.type}.{self.name}"
        key = self.key if isinstance(self.key, int) else json.dumps(self.key)
        return f"{self.type}.{self.name}[{key}]"

    @cached_property
    def _order(self) -> tuple:
        """The sort key, made once per address (plans sort thousands of them many times)."""
        key = (0, 0, "") if self.key is None else (1, self.key, "") if isinstance(self.key, int) else (2, 0, self.key)
        return (self.type, self.name, key)

    def __lt__(self, other: "Address") -> bool:
        return self._order < other._order

    @property
    def resource(self) -> "Address":
        """The address without its instance key."""
        return Address(self.type, self.name)

    @classmethod
    def parse(cls, text: str) -> "Address":
        m = _ADDRESS.match(text)
        if not m:
            raise ValueError(f"{text!r} is not a resource address; expected TYPE.NAME, TYPE.NAME[INDEX] or "
                             'TYPE.NAME["KEY"], for example domain.web')
        key = m.group(3)
        if key is not None:
            key = json.loads(key) if key.startswith('"') else int(key)
        return cls(m.group(1), m.group(2), key)


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def format_path(path: tuple[str | int, ...] | list[str | int]) -> str:
    """An attribute path as the user writes it: `disks[0].volume`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_path(text: str) -> tuple[str | int, ...]:
    """The inverse of format_path: `disks[0].volume` -> ("disks", 0, "volume")."""
    parts: list[str | int] = []
    for token in re.findall(r"\[(\d+)\]|([^.\[\]]+)", text):
        parts.append(int(token[0]) if token[0] else token[1])
    return tuple(parts)
