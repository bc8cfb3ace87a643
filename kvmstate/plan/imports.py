"""`import` blocks at plan time: which live objects the plan adopts, checked before anything is applied.

An import whose object the state already records at its address is done and
ignored. Otherwise its address must be declared, and the object must exist, carry
no other state's mark and be recorded nowhere else (kvmstate.state.importer's
checks, the ones `kvmstate import` makes); each problem names the import block.
The planner then plans the object like one it manages, flagged "will be
imported"; apply records it (and changes it when the file asks for more).
"""

from __future__ import annotations

from kvmstate.addrs import Address
from kvmstate.config import Configuration
from kvmstate.config.imports import Import
from kvmstate.diagnostics import Diagnostics
from kvmstate.plan.live import Live
from kvmstate.provider import LiveObject, Registry
from kvmstate.state import State
from kvmstate.state.importer import find_object


def pending(config: Configuration, state: State) -> list[Import]:
    """The import blocks not yet done: their address is not in the state."""
    return [i for i in config.imports if state.get(str(i.target)) is None]


def unconfigured(config: Configuration, state: State) -> list[Import]:
    """Pending imports whose address the configuration does not declare (what --generate-config-out writes)."""
    return [i for i in pending(config, state) if i.target not in config.resources]


def resolve(config: Configuration, state: State, registry: Registry, live: Live, diags: Diagnostics
            ) -> dict[Address, LiveObject]:
    """Address -> the live object to import there, for every pending import block; problems go to `diags`."""
    found: dict[Address, LiveObject] = {}
    for block in config.imports:
        recorded = state.get(str(block.target))
        resource = config.resources.get(block.target)
        if recorded is not None:
            if recorded.name != block.id:
                diags.error("Resource already managed", f"{block.target} is already in the state as "
                            f"{recorded.type} {recorded.name!r}, so {block.id!r} cannot be imported there. Remove "
                            "the import block once its import is applied, or forget the recorded object first "
                            f"(`kvmstate state rm {block.target}`).", block.pos, str(block.target), "to")
            continue
        if resource is None:
            diags.error("Import target not declared", f"{block.target} is not declared in the configuration. "
                        "Declare it, or let kvmstate write its configuration from the live object: "
                        "`kvmstate plan --generate-config-out=generated.hcl`.", block.pos, str(block.target), "to")
            continue
        obj = find_object(registry, state, resource, block.id, live, block.pos, diags)
        if obj is not None:
            found[block.target] = obj
    return found

