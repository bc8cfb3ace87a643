"""Build expression trees (kvmstate.config.expressions) from python-hcl2's lark syntax tree.

Every node gets the position of its lark subtree; `depth` counts the lists,
objects, calls, operators and steps a node is in and is held to limits.MAX_DEPTH.
Heredocs are templates (kvmstate.config.templates); quoted strings arrive cut into
text, interpolations and directives by the grammar.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from lark import Tree

from kvmstate.config.expressions import (SPLAT, Access, Binary, Call, Cond, Expr, ExpressionError, For, Lit,
                                         ObjectExpr, Ref, TupleExpr, Unary)
from kvmstate.config.limits import MAX_NUMBER, LimitError, check_depth, in_range
from kvmstate.config.templates import Directive, assemble, parse_template
from kvmstate.diagnostics import Position

PosOf = Callable[[Any], Position]       # a lark Tree or Token -> its position


def _trees(node: Tree) -> list[Tree]:
    from lark import Tree
    return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def _tokens(node: Tree) -> list[str]:
    from lark import Token
    return [str(c) for c in node.children if isinstance(c, Token)]


def build(node: Tree, pos_of: PosOf, depth: int = 0) -> Expr:
    """The expression of a python-hcl2 lark subtree."""
    kind = node.data
    pos = pos_of(node)
    check_depth(depth, pos)
    handler = _HANDLERS.get(kind)
    if handler is not None:
        return handler(node, pos, pos_of, depth)
    what = kind.replace("_", " ").replace("expr term", "expression")
    raise ExpressionError(f"This {what} is not supported.", pos)


def _expr_term(node: Tree, pos: Position, pos_of: PosOf, depth: int) -> Expr:
    inner = _trees(node)
    if len(inner) != 1:
        raise ExpressionError("This expression is not supported.", pos)
    return build(inner[0], pos_of, depth)


def _literal(node: Tree, pos: Position, pos_of: PosOf, depth: int) -> Expr:
    return Lit(pos, {"true": True, "false": False, "null": None}[str(node.children[0])])


def _number(node: Tree, pos: Position, pos_of: PosOf, depth: int) -> Expr:
    digits = str(node.children[0])
    if len(digits) > 100:
        raise LimitError(f"A number may have at most 100 digits; this one has {len(digits):,}.", pos)
    value = int(digits) if node.data == "int_lit" else float(digits)
    if not in_range(value):                     # also catches the infinity that 1e400 reads as
        raise LimitError(f"{digits} is larger than {MAX_NUMBER:.0e}, the largest number kvmstate computes.", pos)
    return Lit(pos, value)


def _heredoc(node: Tree, pos: Position, pos_of: PosOf, depth: int) -> Expr:
    raw = str(node.children[0]).split("\n", 1)[1].rsplit("\n", 2)[0] + "\n"
    if node.data == "heredoc_template_trim":
        lines = raw.splitlines(keepends=True)
        indent = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
        raw = "".join(ln[indent:] for ln in lines)
    value = parse_template(raw, pos)
    return value if isinstance(value, Expr) else Lit(pos, value)


def _identifier(node: Tree, pos: Position, pos_of: PosOf, depth: int) -> Expr:
    return Ref(pos, str(node.children[0]))


def _with_steps(base: Expr, steps: list, pos: Position) -> Expr:
    if isinstance(base, Ref):
        return Ref(base.pos, base.root, base.steps + steps)
    if isinstance(base, Access):
        return Access(base.pos, base.base, base.steps + steps)
    return Access(pos, base, steps)


def _step(part: Tree, pos_of: PosOf, depth: int) -> str | Expr:
    if part.data == "get_attr":
        return str(_trees(part)[0].children[0])
    if part.data == "short_index":
        digits = str(part.children[-1])
        return Lit(pos_of(part), int(digits) if len(digits) <= 100 else 0)
    return build(_trees(part)[0], pos_of, depth + 1)


def _access(node: Tree, pos: Position, pos_of: PosOf, depth: int) -> Expr:
    base, part = node.children
    steps: list[str | Expr]
    if node.data in ("full_splat_expr_term", "attr_splat_expr_term"):
        steps = [SPLAT] + [_step(p, pos_of, depth) for p in _trees(part)]
    else:
        steps = [_step(part, pos_of, depth)]
    return _with_steps(build(base, pos_of, depth + 1), steps, pos)


def _call(node: Tree, pos: Position, pos_of: PosOf, depth: int) -> Expr:
    parts = _trees(node)
    if "::" in _tokens(node):
        raise ExpressionError("Provider functions (NAMESPACE::NAME) are not supported.", pos)
    args = parts[1] if len(parts) == 2 else None
    items = [build(a, pos_of, depth + 1) for a in (_trees(args) if args is not None else [])]
    return Call(pos, str(parts[0].children[0]), items, args is not None and "..." in _tokens(args))


def _tuple(node: Tree, pos: Position, pos_of: PosOf, depth: int) -> Expr:
    return TupleExpr(pos, [build(c, pos_of, depth + 1) for c in _trees(node)])


def _object(node: Tree, pos: Position, pos_of: PosOf, depth: int) -> Expr:
    items: list[tuple[str | Expr, Position, Expr]] = []
    for elem in (c for c in _trees(node) if c.data == "object_elem"):
        key_node, value_node = _trees(elem)
        key_tree = key_node.children[0]
        key: str | Expr
        if not hasattr(key_tree, "data"):
            key = str(key_tree)                       # a keyword used as a key: { for = 1 }
        else:
            built = build(key_tree, pos_of, depth + 1)
            if isinstance(built, Ref) and not built.steps:
                key = built.root
            elif isinstance(built, Lit) and isinstance(built.value, str):
                key = built.value
            else:
                key = built                           # (expr) = value, "${x}" = value
        items.append((key, pos_of(elem), build(value_node, pos_of, depth + 1)))
    return ObjectExpr(pos, items)


def _unary(node: Tree, pos: Position, pos_of: PosOf, depth: int) -> Expr:
    return Unary(pos, str(node.children[0]), build(node.children[1], pos_of, depth + 1))


def _binary(node: Tree, pos: Position, pos_of: PosOf, depth: int) -> Expr:
    left, term = _trees(node)
    op_node, right = _trees(term)
    return Binary(pos_of(op_node), str(op_node.children[0]), build(left, pos_of, depth + 1),
                  build(right, pos_of, depth + 1))


def _conditional(node: Tree, pos: Position, pos_of: PosOf, depth: int) -> Expr:
    cond, then, otherwise = (build(c, pos_of, depth + 1) for c in _trees(node))
    return Cond(pos, cond, then, otherwise)


def _for(node: Tree, pos: Position, pos_of: PosOf, depth: int) -> Expr:
    intro, *rest = _trees(node)
    names = [str(c.children[0]) for c in _trees(intro) if c.data == "identifier"]
    collection = build(_trees(intro)[-1], pos_of, depth + 1)
    cond = None
    if rest and rest[-1].data == "for_cond":
        cond = build(_trees(rest.pop())[0], pos_of, depth + 1)
    exprs = [build(c, pos_of, depth + 1) for c in rest]
    key, value = (names[0], names[1]) if len(names) == 2 else (None, names[0])
    if node.data == "for_tuple_expr":
        return For(pos, key, value, collection, exprs[0], None, cond)
    return For(pos, key, value, collection, exprs[1], exprs[0], cond, "..." in _tokens(node))


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


def _string(node: Tree, pos: Position, pos_of: PosOf, depth: int) -> Expr:
    from lark import Tree
    flat: list[Any] = []
    for part in node.children:
        if not (isinstance(part, Tree) and part.data == "string_part"):
            continue
        inner = part.children[0]
        if not isinstance(inner, Tree):
            flat.append(unescape(str(inner)))
        elif inner.data == "interpolation":
            flat.append(build(_trees(inner)[0], pos_of, depth + 1))
        else:
            flat.append(_directive(inner, pos_of, depth))
    return assemble(flat, pos)


def _directive(node: Tree, pos_of: PosOf, depth: int) -> Directive:
    kind = node.data.removeprefix("template_").removesuffix("_start")
    tokens = _tokens(node)
    keyword = next(i for i, t in enumerate(tokens) if t in ("if", "else", "endif", "for", "endfor"))
    strip = dict(strip_left="~" in tokens[:keyword], strip_right="~" in tokens[keyword + 1:])
    trees = _trees(node)
    pos = pos_of(node)
    if kind == "for":
        names = [str(c.children[0]) for c in trees if c.data == "identifier"]
        expr = build(trees[-1], pos_of, depth + 1)
        return Directive("for", pos, expr=expr, names=(names[0], names[1]) if len(names) == 2 else (None, names[0]),
                         **strip)
    return Directive(kind, pos, expr=build(trees[0], pos_of, depth + 1) if trees else None, **strip)


_HANDLERS: dict[str, Callable[[Any, Position, PosOf, int], Expr]] = {
    "expr_term": _expr_term, "literal_value": _literal, "int_lit": _number, "float_lit": _number,
    "string": _string, "heredoc_template": _heredoc, "heredoc_template_trim": _heredoc,
    "identifier": _identifier, "keyword": _identifier,
    "get_attr_expr_term": _access, "index_expr_term": _access, "full_splat_expr_term": _access,
    "attr_splat_expr_term": _access, "function_call": _call, "tuple": _tuple, "object": _object,
    "unary_op": _unary, "binary_op": _binary, "conditional": _conditional,
    "for_tuple_expr": _for, "for_object_expr": _for,
}
