"""Expressions: the syntax tree both file formats turn non-literal values into.

    var.vm_count                    Ref("var", ["vm_count"])
    volume.root[count.index].name   Ref("volume", ["root", Ref("count", ["index"]), "name"])
    "web-${count.index}"            Template(["web-", Ref("count", ["index"])])
    cidrhost(var.net, 10)           Call("cidrhost", [Ref(...), Lit(10)])
    var.n * 2 + 1                   Binary("+", Binary("*", Ref(...), Lit(2)), Lit(1))
    var.big ? 4096 : 1024           Cond(Ref(...), Lit(4096), Lit(1024))
    [for k, v in var.m : v if k != "x"]            For(...)
    {for vm in var.vms : vm.group => vm.name...}   For(..., group=True)
    func(x)[0].name, local.vms[*].name             Access(Call(...), [Lit(0), "name"])
    "%{ if var.on }on%{ else }off%{ endif }"       Template([TemplateIf(...)])

HCL values are built from python-hcl2's lark tree (kvmstate.config.hcl_expr);
YAML strings and HCL heredocs are templates cut by kvmstate.config.templates,
whose interpolations go through the same HCL grammar. The tree is built once per
block and evaluated once per instance (kvmstate.config.evaluate); nothing is ever
handed to `eval`. Every node keeps its position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from kvmstate.config.source import Path
from kvmstate.diagnostics import Position


@dataclass
class Expr:
    pos: Position


@dataclass
class Lit(Expr):
    value: Any


Part = Union[str, Expr]


@dataclass
class Template(Expr):
    parts: list[Part]      # a template that is one interpolation yields that value, not a string


@dataclass
class TemplateIf(Expr):
    cond: Expr
    then: list[Part]
    otherwise: list[Part]


@dataclass
class TemplateFor(Expr):
    key: str | None
    value: str
    collection: Expr
    body: list[Part]


SPLAT = "[*]"     # a step: apply the steps after it to every item


@dataclass
class Ref(Expr):
    root: str
    steps: list[Union[str, Expr]] = field(default_factory=list)    # attribute names, index expressions, SPLAT

    def text(self) -> str:
        return self.root + steps_text(self.steps)


@dataclass
class Access(Expr):
    """Attributes, indexes and splats applied to a value that is not a plain reference: f(x)[0].name."""

    base: Expr
    steps: list[Union[str, Expr]]

    def text(self) -> str:
        return "(...)" + steps_text(self.steps)


def steps_text(steps: list) -> str:
    out = ""
    for step in steps:
        out += SPLAT if step == SPLAT else f".{step}" if isinstance(step, str) else "[...]"
    return out


@dataclass
class Call(Expr):
    name: str
    args: list[Expr]
    expand_last: bool = False          # f(list...): the last argument's items are the arguments


@dataclass
class TupleExpr(Expr):
    items: list[Expr]


@dataclass
class ObjectExpr(Expr):
    items: list[tuple[Union[str, Expr], Position, Expr]]        # a key is a name, or an expression: (k) = v


@dataclass
class Unary(Expr):
    op: str                            # "-" or "!"
    operand: Expr


@dataclass
class Binary(Expr):
    op: str                            # + - * / % == != < > <= >= && ||
    left: Expr
    right: Expr


@dataclass
class Cond(Expr):
    cond: Expr
    then: Expr
    otherwise: Expr


@dataclass
class For(Expr):
    key: str | None                    # `for k, v in ...`: k; `for v in ...`: None
    value: str
    collection: Expr
    result: Expr                       # the item (list) or the value (object)
    result_key: Expr | None = None     # an object `for`: the key expression
    cond: Expr | None = None
    group: bool = False                # `...`: values with the same key are grouped into lists


class ExpressionError(Exception):
    """A value that is not a supported expression, at its position."""

    def __init__(self, message: str, pos: Position):
        super().__init__(message)
        self.pos = pos


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
    if isinstance(expr, ObjectExpr) and all(isinstance(k, str) for k, _, _ in expr.items):
        obj = {}
        for key, kpos, value in expr.items:
            positions[path + (key,)] = kpos
            obj[key] = fold(value, path + (key,), positions)   # type: ignore[index]
        return obj
    if isinstance(expr, Unary) and expr.op == "-" and isinstance(expr.operand, Lit) \
            and type(expr.operand.value) in (int, float):
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


def children(v: Any) -> list[Any]:
    """The values and expressions directly inside an expression (or a body)."""
    if isinstance(v, (Ref, Access)):
        return ([v.base] if isinstance(v, Access) else []) + [s for s in v.steps if isinstance(s, Expr)]
    if isinstance(v, Template):
        return [p for p in v.parts if isinstance(p, Expr)]
    if isinstance(v, TemplateIf):
        return [v.cond, *v.then, *v.otherwise]
    if isinstance(v, TemplateFor):
        return [v.collection, *v.body]
    if isinstance(v, Call):
        return list(v.args)
    if isinstance(v, TupleExpr):
        return list(v.items)
    if isinstance(v, ObjectExpr):
        return [x for k, _, e in v.items for x in ((k, e) if isinstance(k, Expr) else (e,))]
    if isinstance(v, Unary):
        return [v.operand]
    if isinstance(v, Binary):
        return [v.left, v.right]
    if isinstance(v, Cond):
        return [v.cond, v.then, v.otherwise]
    if isinstance(v, For):
        return [e for e in (v.collection, v.result_key, v.result, v.cond) if e is not None]
    if isinstance(v, dict):
        return list(v.values())
    if isinstance(v, list):
        return list(v)
    return []


def refs_in(value: Any) -> list[Ref]:
    """Every reference in a value or expression, nested ones included. References to the names a `for`
    binds are left out inside that `for`."""
    out: list[Ref] = []
    stack: list[tuple[Any, frozenset[str]]] = [(value, frozenset())]
    while stack:
        v, bound = stack.pop()
        if isinstance(v, Ref) and v.root not in bound:
            out.append(v)
        if isinstance(v, (For, TemplateFor)):
            inner = bound | {n for n in (v.key, v.value) if n}
            stack.append((v.collection, bound))
            stack.extend((c, inner) for c in children(v) if c is not v.collection)
        else:
            stack.extend((c, bound) for c in children(v))
    return out
