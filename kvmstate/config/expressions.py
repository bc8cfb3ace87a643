"""Expressions: the small syntax tree both file formats turn non-literal values into.

    var.vm_count                    Ref("var", ["vm_count"])
    volume.root[count.index].name   Ref("volume", ["root", Ref("count", ["index"]), "name"])
    "web-${count.index}"            Template(["web-", Ref("count", ["index"])])
    cidrhost(var.net, 10)           Call("cidrhost", [Ref(...), Lit(10)])

HCL values are built from python-hcl2's lark tree; YAML strings that contain
`${...}` are cut into text and interpolations, and each interpolation is parsed by
the same HCL grammar. No other syntax is accepted (no operators, conditionals or
`for`), and nothing is ever handed to `eval`. Every node keeps its position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Union

if TYPE_CHECKING:
    from lark import Tree

from kvmstate.config.limits import LimitError, check_depth
from kvmstate.config.source import Path
from kvmstate.diagnostics import Position


@dataclass
class Expr:
    pos: Position


@dataclass
class Lit(Expr):
    value: Any


@dataclass
class Template(Expr):
    parts: list[Union[str, Expr]]      # a template that is one interpolation yields that value, not a string


SPLAT = "[*]"     # a step: apply the steps after it to every item


@dataclass
class Ref(Expr):
    root: str
    steps: list[Union[str, Expr]] = field(default_factory=list)    # attribute names, index expressions, SPLAT

    def text(self) -> str:
        out = self.root
        for step in self.steps:
            out += SPLAT if step == SPLAT else f".{step}" if isinstance(step, str) else "[...]"
        return out


@dataclass
class Call(Expr):
    name: str
    args: list[Expr]


@dataclass
class TupleExpr(Expr):
    items: list[Expr]


@dataclass
class ObjectExpr(Expr):
    items: list[tuple[str, Position, Expr]]


@dataclass
class Neg(Expr):
    operand: Expr


class ExpressionError(Exception):
    """A value that is not a supported expression, at its position."""

    def __init__(self, message: str, pos: Position):
        super().__init__(message)
        self.pos = pos


SUPPORTED = ("Supported are literal values, references (var.NAME, count.index, each.key, each.value, "
             "TYPE.NAME.ATTRIBUTE, TYPE.NAME[*].ATTRIBUTE), string interpolation \"${...}\" and the functions file, templatefile, "
             "cidrhost, format, join and lookup.")

PosOf = Callable[[Any], Position]       # a lark Tree or Token -> its position


def build(node: Tree, pos_of: PosOf, depth: int = 0) -> Expr:
    """The expression of a python-hcl2 lark subtree; `depth` counts the lists, objects, calls and steps it is in."""
    from lark import Token, Tree        # lark loads only when an expression is parsed
    kind = node.data
    pos = pos_of(node)
    check_depth(depth, pos)
    if kind == "expr_term":
        inner = [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]
        if len(inner) == 1:
            return build(inner[0], pos_of, depth)
    elif kind == "literal_value":
        return Lit(pos, {"true": True, "false": False, "null": None}[str(node.children[0])])
    elif kind == "int_lit":
        return Lit(pos, _int(str(node.children[0]), pos))
    elif kind == "float_lit":
        return Lit(pos, float(str(node.children[0])))
    elif kind == "string":
        return _string(node, pos_of, depth)
    elif kind in ("heredoc_template", "heredoc_template_trim"):
        raw = str(node.children[0]).split("\n", 1)[1].rsplit("\n", 2)[0] + "\n"
        if kind == "heredoc_template_trim":
            lines = raw.splitlines(keepends=True)
            indent = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
            raw = "".join(ln[indent:] for ln in lines)
        return Lit(pos, raw)
    elif kind in ("identifier", "keyword"):
        return Ref(pos, str(node.children[0]))
    elif kind == "get_attr_expr_term":
        base, attr = node.children
        ref = build(base, pos_of, depth + 1)
        name = [c for c in attr.children if isinstance(c, Tree)][0]
        if isinstance(ref, Ref):
            return Ref(ref.pos, ref.root, ref.steps + [str(name.children[0])])
    elif kind == "index_expr_term":
        base, index = node.children
        ref = build(base, pos_of, depth + 1)
        if isinstance(ref, Ref):
            step: Expr
            if index.data == "short_index":
                step = Lit(pos_of(index), _int(str(index.children[-1]), pos_of(index)))
            else:
                step = build([c for c in index.children if isinstance(c, Tree) and c.data != "new_line_or_comment"][0],
                             pos_of, depth + 1)
            return Ref(ref.pos, ref.root, ref.steps + [step])
    elif kind in ("full_splat_expr_term", "attr_splat_expr_term"):
        base, splat = node.children
        ref = build(base, pos_of, depth + 1)
        if isinstance(ref, Ref):
            steps: list[str | Expr] = [SPLAT]
            for part in (c for c in splat.children if isinstance(c, Tree)):
                inner = build(Tree("index_expr_term" if part.data != "get_attr" else "get_attr_expr_term",
                                   [Tree("identifier", [Token("NAME", "x")]), part]), pos_of, depth + 1)
                steps.extend(inner.steps)     # type: ignore[union-attr]
            return Ref(ref.pos, ref.root, ref.steps + steps)
    elif kind == "function_call":
        parts = [c for c in node.children if isinstance(c, Tree)]
        if len(parts) <= 2 and not any(isinstance(c, Token) and c.type == "COLONS" for c in node.children):
            args = parts[1] if len(parts) == 2 else None
            if args is None or not any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in args.children):
                items = [build(a, pos_of, depth + 1) for a in (args.children if args else [])
                         if isinstance(a, Tree) and a.data != "new_line_or_comment"]
                return Call(pos, str(parts[0].children[0]), items)
    elif kind == "tuple":
        return TupleExpr(pos, [build(c, pos_of, depth + 1) for c in node.children
                               if isinstance(c, Tree) and c.data != "new_line_or_comment"])
    elif kind == "object":
        items = []
        for elem in (c for c in node.children if isinstance(c, Tree) and c.data == "object_elem"):
            key_node, value_node = [c for c in elem.children if isinstance(c, Tree)]
            key = build(key_node.children[0], pos_of, depth + 1) if isinstance(key_node.children[0], Tree) else None
            if isinstance(key, Ref) and not key.steps:
                name = key.root
            elif isinstance(key, Lit) and isinstance(key.value, str):
                name = key.value
            else:
                raise ExpressionError("An object key must be a name or a literal string.", pos_of(key_node))
            items.append((name, pos_of(elem), build(value_node, pos_of, depth + 1)))
        return ObjectExpr(pos, items)
    elif kind == "unary_op" and str(node.children[0]) == "-":
        return Neg(pos, build(node.children[1], pos_of, depth + 1))
    what = kind.replace("_", " ").replace("expr term", "expression")
    raise ExpressionError(f"This {what} is not supported. {SUPPORTED}", pos)


def _int(digits: str, pos: Position) -> int:
    if len(digits) > 100:
        raise LimitError(f"A number may have at most 100 digits; this one has {len(digits):,}.", pos)
    return int(digits)


_ESCAPES = re.compile(r'\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)')
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def unescape(text: str) -> str:
    def sub(m: re.Match) -> str:
        s = m.group(1)
        if s[0] in "uU":
            code = int(s[1:], 16)
            return chr(code) if code <= 0x10FFFF else m.group(0)
        return _SIMPLE.get(s, m.group(0))
    return _ESCAPES.sub(sub, text).replace("$${", "${").replace("%%{", "%{")


def _string(node: Tree, pos_of: PosOf, depth: int) -> Expr:
    from lark import Tree
    parts: list[str | Expr] = []
    for part in node.children:
        if not (isinstance(part, Tree) and part.data == "string_part"):
            continue
        inner = part.children[0]
        if isinstance(inner, Tree) and inner.data == "interpolation":
            expr = [c for c in inner.children if isinstance(c, Tree)][0]
            parts.append(build(expr, pos_of, depth + 1))
        elif isinstance(inner, Tree):
            raise ExpressionError(f"Template directives (%{{...}}) are not supported. {SUPPORTED}", pos_of(part))
        else:
            parts.append(unescape(str(inner)))
    return _template(pos_of(node), parts)


def _template(pos: Position, parts: list[str | Expr]) -> Expr:
    merged: list[str | Expr] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    if all(isinstance(p, str) for p in merged):
        return Lit(pos, "".join(merged))          # type: ignore[arg-type]
    return Template(pos, merged)


def parse_text(text: str, pos: Position) -> Expr:
    """One expression written as text (a YAML interpolation, a variable's type); all nodes get `pos`."""
    import hcl2
    from lark import Tree
    from lark.exceptions import LarkError
    try:
        tree = hcl2.parses_to_tree(f"x = {text}\n")
        attrs = [c for c in tree.children[0].children if isinstance(c, Tree) and c.data == "attribute"]
    except (LarkError, ValueError, RecursionError):
        attrs = []
    if len(attrs) != 1:
        raise ExpressionError(f"{text!r} is not a valid expression. {SUPPORTED}", pos)
    return build(attrs[0].children[-1], lambda _node: pos)


def parse_template(text: str, pos: Position) -> Any:
    """A YAML string: plain text stays a string; text with `${...}` becomes a Template (`$${` escapes)."""
    if "${" not in text:
        return text
    parts: list[str | Expr] = []
    i = 0
    while i < len(text):
        start = text.find("${", i)
        if start < 0:
            parts.append(text[i:])
            break
        if start > 0 and text[start - 1] == "$":
            parts.append(text[i:start - 1] + "${")
            i = start + 2
            continue
        parts.append(text[i:start])
        end = _closing(text, start + 2)
        if end < 0:
            raise ExpressionError(f"The interpolation starting at {text[start:start + 20]!r} has no closing '}}'.", pos)
        parts.append(parse_text(text[start + 2:end], pos))
        i = end + 1
    expr = _template(pos, parts)
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


def fold(expr: Expr, path: Path, positions: dict[Path, Position]) -> Any:
    """Plain data where the expression is literal (lists and objects stay containers, recording the
    position of every item); the expression itself where it must be evaluated."""
    if isinstance(expr, Lit):
        return expr.value
    if isinstance(expr, TupleExpr):
        out = []
        for item in expr.items:
            positions[path + (len(out),)] = item.pos
            out.append(fold(item, path + (len(out),), positions))
        return out
    if isinstance(expr, ObjectExpr):
        obj = {}
        for key, kpos, value in expr.items:
            positions[path + (key,)] = kpos
            obj[key] = fold(value, path + (key,), positions)
        return obj
    if isinstance(expr, Neg) and isinstance(expr.operand, Lit) and type(expr.operand.value) in (int, float):
        return -expr.operand.value
    return expr


def contains_expr(value: Any) -> bool:
    if isinstance(value, Expr):
        return True
    if isinstance(value, dict):
        return any(contains_expr(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_expr(v) for v in value)
    return False


def refs_in(value: Any) -> list[Ref]:
    """Every reference in a value or expression, nested ones included."""
    out: list[Ref] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, Ref):
            out.append(v)
            stack.extend(s for s in v.steps if isinstance(s, Expr))
        elif isinstance(v, Template):
            stack.extend(p for p in v.parts if isinstance(p, Expr))
        elif isinstance(v, Call):
            stack.extend(v.args)
        elif isinstance(v, TupleExpr):
            stack.extend(v.items)
        elif isinstance(v, ObjectExpr):
            stack.extend(e for _, _, e in v.items)
        elif isinstance(v, Neg):
            stack.append(v.operand)
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return out
