"""Numeric functions: min max ceil floor abs signum pow parseint log parsesize."""

from __future__ import annotations

import math
from typing import Any

from kvmstate.config.functions.base import FunctionError, function, number, string, whole
from kvmstate.config.operators import OperatorError, checked
from kvmstate.units import parse_size


def _numbers(args: tuple, name: str) -> list[int | float]:
    if not args:
        raise FunctionError(f"{name}() takes at least one number; write {name}(list...) to pass a list")
    return [number(a, f"argument {i}") for i, a in enumerate(args, 1)]


@function
def min_(*args: Any) -> int | float:
    return min(_numbers(args, "min"))


@function
def max_(*args: Any) -> int | float:
    return max(_numbers(args, "max"))


@function
def ceil(value: Any) -> int:
    return _whole(math.ceil, value)


@function
def floor(value: Any) -> int:
    return _whole(math.floor, value)


def _whole(round_: Any, value: Any) -> int:
    n = number(value, "the argument")
    return n if isinstance(n, int) else round_(n)


@function
def abs_(value: Any) -> int | float:
    return abs(number(value, "the argument"))


@function
def signum(value: Any) -> int:
    n = number(value, "the argument")
    return (n > 0) - (n < 0)


@function
def pow_(base_: Any, exponent: Any) -> int | float:
    b, e = number(base_, "the base"), number(exponent, "the exponent")
    if abs(e) > 1024:
        raise FunctionError(f"the exponent must be between -1024 and 1024, not {e}")
    try:
        return checked(b ** e if not (isinstance(b, int) and isinstance(e, int) and e < 0) else float(b) ** e)
    except (OverflowError, ZeroDivisionError) as exc:
        raise FunctionError(f"pow({b}, {e}): {exc}") from None
    except OperatorError as exc:
        raise FunctionError(str(exc)) from None


@function
def log(value: Any, base_: Any) -> float:
    n, b = number(value, "the number"), number(base_, "the base")
    if n <= 0 or b <= 0 or b == 1:
        raise FunctionError(f"log({n}, {b}) is not defined: both must be above 0 and the base not 1")
    return math.log(n, b)


@function
def parseint(text: Any, base_: Any) -> int:
    text, b = string(text, "the string"), whole(base_, "the base")
    if not 2 <= b <= 62 or b > 36:
        raise FunctionError(f"the base must be between 2 and 36, not {b}")
    try:
        if len(text) > 400:
            raise ValueError
        return checked(int(text, b))
    except (ValueError, OperatorError):
        raise FunctionError(f"{text!r} is not a whole number in base {b}") from None


@function
def parsesize(value: Any) -> int:
    """Bytes in a size such as "512MiB" (kvmstate's sizes), to compare with numbers such as host.memory."""
    try:
        return parse_size(value)
    except ValueError as exc:
        raise FunctionError(str(exc)) from None
