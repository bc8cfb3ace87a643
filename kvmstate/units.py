"""Sizes with binary units: parse `10GiB`, `512 MiB`, `1.5G` and print them canonically.

Sizes are compared in their canonical text form (`512MiB`), which is the same
whether the value came from the user's file or from libvirt's XML.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

UNITS = {
    "": 1, "b": 1, "bytes": 1,
    "k": 1024, "kib": 1024, "kb": 1000,
    "m": 1024**2, "mib": 1024**2, "mb": 1000**2,
    "g": 1024**3, "gib": 1024**3, "gb": 1000**3,
    "t": 1024**4, "tib": 1024**4, "tb": 1000**4,
}
_CANONICAL = [("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)]
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
MAX_SIZE = 1024**5  # 1 PiB: anything larger is a typo


def parse_size(value: object) -> int:
    """Bytes from an int or a string with an optional unit; units without `i` (K, M, G) are binary."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 10GiB, not a boolean")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str):
        m = _SIZE.match(value)
        if not m or m.group(2).lower() not in UNITS:
            raise ValueError(f"{value!r} is not a size; use a number with a unit such as 512MiB or 10GiB")
        size = int(float(m.group(1)) * UNITS[m.group(2).lower()])
    else:
        raise ValueError("expected a size such as 10GiB")
    if size <= 0:
        raise ValueError("a size must be greater than zero")
    if size > MAX_SIZE:
        raise ValueError("a size must be at most 1 PiB")
    return size


def format_size(size: int) -> str:
    """The canonical text of a size: the largest binary unit that divides it exactly."""
    for unit, factor in _CANONICAL:
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


Size = Annotated[
    int,
    BeforeValidator(parse_size),
    PlainSerializer(format_size, return_type=str),
    WithJsonSchema({
        "anyOf": [
            {"type": "integer", "exclusiveMinimum": 0, "description": "bytes"},
            {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*([KkMmGgTt]i?[Bb]?|[Bb])?\s*$"},
        ],
        "description": "A size: bytes, or a number with a unit (KiB, MiB, GiB, TiB; K, M, G, T are binary too; KB, MB, GB, TB are decimal).",
    }),
]
