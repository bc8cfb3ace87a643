"""Limits that keep every input, however hostile, within bounded time and memory.

A configuration that passes a limit is refused with a diagnostic at the place it
was passed; nothing here is tuned for speed. The figures are documented in
docs/configuration.md ("Limits"); raise one here and there together.

    MAX_FILE_BYTES      size of one configuration file
    MAX_DEPTH           nesting of lists, maps, blocks and expressions
    MAX_YAML_VALUES     values in one YAML file, counted after aliases are expanded
    MAX_ALIAS_VALUES    values that aliases (*name) repeat in one YAML file
    MAX_INSTANCES       instances of one resource (count, for_each)
    MAX_TOTAL_INSTANCES instances in the whole configuration
    MAX_STRING          characters of one string a function or template makes
    MAX_STRINGS_TOTAL   characters all functions and templates make in one load
    MAX_NUMBER          the largest magnitude an operator or function computes
    MAX_ITEMS_TOTAL     list and map items all `for` expressions and functions make in one load
"""

from __future__ import annotations

from dataclasses import dataclass

from kvmstate.diagnostics import Position

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_YAML_VALUES = 500_000
MAX_ALIAS_VALUES = 10_000
MAX_INSTANCES = 10_000
MAX_TOTAL_INSTANCES = 100_000
MAX_STRING = 1024 * 1024
MAX_STRINGS_TOTAL = 64 * 1024 * 1024
MAX_NUMBER = 10 ** 300
MAX_ITEMS_TOTAL = 1_000_000


def in_range(number: int | float) -> bool:
    """A number kvmstate computes with: finite, not NaN, at most MAX_NUMBER in size (the float 1e300 counts)."""
    return abs(number) <= float(MAX_NUMBER)


class LimitError(Exception):
    """An input beyond one of the limits; `pos` is where it was noticed, when that is known."""

    def __init__(self, message: str, pos: Position | None = None, summary: str = "Value too large"):
        super().__init__(message)
        self.pos = pos
        self.summary = summary


def too_deep(pos: Position | None = None) -> LimitError:
    return LimitError(f"Values, blocks and expressions may be nested at most {MAX_DEPTH} levels deep.", pos,
                      "Nested too deeply")


def check_depth(depth: int, pos: Position | None = None) -> None:
    if depth > MAX_DEPTH:
        raise too_deep(pos)


def bracket_depth_at(text: str) -> tuple[int, int] | None:
    """(line, column) where brackets in the text first nest more than MAX_DEPTH deep, or None. Every bracket
    counts, in strings and comments too: parsers are slow on deep nesting, so this runs before them."""
    depth = 0
    for number, line in enumerate(text.split("\n"), 1):
        if line.count("[") + line.count("{") + line.count("(") + depth <= MAX_DEPTH:
            depth = max(0, depth + line.count("[") + line.count("{") + line.count("(") - line.count("]")
                        - line.count("}") - line.count(")"))
            continue
        for column, char in enumerate(line, 1):
            depth = max(0, depth + (char in "[{(") - (char in "]})"))
            if depth > MAX_DEPTH:
                return number, column
    return None


def check_string(text: str, what: str) -> str:
    """`text`, unless it is longer than MAX_STRING characters."""
    if len(text) > MAX_STRING:
        raise LimitError(f"{what} would be {len(text):,} characters long; a string may have at most "
                         f"{MAX_STRING:,}.")
    return text


@dataclass
class Budget:
    """What one load may still make: instances and characters of computed strings. Shared by every scope."""

    instances: int = MAX_TOTAL_INSTANCES
    characters: int = MAX_STRINGS_TOTAL
    items: int = MAX_ITEMS_TOTAL

    def take_instances(self, n: int) -> None:
        if n > MAX_INSTANCES:
            raise LimitError(f"A resource may have at most {MAX_INSTANCES:,} instances; this one would have "
                             f"{f'{n:,}' if n < 10 ** 30 else 'far more'}.")
        if n > self.instances:
            raise LimitError(f"A configuration may have at most {MAX_TOTAL_INSTANCES:,} instances in all; this "
                             "resource would pass that limit.")
        self.instances -= n

    def take_characters(self, text: str) -> str:
        check_string(text, "This string")
        if len(text) > self.characters:
            raise LimitError(f"Functions and templates may make at most {MAX_STRINGS_TOTAL:,} characters in one "
                             "configuration; this one passes that limit.")
        self.characters -= len(text)
        return text

    def take_items(self, n: int) -> None:
        if n > self.items:
            raise LimitError(f"`for` expressions and functions may make at most {MAX_ITEMS_TOTAL:,} list and map "
                             "items in one configuration; this one passes that limit.")
        self.items -= n
