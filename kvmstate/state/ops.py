"""State surgery for `state rm` and `state mv`: changes to the document only, never to libvirt.

The caller holds the lock and writes the state, which keeps the previous file as the backup.
"""

from __future__ import annotations

from kvmstate.addrs import Address
from kvmstate.diagnostics import error
from kvmstate.state.model import State, StateResource


def find(state: State, address: str) -> StateResource:
    """The recorded resource, or an error listing what the state holds."""
    recorded = state.get(address)
    if recorded is None:
        known = ", ".join(r.address for r in state.resources) or "nothing"
        raise error("Not in the state", f"{address} is not recorded in the state, which holds: {known}.")
    return recorded


def remove(state: State, address: str) -> StateResource:
    """Forget a resource; its object stays in libvirt."""
    recorded = find(state, address)
    state.remove(address)
    return recorded


def move(state: State, old: str, new: str) -> StateResource:
    """Record a resource under another address of the same type, and follow it in other resources' dependencies."""
    recorded = find(state, old)
    try:
        target = Address.parse(new)
    except ValueError as exc:
        raise error("Invalid address", f"{exc}.") from None
    if target.type != recorded.type:
        raise error("Cannot change the type", f"{old} is a {recorded.type}; it can only move to another "
                    f"{recorded.type} address, not to {new}.")
    if state.get(str(target)) is not None:
        raise error("Address already in the state", f"{new} is already recorded; remove it first with "
                    f"`kvmstate state rm {new}`.")
    state.remove(old)
    # The fingerprint vouched for the object at the old address (its ownership mark names that one): compare again.
    moved = recorded.model_copy(update={"address": str(target), "fingerprint": None})
    state.put(moved)
    for other in state.resources:
        other.dependencies = sorted(str(target) if d == old else d for d in other.dependencies)
    return moved
