"""String templates: text with `${...}` interpolations and `%{ if }` / `%{ for }` directives.

    "web-${count.index}"
    "%{ if var.debug }-v%{ endif }"
    "%{ for ip in var.ips ~}
    server ${ip}
    %{ endfor ~}"

YAML strings and HCL heredocs are cut here (`parse_template`); HCL quoted strings
arrive already cut by python-hcl2's grammar. Both give a flat list of text,
interpolations and directive markers, which `assemble` nests into TemplateIf and
TemplateFor nodes. `~` next to a directive's brace strips the white space on that
side (a new line included); `$${` and `%%{` write `${` and `%{`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kvmstate.config.expressions import Expr, ExpressionError, Lit, Part, Template, TemplateFor, TemplateIf
from kvmstate.diagnostics import Position


@dataclass
class Directive:
    """A `%{ ... }` marker before assembly: kind is if, else, endif, for or endfor."""

    kind: str
    pos: Position
    strip_left: bool = False
    strip_right: bool = False
    expr: Expr | None = None
    names: tuple[str | None, str] = (None, "")


Flat = list[Any]             # str | Expr | Directive


def assemble(flat: Flat, pos: Position) -> Expr:
    """The template node of a flat part list; a template without expressions is a literal string."""
    _strip(flat)
    parts, end = _nest(flat, 0, None, pos)
    if end < len(flat):
        raise ExpressionError(f"This %{{{flat[end].kind}}} has no opening directive.", flat[end].pos)
    merged = _merge(parts)
    if all(isinstance(p, str) for p in merged):
        return Lit(pos, "".join(merged))          # type: ignore[arg-type]
    return Template(pos, merged)


def _strip(flat: Flat) -> None:
    for i, part in enumerate(flat):
        if not isinstance(part, Directive):
            continue
        if part.strip_left and i > 0 and isinstance(flat[i - 1], str):
            flat[i - 1] = flat[i - 1].rstrip()
        if part.strip_right and i + 1 < len(flat) and isinstance(flat[i + 1], str):
            flat[i + 1] = flat[i + 1].lstrip()


_CLOSERS = {"if": ("else", "endif"), "for": ("endfor",)}


def _nest(flat: Flat, i: int, opener: Directive | None, pos: Position) -> tuple[list[Part], int]:
    """Parts from index i up to the directive that closes `opener` (exclusive), and that index."""
    out: list[Part] = []
    closers = _CLOSERS[opener.kind] if opener else ()
    while i < len(flat):
        part = flat[i]
        if not isinstance(part, Directive):
            out.append(part)
            i += 1
            continue
        if part.kind in closers:
            return out, i
        if part.kind not in _CLOSERS:
            return out, i             # a closer nobody opened: the caller reports it
        body, end = _nest(flat, i + 1, part, pos)
        if end >= len(flat):
            raise ExpressionError(f"This %{{ {part.kind} }} has no %{{ end{part.kind} }}.", part.pos)
        if part.kind == "for":
            assert part.expr is not None
            out.append(TemplateFor(part.pos, part.names[0], part.names[1], part.expr, _merge(body)))
            i = end + 1
            continue
        otherwise: list[Part] = []
        if flat[end].kind == "else":
            otherwise, end = _nest(flat, end + 1, Directive("if", part.pos), pos)
            if end >= len(flat) or flat[end].kind != "endif":
                raise ExpressionError("This %{ if } has no %{ endif }.", part.pos)
        assert part.expr is not None
        out.append(TemplateIf(part.pos, part.expr, _merge(body), _merge(otherwise)))
        i = end + 1
    if opener is not None:
        return out, len(flat)
    return out, i


def _merge(parts: list[Part]) -> list[Part]:
    merged: list[Part] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    return merged


def parse_text(text: str, pos: Position) -> Expr:
    """One expression written as text (a YAML interpolation, a variable's type); all nodes get `pos`."""
    from kvmstate.config import plain_refs
    plain = plain_refs.parse(text, pos)
    if plain is not None:
        return plain                                    # the common case, without loading the grammar
    import hcl2
    from lark import Tree
    from lark.exceptions import LarkError

    from kvmstate.config.hcl_expr import build
    try:
        tree = hcl2.parses_to_tree(f"x = {text}\n")
        attrs = [c for c in tree.children[0].children if isinstance(c, Tree) and c.data == "attribute"]
    except (LarkError, ValueError, RecursionError):
        attrs = []
    if len(attrs) != 1:
        raise ExpressionError(f"{text!r} is not a valid expression.", pos)
    return build(attrs[0].children[-1], lambda _node: pos)


_DIRECTIVE = re.compile(r"^(?P<l>~?)\s*(?:(?P<kw>if|else|endif|endfor)\b(?P<rest>.*?)|for\s+(?P<k>[A-Za-z_]\w*)"
                        r"(?:\s*,\s*(?P<v>[A-Za-z_]\w*))?\s+in\b(?P<coll>.*?))\s*(?P<r>~?)$", re.DOTALL)


def directive(text: str, pos: Position) -> Directive:
    """The directive written inside `%{` and `}`."""
    m = _DIRECTIVE.match(text)
    if not m:
        raise ExpressionError(f"%{{{text}}} is not a directive; the directives are %{{ if COND }}, %{{ else }}, "
                              "%{ endif }, %{ for NAME in LIST } and %{ endfor }.", pos)
    strip = dict(strip_left=bool(m["l"]), strip_right=bool(m["r"]))
    if m["kw"]:
        rest = m["rest"].strip()
        if (m["kw"] == "if") != bool(rest):
            raise ExpressionError(f"%{{ {m['kw']} }} " + ("needs a condition." if m["kw"] == "if" else
                                                          "takes nothing after its keyword."), pos)
        return Directive(m["kw"], pos, expr=parse_text(rest, pos) if rest else None, **strip)
    names = (m["k"], m["v"]) if m["v"] else (None, m["k"])
    return Directive("for", pos, expr=parse_text(m["coll"].strip(), pos), names=names, **strip)


def parse_template(text: str, pos: Position) -> Any:
    """A YAML string or heredoc: plain text stays a string; text with `${...}` or `%{...}` becomes a
    template (`$${` and `%%{` escape)."""
    if "${" not in text and "%{" not in text:
        return text
    flat: Flat = []
    i = 0
    while i < len(text):
        starts = [s for s in (text.find("${", i), text.find("%{", i)) if s >= 0]
        if not starts:
            flat.append(text[i:])
            break
        start = min(starts)
        if start > 0 and text[start - 1] == text[start]:
            flat.append(text[i:start - 1] + text[start:start + 2])
            i = start + 2
            continue
        flat.append(text[i:start])
        end = _closing(text, start + 2)
        if end < 0:
            raise ExpressionError(f"The template part starting at {text[start:start + 20]!r} has no closing '}}'.",
                                  pos)
        inner = text[start + 2:end]
        flat.append(parse_text(inner, pos) if text[start] == "$" else directive(inner, pos))
        i = end + 1
    expr = assemble(flat, pos)
    return expr.value if isinstance(expr, Lit) else expr


def _closing(text: str, i: int) -> int:
    """The index of the `}` that closes an interpolation, skipping nested braces and quoted strings."""
    depth, quoted = 0, False
    while i < len(text):
        c = text[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1
