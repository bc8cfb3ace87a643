"""`import` blocks: bring an object made outside kvmstate (virsh, virt-install) under a resource address.

    import {                                import:
      to = domain.web                         - to: domain.web
      id = "web-vm"                             id: web-vm
    }                                         - for_each: ${var.vms}
    import {                                    to: domain.vm["${each.key}"]
      for_each = var.vms                        id: ${each.value}
      to       = domain.vm[each.key]
      id       = each.value
    }

`id` is the object's name in libvirt (for a volume, its name in the pool the
resource names). `for_each` makes one import per element, with `each.key` and
`each.value` in `to`'s index and in `id`. The plan reads the object and plans it
as "will be imported" (kvmstate.plan.imports); apply records it without
recreating it. A block whose object the state already records at `to` does
nothing, so import blocks may stay in the files after the apply.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from kvmstate.addrs import Address
from kvmstate.config.evaluate import EvalError, Scope, evaluate
from kvmstate.config.expressions import Expr, Lit, Ref
from kvmstate.config.printf import type_name
from kvmstate.config.refactor import address_of
from kvmstate.config.source import RawResource
from kvmstate.diagnostics import Diagnostics, Position, shown

KEYS = {"to", "id", "for_each"}


@dataclass(frozen=True)
class Import:
    target: Address
    id: str
    pos: Position


def declare(raws: list[RawResource], types: frozenset[str], scope: Scope, diags: Diagnostics) -> list[Import]:
    """The imports the blocks ask for, one per `for_each` element; problems reported at the block's place."""
    out: list[Import] = []
    seen: dict[Address, Position] = {}
    for raw in raws:
        body = raw.body if isinstance(raw.body, dict) else {}
        unknown = sorted(set(body) - KEYS)
        if unknown or not {"to", "id"} <= set(body):
            missing = sorted({"to", "id"} - set(body))
            diags.error("Invalid import block", "An import block takes `to` (the resource address), `id` (the "
                        "object's name in libvirt) and optionally `for_each`"
                        f"{'; it lacks ' + ', '.join(missing) if missing else ''}"
                        f"{'; not ' + ', '.join(unknown) if unknown else ''}.", raw.position)
            continue
        for each in _elements(raw, body, scope, diags):
            found = _one(raw, body, scope if each is None else replace(scope, each=each), types,
                         diags)
            if found is None:
                continue
            if found.target in seen:
                diags.error("Duplicate import", f"{found.target} is imported twice: here and at "
                            f"{seen[found.target]}.", raw.position_of(("to",)), str(found.target), "to")
                continue
            seen[found.target] = found.pos
            out.append(found)
    return out


def _elements(raw: RawResource, body: dict, scope: Scope, diags: Diagnostics) -> list[tuple[str, Any] | None]:
    """[None] without `for_each`; (each.key, each.value) per element with it."""
    if "for_each" not in body:
        return [None]
    pos = raw.position_of(("for_each",))
    try:
        value = evaluate(body["for_each"], scope)
    except EvalError as exc:
        diags.error(exc.summary, exc.detail, exc.pos or pos, None, "for_each")
        return []
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [(v, v) for v in value]
    diags.error("Invalid for_each", f"An import block's `for_each` is a map or a list of strings, not "
                f"{type_name(value)}.", pos, None, "for_each")
    return []


def _one(raw: RawResource, body: dict, scope: Scope, types: frozenset[str], diags: Diagnostics) -> Import | None:
    to, pos = body["to"], raw.position_of(("to",))
    try:
        if isinstance(to, Ref):                 # each.key in any index: module.site[each.key].domain.vm["a"]
            to = Ref(to.pos, to.root, [Lit(step.pos, evaluate(step, scope)) if isinstance(step, Expr) and not
                                       isinstance(step, Lit) else step for step in to.steps])
        elif isinstance(to, Expr) and not isinstance(to, Ref):
            to = evaluate(to, scope)            # YAML: domain.vm["${each.key}"]
        name = evaluate(body["id"], scope)
    except EvalError as exc:
        diags.error(exc.summary, exc.detail, exc.pos or pos)
        return None
    target = address_of(to, raw, "to", diags)
    if target is None:
        return None
    if not isinstance(target, Address):
        diags.error("Invalid address", f"`to` is a resource address such as domain.web or module.vm.domain.web, "
                    f"not the module call {target}.", pos, None, "to")
        return None
    if target.type not in types:
        diags.error("Unknown resource type", f"{target} is not of a resource type ({', '.join(sorted(types))}).",
                    pos, None, "to")
        return None
    if not isinstance(name, str) or not name:
        diags.error("Invalid import block", f"`id` is the object's name in libvirt, a non-empty string, not "
                    f"{shown(name)}.", raw.position_of(("id",)), str(target), "id")
        return None
    return Import(target, name, raw.position)
