"""Evaluate expressions in a scope: variables, locals, the instance's count.index or each, and resources.

A reference to a resource reads one instance's values: its desired attributes
(defaults included) and `name`, its libvirt object name; outputs evaluated after
apply read the state instead, where provider-computed values (`computed`) are
merged in. `domain.web` is the single instance of a resource; of a repeated one it
is the list (count) or map (for_each) of its instances, and `domain.web[0]`,
`domain.web["a"]` pick one. Every instance reached is recorded in `Scope.used`
(through locals too), so the graph gets an edge to exactly the instances an
expression read. Operators are Terraform's (kvmstate.config.operators); `try` and
`can` are evaluated here, since they catch the errors of their arguments.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kvmstate.addrs import Address, ModulePath
from kvmstate.config.expressions import (SPLAT, Access, Binary, Call, Cond, Expr, For, Lit, ObjectExpr, Ref,
                                         Template, TemplateFor, TemplateIf, TupleExpr, Unary)
from kvmstate.config.functions import FunctionError, call, library, type_name
from kvmstate.config.limits import MAX_STRING, Budget, LimitError, check_depth
from kvmstate.config.operators import OperatorError, arithmetic, boolean, compare, equal, negate
from kvmstate.diagnostics import Position, shown


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

    @property
    def reads(self) -> frozenset[Address]:
        """The resource instances a reference to this value depends on."""
        return frozenset((self.address,))


class ModuleValue(InstanceValue):
    """The outputs of one module call instance (kvmstate.config.modules), with the instances they read."""

    def __init__(self, address: Address, values: dict[str, Any], reads: frozenset[Address]):
        super().__init__(address, values)
        self._reads = reads

    @property
    def reads(self) -> frozenset[Address]:
        return self._reads


class InstanceMap(dict):
    """The instances of a for_each resource by key: a splat goes over its instances."""


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
    locals: dict[str, tuple[Any, frozenset[Address]]] = field(default_factory=dict)   # name -> value, reads
    symbols: dict[str, Any] = field(default_factory=dict)   # names a `for` binds
    module: ModulePath = ()                                 # the module instance being loaded; () at the root
    root: Path | None = None                                # path.root inside a module: the root's folder


SPECIAL = ("try", "can")
MODULE = "module"
ROOTS = ("var", "local", "count", "each", "path", "kvmstate", MODULE)


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
    kind = _KINDS.get(type(value))
    if kind is None:
        raise EvalError("Invalid expression", "A template directive stands only inside a string.", value.pos)
    try:
        return kind(value, scope, depth)
    except OperatorError as exc:
        raise EvalError("Invalid operand", f"{exc}.", value.pos) from None


def _lit(expr: Lit, scope: Scope, depth: int) -> Any:
    return expr.value


def _template(expr: Template, scope: Scope, depth: int) -> Any:
    if len(expr.parts) == 1 and isinstance(expr.parts[0], Expr) and not isinstance(expr.parts[0], (TemplateIf, TemplateFor)):
        return evaluate(expr.parts[0], scope, depth + 1)
    parts: list[str] = []
    _render(expr.parts, scope, depth + 1, parts)
    return _spend(scope, "".join(parts) if sum(map(len, parts)) <= MAX_STRING else parts, expr.pos)


def _render(parts: list, scope: Scope, depth: int, out: list[str]) -> None:
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, TemplateIf):
            cond = _bool(evaluate(part.cond, scope, depth + 1), "The condition of %{ if }", part.cond.pos)
            _render(part.then if cond else part.otherwise, scope, depth + 1, out)
        elif isinstance(part, TemplateFor):
            for key, item in _pairs(evaluate(part.collection, scope, depth + 1), part.collection.pos):
                inner = _bind(scope, part.key, key, part.value, item)
                _render(part.body, inner, depth + 1, out)
                if sum(map(len, out)) > MAX_STRING:
                    _spend(scope, out, part.pos)
        else:
            out.append(_text(evaluate(part, scope, depth + 1), part.pos))


def _spend(scope: Scope, text: str | list[str], pos: Position) -> str:
    """A string a template or function made, counted against the load's budget (a list: too long to join)."""
    try:
        if isinstance(text, list):
            raise LimitError(f"This string would be {sum(map(len, text)):,} characters long; a string may have "
                             f"at most {MAX_STRING:,}.")
        return scope.budget.take_characters(text)
    except LimitError as exc:
        raise EvalError("Value too large", str(exc), pos) from None


def _items(scope: Scope, n: int, pos: Position) -> None:
    try:
        scope.budget.take_items(n)
    except LimitError as exc:
        raise EvalError("Value too large", str(exc), pos) from None


def _text(value: Any, pos: Position) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if value is None:
        raise EvalError("Invalid template interpolation value", "The value is null; a null value cannot be "
                        "written into a string. Use a conditional or coalesce() to give a default.", pos)
    raise EvalError("Invalid template interpolation value", f"Only strings, numbers and bools can be interpolated "
                    f"into a string, not {type_name(value)}; use jsonencode() or join() to write it as text.", pos)


def _bool(value: Any, what: str, pos: Position) -> bool:
    try:
        return boolean(value, what)
    except OperatorError as exc:
        raise EvalError("Invalid condition", f"{exc}.", pos) from None


def _tuple(expr: TupleExpr, scope: Scope, depth: int) -> list:
    return [evaluate(v, scope, depth + 1) for v in expr.items]


def _object(expr: ObjectExpr, scope: Scope, depth: int) -> dict:
    out = {}
    for key, kpos, value in expr.items:
        name = key if isinstance(key, str) else _key(evaluate(key, scope, depth + 1), key.pos)
        out[name] = evaluate(value, scope, depth + 1)
    return out


def _key(value: Any, pos: Position) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise EvalError("Invalid object key", f"A key must be a string, not {type_name(value)}"
                    f"{'' if value is None else ' ' + shown(value)}.", pos)


def _unary(expr: Unary, scope: Scope, depth: int) -> Any:
    operand = evaluate(expr.operand, scope, depth + 1)
    return negate(operand) if expr.op == "-" else not boolean(operand, "the operand of !")


def _binary(expr: Binary, scope: Scope, depth: int) -> Any:
    left = evaluate(expr.left, scope, depth + 1)
    if expr.op in ("&&", "||"):
        first = boolean(left, f"the left operand of {expr.op}")
        if first == (expr.op == "||"):
            return first
        return boolean(evaluate(expr.right, scope, depth + 1), f"the right operand of {expr.op}")
    right = evaluate(expr.right, scope, depth + 1)
    if expr.op in ("==", "!="):
        return equal(left, right) == (expr.op == "==")
    if expr.op in ("<", ">", "<=", ">="):
        return compare(expr.op, left, right)
    return arithmetic(expr.op, left, right)


def _cond(expr: Cond, scope: Scope, depth: int) -> Any:
    cond = _bool(evaluate(expr.cond, scope, depth + 1), "The condition of ? :", expr.cond.pos)
    return evaluate(expr.then if cond else expr.otherwise, scope, depth + 1)


def _pairs(collection: Any, pos: Position) -> list[tuple[Any, Any]]:
    """(key, value) pairs a `for` iterates: index and item of a list, key and value of a map (in key order)."""
    if isinstance(collection, list):
        return list(enumerate(collection))
    if isinstance(collection, dict):
        return sorted(collection.items(), key=lambda kv: str(kv[0]))
    raise EvalError("Iteration over non-iterable value", f"A `for` iterates over a list or a map, not "
                    f"{type_name(collection)}{'' if collection is None else ' ' + shown(collection)}.", pos)


def _bind(scope: Scope, key_name: str | None, key: Any, value_name: str, value: Any) -> Scope:
    symbols = {**scope.symbols, value_name: value}
    if key_name:
        symbols[key_name] = key
    return replace(scope, symbols=symbols)


def _for(expr: For, scope: Scope, depth: int) -> Any:
    pairs = _pairs(evaluate(expr.collection, scope, depth + 1), expr.collection.pos)
    _items(scope, len(pairs), expr.pos)
    items: list[Any] = []
    grouped: dict[str, Any] = {}
    for key, value in pairs:
        inner = _bind(scope, expr.key, key, expr.value, value)
        if expr.cond is not None and not _bool(evaluate(expr.cond, inner, depth + 1), "The `if` of a `for`",
                                                 expr.cond.pos):
            continue
        result = evaluate(expr.result, inner, depth + 1)
        if expr.result_key is None:
            items.append(result)
            continue
        name = _key(evaluate(expr.result_key, inner, depth + 1), expr.result_key.pos)
        if expr.group:
            grouped.setdefault(name, []).append(result)
        elif name in grouped:
            raise EvalError("Duplicate object key", f"Two items give the key {name!r} (values {shown(grouped[name])} "
                            f"and {shown(result)}). Add `...` after the value to group them into lists.",
                            expr.result_key.pos)
        else:
            grouped[name] = result
    return items if expr.result_key is None else grouped


def _access(expr: Access, scope: Scope, depth: int) -> Any:
    return _steps(evaluate(expr.base, scope, depth + 1), list(expr.steps), expr, scope)


def _call(expr: Call, scope: Scope, depth: int) -> Any:
    if expr.name in SPECIAL:
        return _special(expr, scope, depth)
    if expr.name not in library():
        near = difflib.get_close_matches(expr.name, list(library()) + list(SPECIAL), n=1)
        hint = f" Did you mean {near[0]}()?" if near else ""
        raise EvalError("Unknown function", f"There is no function named {expr.name!r}.{hint} The functions "
                        "are listed in docs/configuration.md (\"Functions\").", expr.pos)
    args = [evaluate(a, scope, depth + 1) for a in expr.args]
    if expr.expand_last:
        if not args or not isinstance(args[-1], list):
            raise EvalError("Invalid expanding argument", f"{expr.name}(): the argument before `...` must be a "
                            f"list, not {type_name(args[-1] if args else None)}.", expr.pos)
        args = args[:-1] + args[-1]
    try:
        result = call(expr.name, scope.base, args)
    except FunctionError as exc:
        raise EvalError("Invalid function call", f"{expr.name}(): {exc}.", expr.pos) from None
    except LimitError as exc:
        raise EvalError("Value too large", f"{expr.name}(): {exc}.", expr.pos) from None
    except (ArithmeticError, ValueError) as exc:    # a number no function can use (infinity from a JSON var file)
        raise EvalError("Invalid function call", f"{expr.name}(): cannot compute with "
                        f"{', '.join(shown(a) for a in args)}: {exc}.", expr.pos) from None
    if isinstance(result, str):
        return _spend(scope, result, expr.pos)
    if isinstance(result, (list, dict)):
        _items(scope, len(result), expr.pos)
        for item in result if isinstance(result, list) else result.values():
            if isinstance(item, str):
                _spend(scope, item, expr.pos)
    return result


def _special(expr: Call, scope: Scope, depth: int) -> Any:
    """try(a, b, ...): the first argument that evaluates without an error; can(a): whether it does."""
    if expr.name == "can" and len(expr.args) != 1 or not expr.args:
        raise EvalError("Invalid function call", f"{expr.name}() takes {'one argument' if expr.name == 'can' else 'one or more arguments'}, "
                        f"not {len(expr.args)}.", expr.pos)
    errors = []
    for arg in expr.args:
        try:
            value = evaluate(arg, scope, depth + 1)
        except EvalError as exc:
            errors.append(exc)
            continue
        return True if expr.name == "can" else value
    if expr.name == "can":
        return False
    raise EvalError("Invalid function call", f"try(): none of its {len(errors)} arguments could be evaluated; the "
                    f"last one failed with: {errors[-1].detail}", expr.pos)


def _ref(expr: Ref, scope: Scope, depth: int = 0) -> Any:
    steps = list(expr.steps)
    root = expr.root
    if root in scope.symbols:
        return _steps(scope.symbols[root], steps, expr, scope)
    if root in ROOTS or root in scope.resource_types:
        if not steps or not isinstance(steps[0], str):
            raise EvalError("Invalid reference", f"`{root}` needs an attribute, as in {root}.NAME.", expr.pos)
    if root == "var":
        name = steps.pop(0)
        if name not in scope.variables:
            raise EvalError("Reference to undeclared variable", f"var.{name} is not declared; add "
                            f'variable "{name}" {{ ... }} (HCL) or an entry under `variables:` (YAML).', expr.pos)
        value = scope.variables[name]
    elif root == "local":
        name = steps.pop(0)
        if name not in scope.locals:
            raise EvalError("Reference to undeclared local value", f"local.{name} is not declared; add it to a "
                            "`locals { ... }` block (HCL) or under `locals:` (YAML).", expr.pos)
        value, reads = scope.locals[name]
        scope.used.update(reads)
    elif root == "path":
        if steps.pop(0) not in ("module", "root", "cwd"):
            raise EvalError("Invalid reference", "`path` has the attributes path.module, path.root and path.cwd.",
                            expr.pos)
        where = expr.steps[0]
        value = str(Path.cwd() if where == "cwd" else scope.root or scope.base if where == "root" else scope.base)
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
    elif root == MODULE:
        value = _module(expr, steps, scope)
    else:
        names = sorted(set(ROOTS) | set(scope.resource_types) | set(scope.symbols))
        near = difflib.get_close_matches(root, names, n=1)
        hint = f" Did you mean {near[0]}?" if near else ""
        raise EvalError("Unknown reference", f"{root!r} is neither var, local, count, each, path, kvmstate, module, a name a `for` "
                        f"binds, nor a resource type ({', '.join(sorted(scope.resource_types))}).{hint}", expr.pos)
    return _steps(value, steps, expr, scope)


def _steps(value: Any, steps: list, expr: Ref | Access, scope: Scope) -> Any:
    for i, step in enumerate(steps):
        if step == SPLAT:
            items = list(value.values()) if isinstance(value, InstanceMap) else value if isinstance(value, list) else [] if value is None else [value]
            return [_steps(item, steps[i + 1:], expr, scope) for item in items]
        value = _step(value, step, expr, scope)
    return value


def _resource(expr: Ref, steps: list, scope: Scope) -> Any:
    name = steps.pop(0)
    found = scope.resources.get((expr.root, name))
    if found is None:
        what = "module" if expr.root == MODULE else "resource"
        raise EvalError(f"Reference to undeclared {what}", f"{expr.root}.{name} is not declared in the "
                        "configuration.", expr.pos)
    if found.mode is None:
        scope.used.update(found.instances[None].reads)
        return found.instances[None]
    if steps and steps[0] != SPLAT and isinstance(steps[0], Expr):
        key = evaluate(steps.pop(0), scope)
        want = int if found.mode == "count" else str
        if isinstance(key, bool) or not isinstance(key, want) or key not in found.instances:
            keys = ", ".join(str(Address(expr.root, name, k)) for k in found.instances) or "none (it has no instances)"
            raise EvalError("Reference to missing instance", f"{Address(expr.root, name, key if isinstance(key, (int, str)) else None)} "
                            f"does not exist; the instances are: {keys}.", expr.pos)
        scope.used.update(found.instances[key].reads)
        return found.instances[key]
    scope.used.update(a for i in found.instances.values() for a in i.reads)
    if found.mode == "count":
        return [found.instances[k] for k in sorted(found.instances)]
    return InstanceMap(found.instances)


def _module(expr: Ref, steps: list, scope: Scope) -> Any:
    """module.NAME: the outputs of a module call's instance (or the list or map of its instances)."""
    name = steps[0]
    value = _resource(expr, steps, scope)
    if isinstance(value, ModuleValue) and steps and isinstance(steps[0], str) and steps[0] not in value:
        raise _no_output(name, steps[0], value, expr.pos)
    return value


def undeclared_output(ref: Ref, scope: Scope) -> EvalError | None:
    """The error of a reference to a module output the module does not declare, found without evaluating (for
    outputs, which are evaluated only after apply); None when there is none to find."""
    found = scope.resources.get((MODULE, ref.steps[0])) if ref.steps and isinstance(ref.steps[0], str) else None
    if found is None or not found.instances:
        return None
    rest = list(ref.steps[1:])
    if rest and found.mode is not None and not isinstance(rest[0], str):
        rest.pop(0)
    instance = next(iter(found.instances.values()))
    if rest and isinstance(rest[0], str) and rest[0] != SPLAT and rest[0] not in instance:
        return _no_output(ref.steps[0], rest[0], instance, ref.pos)
    return None


def _no_output(name: str, output: str, value: dict, pos: Position) -> EvalError:
    known = ", ".join(sorted(value)) or "none"
    return EvalError("Reference to undeclared module output", f"module.{name} has no output {output!r} (its "
                     f'outputs: {known}); declare it in the module\'s folder with output "{output}" {{ value = ... }}.',
                     pos)


def _step(value: Any, step: str | Expr, expr: Ref | Access, scope: Scope) -> Any:
    if isinstance(step, Expr):
        key = evaluate(step, scope)
        if isinstance(value, list) and isinstance(key, str) and key.strip().lstrip("-").isdigit():
            key = int(key)
        if isinstance(value, list) and isinstance(key, int) and not isinstance(key, bool):
            if 0 <= key < len(value):
                return value[key]
            raise EvalError("Invalid index", f"{expr.text()}: index {key} is out of range; the list has "
                            f"{len(value)} items.", step.pos)
        if isinstance(value, dict) and isinstance(key, (str, int, float)) and not isinstance(key, bool):
            step = str(key)
            if step not in value:
                known = ", ".join(sorted(map(str, value))) or "none"
                raise EvalError("Invalid index", f"{expr.text()}: the map has no key {step!r} (keys: {known}).",
                                expr.pos)
        else:
            raise EvalError("Invalid index", f"{expr.text()}: cannot index {type_name(value)} with "
                            f"{type_name(key)} {shown(key)}.", step.pos)
    if isinstance(value, dict):
        if step in value:
            return value[step]
        known = ", ".join(sorted(map(str, value))) or "none"
        raise EvalError("Unsupported attribute", f"{expr.text()}: there is no attribute {step!r} here (known: "
                        f"{known}). Values computed by libvirt are known only after apply, in the root module's "
                        "outputs.", expr.pos)
    if value is None:
        raise EvalError("Attempt to get attribute from null value", f"{expr.text()}: the value is null, so it has "
                        f"no attribute {step!r}. Check it with `!= null` or use try().", expr.pos)
    raise EvalError("Unsupported attribute", f"{expr.text()}: {type_name(value)} has no attribute {step!r}.", expr.pos)


_KINDS: dict[type, Any] = {
    Lit: _lit, Template: _template, TupleExpr: _tuple, ObjectExpr: _object, Unary: _unary, Binary: _binary,
    Cond: _cond, For: _for, Access: _access, Call: _call, Ref: _ref,
}
