"""`--target` and `--replace`: which addresses a plan covers, and which it must replace.

A target covers a resource (all its instances when given without a key), or
every resource of a module call (`module.lab`: all its instances; `module.lab["a"]`: one), and,
like Terraform, everything it depends on, so the targeted resource can be made;
when destroying, everything that depends on it, so nothing is left pointing at
a deleted object.
"""

from __future__ import annotations

from typing import Iterable

from kvmstate.addrs import Address, ModuleAddress, covers, parse_target
from kvmstate.config import Configuration
from kvmstate.diagnostics import Diagnostics
from kvmstate.state import State


Target = Address | ModuleAddress


def parse_addresses(texts: Iterable[str], option: str, known: set[Address], diags: Diagnostics,
                    modules: bool = True) -> list[Target]:
    """The addresses given to an option (module addresses too, with `modules`), each one declared (or
    recorded); unknown ones are reported."""
    out: list[Target] = []
    for text in texts:
        try:
            address = parse_target(text) if modules else Address.parse(text)
        except ValueError as exc:
            diags.error("Invalid address", f"{option} {text}: {exc}.")
            continue
        if not any(covers(address, a) for a in known):
            diags.error("Unknown address", f"{option} {text}: no resource with this address is in the "
                        f"configuration or the state. Known: {', '.join(str(a) for a in sorted(known)) or 'none'}.")
            continue
        out.append(address)
    return out


def covered(targets: list[Target], addresses: Iterable[Address], config: Configuration, state: State,
            destroy: bool = False) -> set[Address]:
    """The addresses the targets select, with their dependencies (from the configuration, else the state),
    or with `destroy` their dependents (from the state)."""
    addresses = list(addresses)
    dependents: dict[Address, list[Address]] = {}
    for r in state.resources:
        for dep in r.dependencies:
            dependents.setdefault(Address.parse(dep), []).append(Address.parse(r.address))
    pending = [a for a in addresses if any(covers(t, a) for t in targets)]
    seen: set[Address] = set()
    while pending:
        address = pending.pop()
        if address in seen:
            continue
        seen.add(address)
        if destroy:
            pending.extend(dependents.get(address, []))
        elif address in config.resources:
            pending.extend(config.dependencies(address))
        elif (recorded := state.get(str(address))) is not None:
            pending.extend(Address.parse(d) for d in recorded.dependencies)
    return seen


def is_requested(address: Address, requested: list[Target]) -> bool:
    return any(covers(r, address) for r in requested)
