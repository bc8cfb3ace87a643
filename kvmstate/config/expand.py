"""Expand resources into instances and evaluate their expressions and the locals, in dependency order.

A resource with `count = N` becomes the instances TYPE.NAME[0] .. [N-1]; one with
`for_each` (a map, or a list of distinct strings) becomes TYPE.NAME["key"] for
each key; any other resource is one instance, TYPE.NAME. Resources are evaluated
after the resources their expressions reference, so `pool.images.path` reads the
pool's evaluated attributes; a cycle through expressions is reported with the
resources on it. Local values (`locals`) are nodes of the same order: each is
evaluated once, before what reads it, and remembers the instances it read, so a
resource reading `local.x` depends on them too; a cycle through locals is
reported like one through resources. Module calls (kvmstate.config.modules) are nodes too: `make` loads
each instance and returns its outputs, which `module.NAME.OUTPUT` reads. `make` validates each evaluated
body and returns the instance's values as references see them (or None when the body is invalid).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any, Callable

from kvmstate.addrs import Address, format_path
from kvmstate.config.evaluate import MODULE, EvalError, InstanceValue, ResourceValues, Scope, evaluate
from kvmstate.config.expressions import Expr, contains_expr, refs_in
from kvmstate.config.functions import type_name
from kvmstate.config.limits import LimitError
from kvmstate.config.meta import REPEAT
from kvmstate.config.operators import OperatorError, number
from kvmstate.config.source import Path, RawResource
from kvmstate.diagnostics import Diagnostics, Position, shown
from kvmstate.graph import Graph

Make = Callable[[RawResource, Address, dict, Scope], "dict[str, Any] | None"]     # the instance's scope


LOCAL = "local"


def static_refs(raw: RawResource, types: frozenset[str]) -> list[tuple[Address, Any]]:
    """The resources and locals a raw resource's (or local's) expressions name, without instance keys, with
    each reference."""
    out = []
    for ref in refs_in(raw.body):
        if (ref.root in types or ref.root in (LOCAL, MODULE)) and ref.steps and isinstance(ref.steps[0], str):
            out.append((Address(ref.root, ref.steps[0]), ref))
    return out


def expand(raws: list[RawResource], scope: Scope, diags: Diagnostics, make: Make,
           locals_: list[RawResource] = ()) -> None:  # type: ignore[assignment]
    """Evaluate every raw resource into instances, calling `make` for each, and every local; fills
    `scope.resources` and `scope.locals`."""
    by_address = {Address(r.type, r.name): r for r in [*raws, *locals_]}
    graph = Graph()
    for address, raw in by_address.items():
        graph.add(str(address), (str(a) for a, _ in static_refs(raw, scope.resource_types) if a in by_address))
    cycle = graph.find_cycle()
    if cycle:
        raw = by_address[_node(cycle[0])]
        nxt = _node(cycle[1])
        ref = next(r for a, r in static_refs(raw, scope.resource_types) if a == nxt)
        what = {LOCAL: "a local value", MODULE: "a module call"}.get(raw.type, "a resource")
        if len(cycle) == 2:
            diags.error("Self-reference", f"{cycle[0]} refers to itself: {what} cannot read its own value. "
                        "Refer to something else, or write the value out.", ref.pos, cycle[0])
        else:
            where = "; ".join(f"{a} at {r.pos.line}:{r.pos.column}" for a, r in _cycle_refs(cycle, by_address, scope))
            diags.error("Dependency cycle", f"These values refer to each other in a circle: "
                        f"{' -> '.join(cycle)} ({where}). Remove one of the references.", ref.pos, cycle[0])
        return
    failed: set[Address] = set()
    for node in graph.order():
        address = _node(node)
        raw = by_address[address]
        if any(a in failed for a, _ in static_refs(raw, scope.resource_types)):
            failed.add(address)       # already reported where the dependency is
            continue
        if raw.type == LOCAL:
            if not _local(raw, scope, by_address, diags):
                failed.add(address)
            continue
        keys = _keys(raw, scope, diags)
        if keys is None:
            failed.add(address)
            continue
        mode = "count" if "count" in raw.body else "for_each" if "for_each" in raw.body else None
        values = ResourceValues(mode)
        undeclared = _undeclared(raw, scope, by_address)      # the same for every instance
        literal = literal_keys(raw)
        for key, each in keys:
            inner = replace(scope, used=set(), count_index=key if mode == "count" else None,
                            each=(key, each) if mode == "for_each" else None)
            instance = Address(raw.type, raw.name, key, scope.module)
            errors: list[Located] = []
            body = {k: v if k in literal else _body(v, inner, (k,), errors) for k, v in raw.body.items()
                    if k not in REPEAT}
            errors = _with_undeclared(errors, undeclared)
            if errors:
                for error, path in errors:
                    diags.error(error.summary, error.detail, error.pos or raw.position_of(path), str(instance),
                                format_path(path) or None)
                failed.add(address)
                break
            result = make(raw, instance, body, inner)
            if result is None:
                failed.add(address)
                continue
            values.instances[key] = result if isinstance(result, InstanceValue) else InstanceValue(instance, result)
        scope.resources[(raw.type, raw.name)] = values


Located = tuple[EvalError, Path]


def _node(text: str) -> Address:
    """The node of the order named `text`: a resource, a local (local.NAME) or a module call (module.NAME)."""
    return Address(MODULE, text[len(MODULE) + 1:]) if text.startswith(MODULE + ".") else Address.parse(text)


def literal_keys(raw: RawResource) -> frozenset[str]:
    """The attributes of a block that hold no expression: every instance takes them as written (shared, never
    changed), without walking them."""
    return frozenset(k for k, v in raw.body.items() if k not in REPEAT and not contains_expr(v))


def _cycle_refs(cycle: list[str], by_address: dict[Address, RawResource], scope: Scope) -> list[tuple[str, Any]]:
    """Each step of a cycle with the reference that makes it."""
    out = []
    for here, there in zip(cycle, cycle[1:]):
        raw, nxt = by_address[_node(here)], _node(there)
        out.append((here, next(r for a, r in static_refs(raw, scope.resource_types) if a == nxt)))
    return out


def _local(raw: RawResource, scope: Scope, declared: dict[Address, RawResource], diags: Diagnostics) -> bool:
    """Evaluate one local value into `scope.locals`, with the instances it read; False after an error."""
    inner = replace(scope, used=set())
    errors: list[Located] = []
    value = _body(raw.body["value"], inner, (), errors)
    errors = _with_undeclared(errors, _undeclared(raw, scope, declared))
    for error, _ in errors:
        diags.error(error.summary, error.detail, error.pos or raw.position, f"local.{raw.name}")
    if errors:
        return False
    scope.locals[raw.name] = (value, frozenset(inner.used))
    return True


def _body(value: Any, scope: Scope, path: Path, errors: list[Located]) -> Any:
    """The value evaluated; each attribute that fails adds its error to `errors` and evaluates to None."""
    if isinstance(value, dict) and not isinstance(value, InstanceValue):
        return {k: _body(v, scope, path + (k,), errors) for k, v in value.items()}
    if isinstance(value, list):
        return [_body(v, scope, path + (i,), errors) for i, v in enumerate(value)]
    try:
        return evaluate(value, scope, len(path))
    except EvalError as exc:
        errors.append((exc, path))
        return None


def _with_undeclared(errors: list[Located], undeclared: list[Located]) -> list[Located]:
    """`errors` and the references to undeclared names that they do not already report (one problem at one
    place is reported once)."""
    if not undeclared:
        return errors
    seen = {(e.summary, e.pos) for e, _ in errors}
    return errors + [(e, p) for e, p in undeclared if (e.summary, e.pos) not in seen]


def _undeclared(raw: RawResource, scope: Scope, declared: dict[Address, RawResource]) -> list[Located]:
    """Every reference to an undeclared resource or variable in a body, not only the first one evaluated."""
    out: list[Located] = []
    for ref in refs_in(raw.body):
        name = ref.steps[0] if ref.steps and isinstance(ref.steps[0], str) else None
        if name is None:
            continue
        if ref.root in scope.resource_types and Address(ref.root, name) not in declared and \
                (ref.root, name) not in scope.resources:
            out.append((EvalError("Reference to undeclared resource", f"{ref.root}.{name} is not declared in the "
                                  "configuration.", ref.pos), ()))
        elif ref.root == MODULE and Address(MODULE, name) not in declared:
            out.append((EvalError("Reference to undeclared module", f"module.{name} is not declared; add "
                                  f'module "{name}" {{ source = "./FOLDER" }} (HCL) or an entry under `modules:` '
                                  "(YAML).", ref.pos), ()))
        elif ref.root == LOCAL and Address(LOCAL, name) not in declared:
            out.append((EvalError("Reference to undeclared local value", f"local.{name} is not declared; add it to "
                                  "a `locals { ... }` block (HCL) or under `locals:` (YAML).", ref.pos), ()))
        elif ref.root == "var" and name not in scope.variables:
            out.append((EvalError("Reference to undeclared variable", f"var.{name} is not declared; add "
                                  f'variable "{name}" {{ ... }} (HCL) or an entry under `variables:` (YAML).',
                                  ref.pos), ()))
    return out


def _keys(raw: RawResource, scope: Scope, diags: Diagnostics) -> list[tuple[Any, Any]] | None:
    """(key, each.value) per instance: [(None, None)] for a single resource; None after an error."""
    body = raw.body
    address = str(Address(raw.type, raw.name))
    if "count" in body and "for_each" in body:
        diags.error("Invalid meta-arguments", "A resource takes `count` or `for_each`, not both.",
                    raw.position_of(("for_each",)), address, "for_each")
        return None
    for meta in REPEAT:
        if meta not in body:
            continue
        errors: list[Located] = []
        value = _body(body[meta], scope, (meta,), errors)
        for error, _ in errors[:1]:
            diags.error(error.summary, error.detail, error.pos or raw.position_of((meta,)), address, meta)
            return None
        pos = raw.position_of((meta,))
        if isinstance(body[meta], Expr):
            pos = body[meta].pos
        return _instance_keys(meta, value, scope, pos, address, diags)
    return [(None, None)]


def _instance_keys(meta: str, value: Any, scope: Scope, pos: Position, address: str,
                   diags: Diagnostics) -> list[tuple[Any, Any]] | None:
    """The (key, each.value) pairs `count` or `for_each` asks for, within the load's instance budget."""
    if meta == "count":
        if isinstance(value, str):           # an untyped variable set by --var or the environment: "2"
            try:
                value = number(value, "count")
            except OperatorError:
                pass
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            diags.error("Invalid count", f"count must be a whole number, 0 or more; it is {shown(value)} "
                        f"({type_name(value)}).", pos, address, "count")
            return None
    elif not (isinstance(value, dict) or isinstance(value, list) and all(isinstance(v, str) for v in value)):
        diags.error("Invalid for_each", f"for_each takes a map, or a list of distinct strings; it is "
                    f"{type_name(value)}.", pos, address, "for_each")
        return None
    try:
        scope.budget.take_instances(value if meta == "count" else len(value))
    except LimitError as exc:
        diags.error("Too many instances", f"{exc} Split the resource, or ask for fewer.", pos, address, meta)
        return None
    if meta == "count":
        return [(i, None) for i in range(value)]
    if isinstance(value, dict):
        return [(str(k), v) for k, v in sorted(value.items())]
    dup = sorted(v for v, n in Counter(value).items() if n > 1)
    if dup:
        diags.error("Duplicate instance keys", f"for_each lists {shown(dup[0])} more than once; each key names "
                    "one instance and must be unique.", pos, address, "for_each")
        return None
    return [(v, v) for v in sorted(value)]
