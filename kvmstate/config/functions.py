"""The functions expressions may call: file, templatefile, cidrhost, format, join, lookup.

Each takes evaluated arguments and returns a plain value, or raises FunctionError
with a sentence for the user. Paths are relative to the folder of the file that
calls the function. Templates render in Jinja2's sandbox with strict undefined
variables: a template can read the variables it is given and nothing else.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable



class FunctionError(Exception):
    """A function called with arguments it cannot use."""


def _text(base: Path, name: Any) -> tuple[Path, str]:
    path = base / _str(name, "the path")
    try:
        return path, path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FunctionError(f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}") from None


def _str(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FunctionError(f"{what} must be a string, not {type_name(value)}")
    return str(value)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a bool", int: "a number", float: "a number", str: "a string", list: "a list"}.get(
        type(value), "a map" if isinstance(value, dict) else type(value).__name__)


def file(base: Path, path: Any) -> str:
    return _text(base, path)[1]


@lru_cache(maxsize=1)
def _sandbox():
    """The Jinja2 sandbox for templatefile (jinja2 loads on first use)."""
    import jinja2.sandbox
    return jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False,
                                               keep_trailing_newline=True)


def templatefile(base: Path, path: Any, variables: Any = None) -> str:
    source, text = _text(base, path)
    if variables is None:
        variables = {}
    if not isinstance(variables, dict):
        raise FunctionError(f"the template's variables must be a map, not {type_name(variables)}")
    import jinja2
    try:
        return _sandbox().from_string(text).render(**variables)
    except jinja2.TemplateSyntaxError as exc:
        raise FunctionError(f"{source} line {exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise FunctionError(f"{source}: {exc.message}; pass it in the second argument") from None
    except jinja2.exceptions.SecurityError as exc:
        raise FunctionError(f"{source}: the template did something the sandbox forbids ({exc})") from None
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise FunctionError(f"{source}: {exc}") from None


def cidrhost(base: Path, prefix: Any, hostnum: Any) -> str:
    try:
        net = ipaddress.ip_network(_str(prefix, "the prefix"), strict=False)
    except ValueError as exc:
        raise FunctionError(f"{prefix!r} is not a network prefix such as 10.0.0.0/24 ({exc})") from None
    if isinstance(hostnum, bool) or not isinstance(hostnum, int):
        raise FunctionError(f"the host number must be a whole number, not {type_name(hostnum)}")
    if not -net.num_addresses <= hostnum < net.num_addresses:
        raise FunctionError(f"host number {hostnum} is outside {net}, which has {net.num_addresses} addresses")
    return str(net[hostnum])


_VERB = re.compile(r"%(-?)(\d*)(?:\.(\d+))?([sdfvq%])")


def format(base: Path, spec: Any, *args: Any) -> str:
    spec = _str(spec, "the format")
    values = list(args)

    def sub(m: re.Match) -> str:
        left, width, precision, verb = m.groups()
        if verb == "%":
            return "%"
        if not values:
            raise FunctionError(f"{spec!r} needs more arguments than the {len(args)} given")
        value = values.pop(0)
        if verb == "d":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
                raise FunctionError(f"%d needs a whole number, not {type_name(value)}")
            text = str(int(value))
        elif verb == "f":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise FunctionError(f"%f needs a number, not {type_name(value)}")
            text = f"{value:.{int(precision) if precision else 6}f}"
        else:
            text = _str(value, f"%{verb}'s argument") if verb != "v" else _plain(value)
            if verb == "q":
                text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return text.ljust(int(width)) if left and width else text.rjust(int(width)) if width else text

    out = _VERB.sub(sub, spec)
    if values:
        raise FunctionError(f"{spec!r} uses fewer arguments than the {len(args)} given")
    return out


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise FunctionError(f"cannot format {type_name(value)} as text")


def join(base: Path, separator: Any, items: Any) -> str:
    if not isinstance(items, list):
        raise FunctionError(f"the second argument must be a list, not {type_name(items)}")
    return _str(separator, "the separator").join(_plain(i) for i in items)


_MISSING = object()


def lookup(base: Path, mapping: Any, key: Any, default: Any = _MISSING) -> Any:
    if not isinstance(mapping, dict):
        raise FunctionError(f"the first argument must be a map, not {type_name(mapping)}")
    key = _str(key, "the key")
    if key in mapping:
        return mapping[key]
    if default is _MISSING:
        raise FunctionError(f"the map has no key {key!r} (keys: {', '.join(map(str, mapping)) or 'none'}); "
                            "give a default as the third argument")
    return default


FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {      # name -> (function, min args, max args)
    "file": (file, 1, 1),
    "templatefile": (templatefile, 1, 2),
    "cidrhost": (cidrhost, 2, 2),
    "format": (format, 1, 64),
    "join": (join, 2, 2),
    "lookup": (lookup, 2, 3),
}


def call(name: str, base: Path, args: list[Any]) -> Any:
    fn, low, high = FUNCTIONS[name]
    if not low <= len(args) <= high:
        want = str(low) if low == high else f"{low} to {high}"
        raise FunctionError(f"{name}() takes {want} arguments, not {len(args)}")
    return fn(base, *args)
