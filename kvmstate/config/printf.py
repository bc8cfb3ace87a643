"""Terraform's `format`: a format string with verbs, after Go's fmt.

    %[flags][[n]][width][.precision]verb

    verbs      %d %b %o %x %X  whole numbers (decimal, binary, octal, hex)
               %f %e %E %g %G  numbers (fixed, exponent, shortest)
               %s %q %v %#v %t strings, quoted strings, any value, JSON, bools
               %%              a literal percent sign
    flags      -  pad on the right      +  always show the sign    ' ' a space for the sign
               0  pad numbers with zeros after the sign            #  0x, 0 and 0b prefixes; %#v is JSON
    [n]        take argument n (from 1); the verbs after it go on from n + 1

A bad verb, a missing or unused argument, or a value of the wrong kind is a
FunctionError that says which verb. Width and precision are bounded so that no
format string can ask for more than limits.MAX_STRING characters.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from kvmstate.config.limits import MAX_STRING, LimitError


class FormatError(Exception):
    """A format string or argument `format` cannot use."""


_VERB = re.compile(r"%(?P<flags>[-+ 0#]*)(?:\[(?P<index>\d+)\])?(?P<width>\d+)?(?:\.(?P<precision>\d*))?"
                   r"(?P<verb>.?)", re.DOTALL)
_INTEGER = {"d": "d", "b": "b", "o": "o", "x": "x", "X": "X"}
_FLOAT = "feEgG"
_PREFIX = {"x": "0x", "X": "0X", "o": "0", "b": "0b"}


def sprintf(spec: str, args: list[Any]) -> str:
    out: list[str] = []
    size, i, nxt, reordered, used = 0, 0, 0, False, set()
    while i < len(spec):
        start = spec.find("%", i)
        if start < 0:
            out.append(spec[i:])
            break
        out.append(spec[i:start])
        m = _VERB.match(spec, start)
        verb, i = m["verb"], m.end()
        if verb == "%" and m.end() - start == 2:
            out.append("%")
            continue
        where = f"the verb {spec[start:m.end()]!r} (character {start + 1})"
        if verb not in "dboxXfeEgGsqvt" or not verb:
            raise FormatError(f"{where} is not a verb format knows; use one of %d %b %o %x %X %f %e %E %g %G "
                              "%s %q %v %t, or %% for a percent sign")
        if m["index"] is not None:
            nxt, reordered = _number(m["index"], where) - 1, True
        if not 0 <= nxt < len(args):
            raise FormatError(f"{where} needs argument {nxt + 1}, but only {len(args)} were given")
        used.add(nxt)
        width = _number(m["width"], where) if m["width"] else 0
        precision = _number(m["precision"] or "0", where) if m["precision"] is not None else None
        text = _verb(verb, set(m["flags"]), width, precision, args[nxt], where)
        nxt += 1
        size += len(text)
        if size > MAX_STRING:
            raise LimitError(f"format() would make more than {MAX_STRING:,} characters")
        out.append(text)
    if not reordered and len(used) < len(args):
        raise FormatError(f"{spec!r} uses {len(used)} of the {len(args)} arguments given; remove the others or "
                          "add verbs for them")
    return "".join(out)


def _number(digits: str, where: str) -> int:
    if len(digits) > 7 or int(digits) > MAX_STRING:
        raise LimitError(f"{where}: a width, precision or index may be at most {MAX_STRING:,}")
    return int(digits)


def _verb(verb: str, flags: set[str], width: int, precision: int | None, value: Any, where: str) -> str:
    numeric = verb in _INTEGER or verb in _FLOAT
    if verb in _INTEGER:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise FormatError(f"{where} needs a whole number, not {type_name(value)}")
        body = format(abs(value), _INTEGER[verb])
        if precision is not None:
            body = body.zfill(precision)
            flags.discard("0")              # Go: a precision turns zero padding off for whole numbers
        prefix = _PREFIX.get(verb, "") if "#" in flags else ""
        return _pad(_sign(value < 0, flags), prefix, body, width, flags, numeric)
    if verb in _FLOAT:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FormatError(f"{where} needs a number, not {type_name(value)}")
        value = float(value)
        body = _shortest(abs(value), verb) if precision is None and verb in "gG" else \
            format(abs(value), f".{6 if precision is None else precision}{verb}")
        return _pad(_sign(value < 0 or str(value) == "-0.0", flags), "", body, width, flags, numeric)
    if verb == "t":
        if not isinstance(value, bool):
            raise FormatError(f"{where} needs a bool, not {type_name(value)}")
        text = "true" if value else "false"
    elif verb == "v" and "#" in flags:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    elif verb == "v":
        text = plain(value) if not isinstance(value, (list, dict)) else json.dumps(value, ensure_ascii=False)
    else:
        if isinstance(value, (list, dict)) or value is None:
            raise FormatError(f"{where} needs a string, number or bool, not {type_name(value)}")
        text = plain(value)
        if verb == "q":
            text = json.dumps(text, ensure_ascii=False)
    if precision is not None and verb in "sv":
        text = text[:precision]
    return _pad("", "", text, width, flags - {"0"}, numeric)


def _shortest(value: float, verb: str) -> str:
    """Go's %g without a precision: the fewest digits that read back the same; an exponent below 1e-4 and
    from 1e6 on."""
    if value != value or value == float("inf"):
        return format(value, verb)
    number = Decimal(repr(value)).normalize()
    digits, exp = len(number.as_tuple().digits), number.adjusted()
    if exp < -4 or exp >= 6:
        return format(value, f".{digits - 1}{'e' if verb == 'g' else 'E'}")
    return format(value, f".{max(digits - 1 - exp, 0)}f")


def _sign(negative: bool, flags: set[str]) -> str:
    return "-" if negative else "+" if "+" in flags else " " if " " in flags else ""


def _pad(sign: str, prefix: str, body: str, width: int, flags: set[str], numeric: bool) -> str:
    fill = width - len(sign) - len(prefix) - len(body)
    if fill <= 0:
        return sign + prefix + body
    if "-" in flags:
        return sign + prefix + body + " " * fill
    if "0" in flags and numeric and body.lower() not in ("inf", "nan"):     # Go pads Inf and NaN with spaces
        return sign + prefix + "0" * fill + body
    return " " * fill + sign + prefix + body


def plain(value: Any) -> str:
    """A string, number or bool as text, the way Terraform writes it (3, not 3.0)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, (str, int, float)):
        return str(value)
    raise FormatError(f"cannot format {type_name(value)} as text")


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a bool", int: "a number", float: "a number", str: "a string", list: "a list"}.get(
        type(value), "a map" if isinstance(value, dict) else type(value).__name__)
