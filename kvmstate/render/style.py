"""Terminal colours, off when NO_COLOR is set or the output is not a terminal."""

from __future__ import annotations

import os
import sys
from typing import TextIO

CODES = {"green": "32", "yellow": "33", "red": "31", "cyan": "36", "bold": "1", "dim": "2"}


def use_color(stream: TextIO = sys.stdout, forced: bool | None = None) -> bool:
    if forced is not None:
        return forced
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


class Style:
    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, text: str, *names: str) -> str:
        if not self.enabled or not names:
            return text
        return f"\033[{';'.join(CODES[n] for n in names)}m{text}\033[0m"
