"""Expand resources into instances and evaluate their expressions, in dependency order.

A resource with `count = N` becomes the instances TYPE.NAME[0] .. [N-1]; one with
`for_each` (a map, or a list of distinct strings) becomes TYPE.NAME["key"] for
each key; any other resource is one instance, TYPE.NAME. Resources are evaluated
after the resources their expressions reference, so `pool.images.path` reads the
pool's evaluated attributes; a cycle through expressions is reported with the
resources on it. `make` validates each evaluated body and returns the instance's
values as references see them (or None when the body is invalid).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from kvmstate.addrs import Address, format_path
from kvmstate.config.evaluate import EvalError, InstanceValue, ResourceValues, Scope, evaluate
from kvmstate.config.expressions import Expr, refs_in
from kvmstate.config.functions import type_name
from kvmstate.config.meta import REPEAT
from kvmstate.config.source import Path, RawResource
from kvmstate.diagnostics import Diagnostics
from kvmstate.graph import Graph

Make = Callable[[RawResource, Address, dict, set], "dict[str, Any] | None"]


def static_refs(raw: RawResource, types: frozenset[str]) -> list[tuple[Address, Any]]:
    """The resources a raw resource's expressions name (without instance keys), with each reference."""
    out = []
    for ref in refs_in(raw.body):
        if ref.root in types and ref.steps and isinstance(ref.steps[0], str):
            out.append((Address(ref.root, ref.steps[0]), ref))
    return out


def expand(raws: list[RawResource], scope: Scope, diags: Diagnostics, make: Make) -> None:
    """Evaluate every raw resource into instances, calling `make` for each; fills `scope.resources`."""
    by_address = {Address(r.type, r.name): r for r in raws}
    graph = Graph()
    for address, raw in by_address.items():
        graph.add(str(address), (str(a) for a, _ in static_refs(raw, scope.resource_types) if a in by_address))
    cycle = graph.find_cycle()
    if cycle:
        raw = by_address[Address.parse(cycle[0])]
        nxt = Address.parse(cycle[1])
        ref = next(r for a, r in static_refs(raw, scope.resource_types) if a == nxt)
        diags.error("Dependency cycle", f"These resources refer to each other in a circle: {' -> '.join(cycle)}. "
                    "Remove one of the references.", ref.pos, cycle[0])
        return
    failed: set[Address] = set()
    for node in graph.order():
        address = Address.parse(node)
        raw = by_address[address]
        if any(a in failed for a, _ in static_refs(raw, scope.resource_types)):
            failed.add(address)       # already reported where the dependency is
            continue
        keys = _keys(raw, scope, diags)
        if keys is None:
            failed.add(address)
            continue
        mode = "count" if "count" in raw.body else "for_each" if "for_each" in raw.body else None
        values = ResourceValues(mode)
        for key, each in keys:
            inner = replace(scope, used=set(), count_index=key if mode == "count" else None,
                            each=(key, each) if mode == "for_each" else None)
            instance = Address(raw.type, raw.name, key)
            try:
                body = _body({k: v for k, v in raw.body.items() if k not in REPEAT}, inner, ())
            except _Located as exc:
                attr = format_path(exc.path) or None
                diags.error(exc.error.summary, exc.error.detail, exc.error.pos, str(instance), attr)
                failed.add(address)
                continue
            result = make(raw, instance, body, inner.used)
            if result is None:
                failed.add(address)
                continue
            values.instances[key] = InstanceValue(instance, result)
        scope.resources[(raw.type, raw.name)] = values


class _Located(Exception):
    def __init__(self, error: EvalError, path: Path):
        self.error = error
        self.path = path


def _body(value: Any, scope: Scope, path: Path) -> Any:
    if isinstance(value, dict) and not isinstance(value, InstanceValue):
        return {k: _body(v, scope, path + (k,)) for k, v in value.items()}
    if isinstance(value, list):
        return [_body(v, scope, path + (i,)) for i, v in enumerate(value)]
    try:
        return evaluate(value, scope)
    except EvalError as exc:
        raise _Located(exc, path) from None


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
        try:
            value = _body(body[meta], scope, (meta,))
        except _Located as exc:
            diags.error(exc.error.summary, exc.error.detail, exc.error.pos, address, meta)
            return None
        pos = raw.position_of((meta,))
        if isinstance(body[meta], Expr):
            pos = body[meta].pos
        if meta == "count":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                diags.error("Invalid count", f"count must be a whole number, 0 or more; it is {value!r} "
                            f"({type_name(value)}).", pos, address, "count")
                return None
            return [(i, None) for i in range(value)]
        if isinstance(value, dict):
            return [(str(k), v) for k, v in sorted(value.items())]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            dup = sorted({v for v in value if value.count(v) > 1})
            if dup:
                diags.error("Duplicate instance keys", f"for_each lists {dup[0]!r} more than once; each key names "
                            "one instance and must be unique.", pos, address, "for_each")
                return None
            return [(v, v) for v in sorted(value)]
        diags.error("Invalid for_each", f"for_each takes a map, or a list of distinct strings; it is "
                    f"{type_name(value)}.", pos, address, "for_each")
        return None
    return [(None, None)]
