"""The function registry and the argument conversions every function shares.

`@function` registers a function under its name (a trailing underscore dropped);
the numbers of arguments it takes come from its signature. Functions that read
files take the configuration's folder as a keyword argument `base`. Arguments
convert as Terraform converts them: a number or bool where a string is wanted
becomes its text, a string that holds a number where a number is wanted its value.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from kvmstate.config.limits import MAX_STRING, LimitError
from kvmstate.config.operators import OperatorError
from kvmstate.config.operators import number as to_number
from kvmstate.config.printf import FormatError, plain, type_name
from kvmstate.diagnostics import shown

MAX_ARGS = 64


class FunctionError(Exception):
    """A function called with arguments it cannot use."""


@dataclass
class Spec:
    fn: Callable[..., Any]
    low: int
    high: int
    base: bool


FUNCTIONS: dict[str, Spec] = {}


def function(fn: Callable[..., Any]) -> Callable[..., Any]:
    params = [p for p in inspect.signature(fn).parameters.values() if p.name != "base"]
    low = sum(1 for p in params if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD)
    high = MAX_ARGS if any(p.kind is p.VAR_POSITIONAL for p in params) else len(params)
    has_base = "base" in inspect.signature(fn).parameters
    FUNCTIONS[fn.__name__.rstrip("_")] = Spec(fn, low, high, has_base)
    return fn


def call(name: str, base: Path, args: list[Any]) -> Any:
    spec = FUNCTIONS[name]
    if not spec.low <= len(args) <= spec.high:
        want = str(spec.low) if spec.low == spec.high else f"at least {spec.low}" if spec.high == MAX_ARGS \
            else f"{spec.low} to {spec.high}"
        raise FunctionError(f"{name}() takes {want} argument{'s' if want != '1' else ''}, not {len(args)}")
    try:
        return spec.fn(*args, base=base) if spec.base else spec.fn(*args)
    except OperatorError as exc:
        raise FunctionError(str(exc)) from None


def string(value: Any, what: str) -> str:
    """A string argument; numbers and bools convert to their text."""
    try:
        return plain(value)
    except FormatError:
        raise FunctionError(f"{what} must be a string, not {type_name(value)}") from None


def number(value: Any, what: str) -> int | float:
    try:
        return to_number(value, what)
    except OperatorError as exc:
        raise FunctionError(str(exc)) from None


def whole(value: Any, what: str) -> int:
    n = number(value, what)
    if isinstance(n, float):
        if not n.is_integer():
            raise FunctionError(f"{what} must be a whole number, not {shown(value)}")
        n = int(n)
    return n


def listed(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise FunctionError(f"{what} must be a list, not {type_name(value)}")
    return value


def mapping(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise FunctionError(f"{what} must be a map, not {type_name(value)}")
    return value


def bounded(size: int, name: str, what: str = "characters") -> None:
    """Refuse a result of more than MAX_STRING characters (or items) before it is made."""
    if size > MAX_STRING:
        raise LimitError(f"{name}() would make more than {MAX_STRING:,} {what}")
