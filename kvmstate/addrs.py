"""Typed resource addresses: `<type>.<name>`, for example `domain.web`.

The address names a resource in the configuration and the state. Where the
resource lives (which libvirt host) is an attribute of the resource, not part of
its address, so moving a resource between hosts is a replacement, not a rename.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}"
_NAME = re.compile(rf"^{NAME_PATTERN}$")
_TYPE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, order=True)
class Address:
    type: str
    name: str

    def __str__(self) -> str:
        return f"{self.type}.{self.name}"

    @classmethod
    def parse(cls, text: str) -> "Address":
        rtype, sep, name = text.partition(".")
        if not sep or not _TYPE.match(rtype) or not _NAME.match(name):
            raise ValueError(f"{text!r} is not a resource address; expected TYPE.NAME, for example domain.web")
        return cls(rtype, name)


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def format_path(path: tuple[str | int, ...] | list[str | int]) -> str:
    """An attribute path as the user writes it: `disks[0].volume`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
