"""Terraform's operators on plain values: arithmetic, comparison, logic, and the conversions they make.

    + - * / %       numbers; a string that holds a number converts ("3" + 1 is 4)
    == !=           any two values; equal when of one type and equal (1 == "1" is false)
    < > <= >=       numbers
    && || !         bools ("true" and "false" strings convert); && and || stop at the first
                    operand that decides (evaluate.py)

Whole numbers stay whole where the result is whole (6 / 2 is 3, 7 / 2 is 3.5); a
result beyond limits.MAX_NUMBER is an error rather than a number of unbounded size.
"""

from __future__ import annotations

import math
from typing import Any

from kvmstate.config.limits import MAX_NUMBER, in_range
from kvmstate.config.printf import type_name
from kvmstate.diagnostics import shown


class OperatorError(Exception):
    """An operand an operator cannot use; the message names the operator and the value."""


def number(value: Any, what: str) -> int | float:
    """The value as a number: numbers, and strings that hold one."""
    if isinstance(value, bool) or value is None:
        raise OperatorError(f"{what} must be a number, not {type_name(value)}")
    if isinstance(value, (int, float)):
        if in_range(value):
            return value
        raise OperatorError(f"{what} must be a finite number of at most {MAX_NUMBER:.0e}, not {shown(value)}")
    if isinstance(value, str):
        text = value.strip()
        for parse in (int, float):
            try:
                if len(text) <= 100:
                    out = parse(text)
                    if isinstance(out, float) and not math.isfinite(out):
                        break
                    return out
            except ValueError:
                pass
    raise OperatorError(f"{what} must be a number, not {type_name(value)} {shown(value)}")


def boolean(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise OperatorError(f"{what} must be true or false, not {type_name(value)} {shown(value)}")


def checked(value: int | float) -> int | float:
    if isinstance(value, float) and not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise OperatorError(f"the result is larger than {MAX_NUMBER:.0e}, the largest number kvmstate computes")
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return int(value)
    return value


def arithmetic(op: str, left: Any, right: Any) -> int | float:
    a, b = number(left, f"the left operand of {op}"), number(right, f"the right operand of {op}")
    if op == "+":
        return checked(a + b)
    if op == "-":
        return checked(a - b)
    if op == "*":
        return checked(a * b)
    if b == 0:
        raise OperatorError(f"{shown(left)} {op} 0: cannot divide by zero")
    if op == "/":
        if isinstance(a, int) and isinstance(b, int) and a % b == 0:
            return a // b
        return checked(a / b)
    rem = math.fmod(a, b) if isinstance(a, float) or isinstance(b, float) else abs(a) % abs(b) * (1 if a >= 0 else -1)
    return checked(rem)       # the sign of the dividend, as in Terraform


def compare(op: str, left: Any, right: Any) -> bool:
    a, b = number(left, f"the left operand of {op}"), number(right, f"the right operand of {op}")
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]


def equal(a: Any, b: Any) -> bool:
    """Terraform's ==: the same type and the same value, all the way down (a bool is never a number)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def negate(value: Any) -> int | float:
    return checked(-number(value, "the operand of -"))
