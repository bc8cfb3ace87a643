"""Refactoring blocks: `moved` renames what the state records, `removed` forgets it; neither touches libvirt.

    moved {                               moved:
      from = domain.web[0]                  - from: domain.web[0]
      to   = domain.web["a"]                  to: domain.web["a"]
    }                                     removed:
    removed {                               - from: volume.scratch
      from = volume.scratch
    }

A move of a whole resource (`from = domain.old`, `to = domain.new`) moves each of
its instances (into a module too: `to = module.vm.domain.this`), keeping their keys. The plan applies the moves to its view of the
state before comparing (kvmstate.plan.planner), so a moved object plans as a no-op
or an update at its new address, never as a delete and a create; apply renames the
state entry. A `removed` address must no longer be in the configuration: its
object stays in libvirt and leaves the state. A move onto an address the state
already records, a move between types, two moves from one address, and a move or
removal that names a resource still configured under `from` are errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kvmstate.addrs import Address, ModuleAddress, parse_target
from kvmstate.config.expressions import Expr, Lit, Ref
from kvmstate.config.source import RawResource
from kvmstate.diagnostics import Diagnostics, Position


@dataclass(frozen=True)
class Move:
    source: Address | ModuleAddress
    target: Address | ModuleAddress
    pos: Position


@dataclass(frozen=True)
class Removal:
    source: Address
    pos: Position


def address_of(value: Any, raw: RawResource, key: str, diags: Diagnostics) -> Address | ModuleAddress | None:
    """An address written as a reference (HCL: domain.web["a"]) or as text (YAML: domain.web["a"]); a module
    call instance (module.vm[0]) too, which only a move takes."""
    pos = raw.position_of((key,))
    text = value
    if isinstance(value, Ref):
        try:
            text = ref_text(value)
        except ValueError:
            pass
    if isinstance(text, str):
        try:
            return parse_target(text)
        except ValueError as exc:
            diags.error("Invalid address", f"{exc}.", pos, None, key)
            return None
    what = value.text() if isinstance(value, Ref) else "an expression" if isinstance(value, Expr) else repr(value)
    diags.error("Invalid address", f"`{key}` is a resource address such as domain.web or domain.web[\"a\"], "
                f"not {what}.", pos, None, key)
    return None


def ref_text(ref: Ref) -> str:
    """A reference written as an address, `module.lab["a"].domain.web`; its indexes must be literals."""
    text = ref.root
    for step in ref.steps:
        if isinstance(step, str):
            text += f".{step}"
        elif isinstance(step, Lit) and isinstance(step.value, (int, str)) and not isinstance(step.value, bool):
            text += f"[{json.dumps(step.value)}]"
        else:
            raise ValueError(f"{ref.text()} is not an address: its indexes must be literal numbers or strings")
    return text


def declare(raws: list[RawResource], types: frozenset[str], configured: set[Address],
            diags: Diagnostics) -> tuple[list[Move], list[Removal]]:
    moves: list[Move] = []
    removals: list[Removal] = []
    sources: dict[Address, Position] = {}
    for raw in raws:
        body = raw.body if isinstance(raw.body, dict) else {}
        wanted = {"from", "to"} if raw.type == "moved" else {"from", "lifecycle"}
        unknown = sorted(set(body) - wanted)
        if unknown or "from" not in body or raw.type == "moved" and "to" not in body:
            diags.error(f"Invalid {raw.type} block", f"A {raw.type} block takes "
                        f"{'`from` and `to`' if raw.type == 'moved' else '`from` (and `lifecycle { destroy = false }`)'}"
                        f"{'; not ' + ', '.join(unknown) if unknown else ''}.", raw.position)
            continue
        source = address_of(body["from"], raw, "from", diags)
        target = address_of(body["to"], raw, "to", diags) if raw.type == "moved" else None
        if source is None or raw.type == "moved" and target is None:
            continue
        if isinstance(source, ModuleAddress) and raw.type == "removed":
            diags.error("Invalid removed block", f"A removed block names a resource; {source} is a module call: "
                        "name each of its resources.", raw.position)
            continue
        for address in (source, target):
            if isinstance(address, Address) and address.type not in types:
                diags.error("Unknown resource type", f"{address} is not of a resource type ({', '.join(sorted(types))}).",
                            raw.position)
                break
        else:
            if source in sources:
                diags.error("Ambiguous move", f"{source} is moved or removed twice: here and at {sources[source]}.",
                            raw.position)
                continue
            sources[source] = raw.position
            if raw.type == "removed":
                destroy = (body.get("lifecycle") or {}).get("destroy", False) if isinstance(body.get("lifecycle"), dict) else False
                if source in configured or any(a.resource == source for a in configured):
                    diags.error("Removed resource still configured", f"{source} is in a `removed` block and still "
                                "declared; delete its resource block, or the `removed` block.", raw.position)
                elif destroy is not False:
                    diags.error("Invalid removed block", "A removed block forgets an object without deleting it; "
                                "`lifecycle { destroy = true }` is not supported: delete the resource block instead.",
                                raw.position)
                else:
                    removals.append(Removal(source, raw.position))
                continue
            assert target is not None
            kind, other = (_kind(a) for a in (source, target))
            if kind != other:
                diags.error("Invalid move", f"{source} is a {kind}; it can move only to another "
                            f"{kind} address, not to {target}.", raw.position)
            elif source == target:
                diags.error("Invalid move", f"{source} is moved to itself.", raw.position)
            elif source in configured or isinstance(source, ModuleAddress) and isinstance(target, ModuleAddress) and \
                    any(source.moved(a, target) is not None for a in configured):
                diags.error("Moved resource still configured", f"{source} is moved to {target} but is still "
                            "declared; rename its resource block.", raw.position)
            else:
                moves.append(Move(source, target, raw.position))
    return moves, removals


def _kind(address: Address | ModuleAddress) -> str:
    return address.type if isinstance(address, Address) else "module call"


def apply_to_state(state: Any, moves: list[Move], removals: list[Removal], diags: Diagnostics
                   ) -> tuple[list[tuple[str, str]], list[str]]:
    """Apply the moves and removals to `state` (a kvmstate.state.State, changed in place); the (from, to)
    pairs moved and the addresses forgotten. Blocks whose `from` the state does not record do nothing."""
    from kvmstate.state.ops import rename, renames
    done: list[tuple[str, str]] = []
    for m in moves:
        for old, new in renames(state, m.source, m.target):
            if state.get(new) is not None:
                diags.error("Moved object still exists", f"{old} cannot move to {new}: the state already records "
                            f"{new}. Remove the moved block, or forget {new} first (kvmstate state rm).", m.pos)
                continue
            rename(state, old, new)
            done.append((old, new))
    forgotten = []
    for r in removals:
        for entry in [e for e in state.resources if e.address == str(r.source)
                      or r.source.key is None and Address.parse(e.address).resource == r.source]:
            state.remove(entry.address)
            forgotten.append(entry.address)
    return done, forgotten
