"""State surgery for `state rm` and `state mv`: changes to the document only, never to libvirt.

The caller holds the lock and writes the state, which keeps the previous file as the backup.
"""

from __future__ import annotations

from kvmstate.addrs import HOST_TARGET, Address, ModuleAddress, covers, parse_target
from kvmstate.diagnostics import DiagnosticError, error
from kvmstate.state.model import State, StateResource


def find(state: State, address: str) -> StateResource:
    """The recorded resource, or an error listing what the state holds."""
    recorded = state.get(address)
    if recorded is None:
        raise _not_recorded(state, address)
    return recorded


def _not_recorded(state: State, address: str) -> DiagnosticError:
    known = ", ".join(r.address for r in state.resources) or "nothing"
    return error("Not in the state", f"{address} is not recorded in the state, which holds: {known}.")


def remove(state: State, address: str) -> list[StateResource]:
    """Forget a resource instance, every instance of a resource (`domain.vm`), every resource of a module call
    or instance (`module.site["a"]`), or every resource on a host (`host.kvm3`, for a host that will never come
    back); their objects stay in libvirt. The resources forgotten, in state order."""
    if address.startswith(HOST_TARGET):
        gone = [r for r in state.resources if r.host == address[len(HOST_TARGET):]]
    else:
        try:
            target = parse_target(address)
        except ValueError as exc:
            raise error("Invalid address", f"{exc}.") from None
        gone = [r for r in state.resources if covers(target, Address.parse(r.address))]
    if not gone:
        raise _not_recorded(state, address)
    for recorded in gone:
        state.remove(recorded.address)
    return gone


def renames(state: State, source: Address | ModuleAddress, target: Address | ModuleAddress) -> list[tuple[str, str]]:
    """The recorded addresses a move of `source` to `target` renames, each with its new address: one resource
    instance; every instance of a resource (`domain.a` to `domain.b`, keys kept); every resource recorded in a
    module call instance (`module.vm[0]` to `module.vm["a"]`), or in every instance of a call (`module.vm` to
    `module.box`, keys kept), with the path below it kept. Empty when the state records none of them."""
    if isinstance(source, Address) and isinstance(target, Address):
        if state.get(str(source)) is not None:
            return [(str(source), str(target))]
        if source.key is not None or target.key is not None:
            return []
        found = [Address.parse(r.address) for r in state.resources]
        return [(str(a), str(Address(target.type, target.name, a.key, target.module))) for a in found
                if a.resource == source]
    if not (isinstance(source, ModuleAddress) and isinstance(target, ModuleAddress)):
        return []
    landed = ((r.address, source.moved(Address.parse(r.address), target)) for r in state.resources)
    return [(old, str(new)) for old, new in landed if new is not None]


def rename(state: State, old: str, new: str) -> StateResource:
    """Record one resource under another address, and follow it in other resources' dependencies."""
    recorded = state.get(old)
    assert recorded is not None
    state.remove(old)
    # The fingerprint vouched for the object at the old address (its ownership mark names that one): compare again.
    moved = recorded.model_copy(update={"address": new, "fingerprint": None})
    state.put(moved)
    for other in state.resources:
        other.dependencies = sorted(new if d == old else d for d in other.dependencies)
    return moved


def move(state: State, old: str, new: str) -> list[tuple[str, str]]:
    """Record a resource (each of its instances, or each resource in a module instance) under another address of
    the same kind, and follow it in other resources' dependencies; the (old, new) addresses moved."""
    try:
        source, target = parse_target(old), parse_target(new)
    except ValueError as exc:
        raise error("Invalid address", f"{exc}.") from None
    if isinstance(source, Address) != isinstance(target, Address) or \
            isinstance(source, Address) and isinstance(target, Address) and source.type != target.type:
        kind = source.type if isinstance(source, Address) else "module call"
        raise error("Cannot change the type", f"{old} is a {kind}; it can only move to another {kind} address, "
                    f"not to {new}.")
    pairs = renames(state, source, target)
    if not pairs:
        raise _not_recorded(state, old)
    for _, to in pairs:
        if state.get(to) is not None:
            raise error("Address already in the state", f"{to} is already recorded; remove it first with "
                        f"`kvmstate state rm {to}`.")
    for before, after in pairs:
        rename(state, before, after)
    return pairs
