"""Functions that read files: file, fileexists, templatefile.

Paths are relative to the configuration's folder; a file may hold at most
limits.MAX_STRING bytes. Templates render in Jinja2's sandbox with strict undefined
variables: a template can read the variables it is given and nothing else.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any


from kvmstate.config.functions.base import FunctionError, function, string
from kvmstate.config.limits import MAX_STRING, LimitError
from kvmstate.config.printf import type_name


def _text(base: Path, name: Any) -> tuple[Path, str]:
    path = base / string(name, "the path")
    try:
        if path.stat().st_size > MAX_STRING:
            raise LimitError(f"{path} is larger than {MAX_STRING:,} bytes, the most a file may hold for file() "
                             "and templatefile()")
        return path, path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FunctionError(f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}") from None


@function
def file(path: Any, *, base: Path) -> str:
    return _text(base, path)[1]


@function
def fileexists(path: Any, *, base: Path) -> bool:
    target = base / string(path, "the path")
    try:
        return target.is_file()
    except OSError as exc:
        raise FunctionError(f"cannot check {target}: {exc.strerror}") from None


@lru_cache(maxsize=1)
def _sandbox():
    """Jinja's sandbox for templatefile, where `*` and `**` cannot make a value larger than a string may be
    (jinja2 loads on first use)."""
    import jinja2.sandbox

    class Sandbox(jinja2.sandbox.SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and isinstance(right, int) and abs(right) > 1024:
                raise LimitError("a template raised a number to a power above 1024")
            if operator == "*":
                sized = [n for n in (left, right) if isinstance(n, (str, list, tuple))]
                times = [n for n in (left, right) if isinstance(n, int)]
                if sized and times and len(sized[0]) * times[0] > MAX_STRING:
                    raise LimitError(f"a template repeated a value to more than {MAX_STRING:,} items")
            return super().call_binop(context, operator, left, right)

    return Sandbox(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)


def _no_interpolation(source: Path, text: str, variables: dict) -> None:
    """A Terraform-style `${name}` of a variable the template is given would be written as it is (Jinja2 reads
    `{{ name }}`): an error rather than a seed that says `hostname: ${name}`. Other `${...}` (a shell script's
    `${HOME}`) are text."""
    for m in re.finditer(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}", text):
        if m.group(1) in variables:
            line = text.count("\n", 0, m.start()) + 1
            raise FunctionError(f"{source} line {line} writes {m.group(0)}, Terraform's interpolation; "
                                f"kvmstate's templates are Jinja2: write {{{{ {m.group(1)} }}}}")


@function
def templatefile(path: Any, variables: Any = None, *, base: Path) -> str:
    source, text = _text(base, path)
    if variables is None:
        variables = {}
    if not isinstance(variables, dict):
        raise FunctionError(f"the template's variables must be a map, not {type_name(variables)}")
    _no_interpolation(source, text, variables)
    import jinja2
    try:
        out, size = [], 0
        for chunk in _sandbox().from_string(text).generate(**variables):
            size += len(chunk)
            if size > MAX_STRING:
                raise LimitError(f"{source} renders to more than {MAX_STRING:,} characters")
            out.append(chunk)
        return "".join(out)
    except jinja2.TemplateSyntaxError as exc:
        raise FunctionError(f"{source} line {exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise FunctionError(f"{source}: {exc.message}; pass it in the second argument") from None
    except jinja2.exceptions.SecurityError as exc:
        raise FunctionError(f"{source}: the template did something the sandbox forbids ({exc})") from None
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise FunctionError(f"{source}: {exc}") from None
