"""Diagnostics: errors and warnings gathered with their source location.

A diagnostic has a fixed summary (no user values), a detail sentence that says
how to fix it, and where it applies: a file position and/or a resource address.
Code that finds several problems collects them in `Diagnostics` and raises them
together as one `DiagnosticError`, so the user sees every problem in one run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal


@dataclass(frozen=True)
class Position:
    """A place in a source file; line and column count from 1."""

    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    severity: Literal["error", "warning"]
    summary: str
    detail: str = ""
    position: Position | None = None
    address: str | None = None
    attribute: str | None = None


@dataclass
class Diagnostics:
    """An ordered collection of diagnostics."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, summary: str, detail: str = "", position: Position | None = None,
              address: str | None = None, attribute: str | None = None) -> None:
        self.items.append(Diagnostic("error", summary, detail, position, address, attribute))

    def warning(self, summary: str, detail: str = "", position: Position | None = None,
                address: str | None = None, attribute: str | None = None) -> None:
        self.items.append(Diagnostic("warning", summary, detail, position, address, attribute))

    def extend(self, other: "Diagnostics | list[Diagnostic]") -> None:
        self.items.extend(other.items if isinstance(other, Diagnostics) else other)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)

    def raise_if_errors(self) -> None:
        """Raise every error so far, in file order."""
        if self.has_errors:
            raise DiagnosticError(sorted(self.items, key=_sort_key))

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class DiagnosticError(Exception):
    """One or more error diagnostics that stop the current command."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        self.diagnostics = [diagnostics] if isinstance(diagnostics, Diagnostic) else list(diagnostics)
        super().__init__("; ".join(format_plain(d) for d in self.diagnostics))


def _sort_key(d: Diagnostic) -> tuple:
    p = d.position
    return (p is None, p.file if p else "", p.line if p else 0, p.column if p else 0)


def error(summary: str, detail: str = "", **where) -> DiagnosticError:
    """Shorthand for raising a single error diagnostic."""
    return DiagnosticError(Diagnostic("error", summary, detail, **where))


def shown(value: object, limit: int = 80) -> str:
    """A user's value as a message quotes it: its repr, cut to about `limit` characters."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + "…"
    if isinstance(value, int) and value.bit_length() > 3 * limit:
        return f"a number of about {int(value.bit_length() * 0.30103)} digits"
    if isinstance(value, (list, dict)) and len(value) > limit:
        return f"a {type(value).__name__} of {len(value):,} items"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def format_plain(d: Diagnostic) -> str:
    where = f"{d.position}: " if d.position else ""
    subject = f"{d.address}{'.' + d.attribute if d.attribute else ''}: " if d.address else ""
    return f"{where}{subject}{d.summary}{'. ' + d.detail if d.detail else ''}"


def format_diagnostic(d: Diagnostic, color: bool = False) -> str:
    """Render a diagnostic the way a terminal user reads it, with a source snippet."""
    red, yellow, bold, reset = ("\033[31m", "\033[33m", "\033[1m", "\033[0m") if color else ("",) * 4
    tint = red if d.severity == "error" else yellow
    lines = [f"{tint}{bold}{d.severity.capitalize()}:{reset} {bold}{d.summary}{reset}"]
    if d.position:
        where = f"  on {d.position.file} line {d.position.line}, column {d.position.column}"
        if d.address:
            where += f", in {d.address}"
        lines.append(where + ":")
        lines.extend(_snippet(d.position))
    elif d.address:
        lines.append(f"  with {d.address}{'.' + d.attribute if d.attribute else ''}")
    if d.detail:
        lines.append("")
        lines.append(d.detail)
    return "\n".join(lines) + "\n"


def _snippet(pos: Position) -> list[str]:
    try:
        text = Path(pos.file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    if not 1 <= pos.line <= len(text):
        return []
    src = text[pos.line - 1]
    width = len(str(pos.line))
    col = min(max(pos.column, 1), len(src) + 1)
    token = _TOKEN.match(src, col - 1)
    marks = "^" * max(1, min(len(token.group(0)) if token else 1, 60))
    return [f"  {pos.line:>{width}} | {src}", f"  {'':>{width}} | {' ' * (col - 1)}{marks}"]


_TOKEN = re.compile(r"[^\s:=,{}\[\]]+")
