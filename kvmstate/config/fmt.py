"""`kvmstate fmt`: rewrite HCL and YAML files in one canonical layout, keeping every comment.

HCL: two spaces per nesting level, one space around `=`, the `=` of consecutive
one-line attributes aligned, no trailing spaces, at most one blank line in a row,
one newline at the end. Heredoc bodies and comments are kept as written. The
result must parse to the same values as the original, or the file is left alone.

YAML: ruamel's round trip (comments kept) with two-space mappings and sequences
indented two spaces under their key.
"""

from __future__ import annotations

import io
import re

import hcl2
from lark.exceptions import LarkError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from kvmstate.diagnostics import Position, error

_ATTRIBUTE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*=(?![=>])\s*(.*)$")
_BLOCK = re.compile(r'^[A-Za-z_][A-Za-z0-9_-]*(\s+("[^"\\]*"|[A-Za-z_][A-Za-z0-9_-]*))*\s*\{$')
_HEREDOC = re.compile(r"<<-?([A-Za-z][A-Za-z0-9._-]*)\s*$")


def format_text(filename: str, text: str) -> str:
    """The formatted text of a file (by its extension); raises a DiagnosticError when it does not parse."""
    if filename.endswith(".hcl") or filename.endswith(".tfvars"):
        return format_hcl(filename, text)
    return format_yaml(filename, text)


def format_yaml(filename: str, text: str) -> str:
    yaml = YAML(typ="rt", pure=True)
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    yaml.width = 4096
    try:
        doc = yaml.load(text)
    except YAMLError as exc:
        raise error("Invalid YAML", f"{filename} does not parse, so it is not formatted: {exc}".splitlines()[0],
                    position=Position(filename, 1)) from None
    if doc is None:
        return text
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def format_hcl(filename: str, text: str) -> str:
    before = _parse(filename, text)
    lines: list[str] = []
    depth = 0
    heredoc: str | None = None
    in_comment = False
    for raw in text.splitlines():
        if heredoc is not None:
            lines.append(raw)
            if raw.strip() == heredoc:
                heredoc = None
            continue
        line = raw.strip()
        if in_comment:
            lines.append(raw.rstrip())
            in_comment = "*/" not in line
            continue
        code = _code(line)
        closes = len(code) - len(code.lstrip("}])"))
        indent = max(depth - closes, 0)
        m = _ATTRIBUTE.match(line)
        if m:
            line = f"{m.group(1)} = {m.group(2)}"
        elif _BLOCK.match(line):
            line = " ".join(line[:-1].split()) + " {"
        lines.append("  " * indent + line if line else "")
        depth = max(depth + sum(code.count(c) for c in "{[(") - sum(code.count(c) for c in "}])"), 0)
        found = _HEREDOC.search(code)
        if found:
            heredoc = found.group(1)
        if "/*" in code and "*/" not in line[line.index("/*"):]:
            in_comment = True
    out = "\n".join(_align(_squeeze(lines))).strip("\n") + "\n"
    if _parse(filename, out) != before:
        return text      # never change what a file means
    return out


def _parse(filename: str, text: str) -> dict:
    try:
        return hcl2.loads(text if text.endswith("\n") else text + "\n")
    except (LarkError, ValueError, RecursionError) as exc:
        line = getattr(exc, "line", 1) or 1
        raise error("Invalid HCL", f"{filename} does not parse, so it is not formatted.",
                    position=Position(filename, line, getattr(exc, "column", 1) or 1)) from None


def _code(line: str) -> str:
    """The line without string contents and comments, for counting brackets."""
    out, quoted, i = [], False, 0
    while i < len(line):
        c = line[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
            out.append('""')
        elif c == "#" or line.startswith("//", i):
            break
        elif line.startswith("/*", i):
            end = line.find("*/", i + 2)
            if end < 0:
                out.append("/*")
                break
            i = end + 1
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _squeeze(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line == "" and (not out or out[-1] == "" or out[-1].endswith("{")):
            continue
        if line.strip() == "}" and out and out[-1] == "":
            out.pop()
        out.append(line)
    return out


def _align(lines: list[str]) -> list[str]:
    """Align the `=` of consecutive single-line attributes at the same indentation."""
    out = list(lines)
    group: list[int] = []

    def flush() -> None:
        width = max((len(out[i].split(" = ", 1)[0]) for i in group), default=0)
        for i in group:
            name, value = out[i].split(" = ", 1)
            out[i] = f"{name.ljust(width)} = {value}"
        group.clear()

    for i, line in enumerate(lines):
        stripped = line.strip()
        m = _ATTRIBUTE.match(stripped)
        single = m and _code(stripped).count("{") + _code(stripped).count("[") + _code(stripped).count("(") == \
            _code(stripped).count("}") + _code(stripped).count("]") + _code(stripped).count(")") and \
            not _HEREDOC.search(_code(stripped))
        same = group and len(lines[group[0]]) - len(lines[group[0]].lstrip()) == len(line) - len(line.lstrip())
        if single and (not group or same):
            group.append(i)
            continue
        flush()
        if single:
            group.append(i)
    flush()
    return out
