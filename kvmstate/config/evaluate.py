"""Evaluate expressions in a scope: variables, the instance's count.index or each, and resources.

A reference to a resource reads one instance's values: its desired attributes
(defaults included) and `name`, its libvirt object name; outputs evaluated after
apply read the state instead, where provider-computed values (`computed`) are
merged in. `domain.web` is the single instance of a resource; of a repeated one it
is the list (count) or map (for_each) of its instances, and `domain.web[0]`,
`domain.web["a"]` pick one. Every instance reached is recorded in `Scope.used`,
so the graph gets an edge to exactly the instances an expression read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kvmstate.addrs import Address
from kvmstate.config.expressions import SPLAT, Call, Expr, Lit, Neg, ObjectExpr, Ref, Template, TupleExpr
from kvmstate.config.functions import FUNCTIONS, FunctionError, call, type_name
from kvmstate.config.limits import MAX_STRING, Budget, LimitError, check_depth
from kvmstate.diagnostics import Position


class EvalError(Exception):
    def __init__(self, summary: str, detail: str, pos: Position):
        super().__init__(detail)
        self.summary = summary
        self.detail = detail
        self.pos = pos


class InstanceValue(dict):
    """The values of one resource instance, as seen by references; knows its address."""

    def __init__(self, address: Address, values: dict[str, Any]):
        super().__init__(values)
        self.address = address


@dataclass
class ResourceValues:
    """The instances of one resource: key None for a single resource, ints for count, strings for for_each."""

    mode: str | None                                   # None, "count" or "for_each"
    instances: dict[Any, InstanceValue] = field(default_factory=dict)


@dataclass
class Scope:
    base: Path                                          # folder that file() and templatefile() read from
    variables: dict[str, Any] = field(default_factory=dict)
    resources: dict[tuple[str, str], ResourceValues] = field(default_factory=dict)
    resource_types: frozenset[str] = frozenset()
    count_index: int | None = None
    each: tuple[str, Any] | None = None
    used: set[Address] = field(default_factory=set)
    budget: Budget = field(default_factory=Budget)      # shared by the copies of a scope: one per load
    workspace: str = "default"                          # kvmstate.workspace: the state's workspace, e.g. pr-123


def evaluate(value: Any, scope: Scope, depth: int = 0) -> Any:
    """A body or expression with every expression replaced by its value."""
    if isinstance(value, (dict, list, Expr)):
        try:
            check_depth(depth)
        except LimitError as exc:
            raise EvalError(exc.summary, str(exc), getattr(value, "pos", None)) from None
    if isinstance(value, dict) and not isinstance(value, InstanceValue):
        return {k: evaluate(v, scope, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [evaluate(v, scope, depth + 1) for v in value]
    if not isinstance(value, Expr):
        return value
    if isinstance(value, Lit):
        return value.value
    if isinstance(value, Template):
        if len(value.parts) == 1 and isinstance(value.parts[0], Expr):
            return evaluate(value.parts[0], scope, depth + 1)
        parts = [p if isinstance(p, str) else _text(evaluate(p, scope, depth + 1), p.pos) for p in value.parts]
        return _spend(scope, "".join(parts) if sum(map(len, parts)) <= MAX_STRING else parts, value.pos)
    if isinstance(value, TupleExpr):
        return [evaluate(v, scope, depth + 1) for v in value.items]
    if isinstance(value, ObjectExpr):
        return {k: evaluate(v, scope, depth + 1) for k, _, v in value.items}
    if isinstance(value, Neg):
        operand = evaluate(value.operand, scope, depth + 1)
        if isinstance(operand, bool) or not isinstance(operand, (int, float)):
            raise EvalError("Invalid value", f"Only a number can be negated, not {type_name(operand)}.", value.pos)
        return -operand
    if isinstance(value, Call):
        return _call(value, scope, depth)
    assert isinstance(value, Ref)
    return _ref(value, scope)


def _spend(scope: Scope, text: str | list[str], pos: Position) -> str:
    """A string a template or function made, counted against the load's budget (a list: too long to join)."""
    try:
        if isinstance(text, list):
            raise LimitError(f"This string would be {sum(map(len, text)):,} characters long; a string may have "
                             f"at most {MAX_STRING:,}.")
        return scope.budget.take_characters(text)
    except LimitError as exc:
        raise EvalError("Value too large", str(exc), pos) from None


def _text(value: Any, pos: Position) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise EvalError("Invalid interpolation", f"Only strings, numbers and bools can be interpolated into a string, "
                    f"not {type_name(value)}.", pos)


def _call(expr: Call, scope: Scope, depth: int) -> Any:
    if expr.name not in FUNCTIONS:
        raise EvalError("Unknown function", f"There is no function {expr.name!r}; the functions are "
                        f"{', '.join(FUNCTIONS)}.", expr.pos)
    args = [evaluate(a, scope, depth + 1) for a in expr.args]
    try:
        result = call(expr.name, scope.base, args)
    except FunctionError as exc:
        raise EvalError("Invalid function call", f"{expr.name}(): {exc}.", expr.pos) from None
    except LimitError as exc:
        raise EvalError("Value too large", f"{expr.name}(): {exc}.", expr.pos) from None
    return _spend(scope, result, expr.pos) if isinstance(result, str) else result


def _ref(expr: Ref, scope: Scope) -> Any:
    steps = list(expr.steps)
    root = expr.root
    if root in ("var", "count", "each", "kvmstate") or root in scope.resource_types:
        if not steps or not isinstance(steps[0], str):
            raise EvalError("Invalid reference", f"`{root}` needs an attribute, as in {root}.NAME.", expr.pos)
    if root == "var":
        name = steps.pop(0)
        if name not in scope.variables:
            raise EvalError("Reference to undeclared variable", f"var.{name} is not declared; add "
                            f'variable "{name}" {{ ... }} (HCL) or an entry under `variables:` (YAML).', expr.pos)
        value = scope.variables[name]
    elif root == "count":
        if scope.count_index is None:
            raise EvalError("Invalid reference", "count.index is only available in a resource that sets `count`.",
                            expr.pos)
        if steps.pop(0) != "index":
            raise EvalError("Invalid reference", "`count` has one attribute, count.index.", expr.pos)
        value = scope.count_index
    elif root == "each":
        if scope.each is None:
            raise EvalError("Invalid reference", "each.key and each.value are only available in a resource that "
                            "sets `for_each`.", expr.pos)
        attr = steps.pop(0)
        if attr not in ("key", "value"):
            raise EvalError("Invalid reference", "`each` has two attributes, each.key and each.value.", expr.pos)
        value = scope.each[0] if attr == "key" else scope.each[1]
    elif root == "kvmstate":
        if steps.pop(0) != "workspace":
            raise EvalError("Invalid reference", "`kvmstate` has one attribute, kvmstate.workspace.", expr.pos)
        value = scope.workspace
    elif root in scope.resource_types:
        value = _resource(expr, steps, scope)
    else:
        raise EvalError("Unknown reference", f"{root!r} is neither var, count, each, kvmstate nor a resource type "
                        f"({', '.join(sorted(scope.resource_types))}).", expr.pos)
    return _steps(value, steps, expr, scope)


def _steps(value: Any, steps: list, expr: Ref, scope: Scope) -> Any:
    for i, step in enumerate(steps):
        if step == SPLAT:
            items = list(value.values()) if isinstance(value, dict) and not isinstance(value, InstanceValue) \
                else value if isinstance(value, list) else [] if value is None else [value]
            return [_steps(item, steps[i + 1:], expr, scope) for item in items]
        value = _step(value, step, expr, scope)
    return value


def _resource(expr: Ref, steps: list, scope: Scope) -> Any:
    name = steps.pop(0)
    found = scope.resources.get((expr.root, name))
    if found is None:
        raise EvalError("Reference to undeclared resource", f"{expr.root}.{name} is not declared in the "
                        "configuration.", expr.pos)
    if found.mode is None:
        scope.used.update(i.address for i in found.instances.values())
        return found.instances[None]
    if steps and steps[0] != SPLAT and isinstance(steps[0], Expr):
        key = evaluate(steps.pop(0), scope)
        want = int if found.mode == "count" else str
        if isinstance(key, bool) or not isinstance(key, want) or key not in found.instances:
            keys = ", ".join(str(Address(expr.root, name, k)) for k in found.instances) or "none (it has no instances)"
            raise EvalError("Reference to missing instance", f"{Address(expr.root, name, key if isinstance(key, (int, str)) else None)} "
                            f"does not exist; the instances are: {keys}.", expr.pos)
        scope.used.add(found.instances[key].address)
        return found.instances[key]
    scope.used.update(i.address for i in found.instances.values())
    if found.mode == "count":
        return [found.instances[k] for k in sorted(found.instances)]
    return dict(found.instances)


def _step(value: Any, step: str | Expr, expr: Ref, scope: Scope) -> Any:
    if isinstance(step, Expr):
        key = evaluate(step, scope)
        if isinstance(value, list) and isinstance(key, int) and not isinstance(key, bool):
            if 0 <= key < len(value):
                return value[key]
            raise EvalError("Invalid index", f"{expr.text()}: index {key} is out of range; the list has "
                            f"{len(value)} items.", step.pos)
        if isinstance(value, dict) and isinstance(key, str):
            step = key
        else:
            raise EvalError("Invalid index", f"{expr.text()}: cannot index {type_name(value)} with "
                            f"{type_name(key)}.", step.pos)
    if isinstance(value, dict):
        if step in value:
            return value[step]
        known = ", ".join(sorted(map(str, value))) or "none"
        raise EvalError("Unsupported attribute", f"{expr.text()}: there is no attribute {step!r} here (known: "
                        f"{known}). Values computed by libvirt are known only after apply, in outputs.", expr.pos)
    raise EvalError("Unsupported attribute", f"{expr.text()}: {type_name(value)} has no attribute {step!r}.", expr.pos)
