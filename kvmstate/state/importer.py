"""`kvmstate import ADDR NAME`: adopt an existing libvirt object into the state.

`find_object` is also what `import` blocks check at plan time (kvmstate.plan.imports).

The object must exist, must not belong to another state, and must already match
the configuration (apart from paths in lifecycle.ignore_changes): import records
what is there, it never changes it. The differences are reported otherwise. Domains
and networks then get the ownership mark, like the objects kvmstate creates.
"""

from __future__ import annotations

from kvmstate.addrs import Address
from kvmstate.config import Configuration
from kvmstate.config.loader import Resource
from kvmstate.diagnostics import Diagnostics, Position, error
from kvmstate.plan.lifecycle import drop_ignored
from kvmstate.plan.live import Live, attribute_changes, live_key, read_live, verified_fingerprint
from kvmstate.provider import LiveObject, Owner, Registry
from kvmstate.render.text import value
from kvmstate.state import State, StateResource


def import_object(config: Configuration, state: State, registry: Registry, address_text: str,
                  name: str) -> StateResource:
    """Record the object and mark it; the caller writes the state."""
    try:
        address = Address.parse(address_text)
    except ValueError as exc:
        raise error("Invalid address", f"{exc}.") from None
    resource = config.resources.get(address)
    if resource is None:
        known = ", ".join(str(a) for a in sorted(config.resources)) or "none"
        raise error("Resource not in the configuration", f"{address} is not declared; declare it first, then "
                    f"import the object into it. Declared: {known}.")
    if state.get(str(address)) is not None:
        raise error("Resource already managed", f"{address} is already in the state; run `kvmstate state rm "
                    f"{address}` first to import another object into it.", position=resource.raw.position)
    diags = Diagnostics()
    live = read_live(registry, {(resource.host, address.type)})
    obj = find_object(registry, state, resource, name, live, resource.raw.position, diags)
    diags.raise_if_errors()
    assert obj is not None
    changes, attributes = drop_ignored(resource, attribute_changes(registry, obj, resource.attributes, None),
                                       resource.attributes)
    if changes:
        lines = "\n".join(f"  {c.path}: {value(c.before)} (live) != {value(c.after)} (file)" for c in changes)
        raise error("Object differs from the configuration", f"{address.type} {name!r} does not match {address}:\n"
                    f"{lines}\nChange the configuration (or the object) so they match, then import again; "
                    "nothing was recorded.", position=resource.raw.position, address=str(address))
    adopted = registry.provider_of[address.type].adopt(obj, Owner(state.lineage, str(address)))
    recorded = StateResource(address=str(address), type=address.type, name=name, host=resource.host,
                             identity=adopted.identity, attributes=attributes,
                             dependencies=[str(a) for a in config.dependencies(address)],
                             fingerprint=verified_fingerprint(registry, adopted, attributes, state.lineage,
                                                              str(address)))
    state.put(recorded)
    return recorded


def find_object(registry: Registry, state: State, resource: Resource, name: str, live: Live, pos: Position,
                diags: Diagnostics) -> LiveObject | None:
    """The live object named `name` that may be imported at the resource's address; None (reported) when
    there is none, or it is another state's, or this state records it at another address."""
    address = resource.address
    if name != resource.object_name:
        diags.error("Name does not match", f"{address} manages the libvirt object named {resource.object_name!r}, "
                    f"not {name!r}: libvirt objects cannot be renamed, so set the resource's `name` to {name!r}.",
                    pos, str(address))
        return None
    obj = live.get(live_key(registry, resource.host, address.type, name, resource.attributes))
    if obj is None:
        diags.error("No such object", f"libvirt has no {address.type} named {name!r} on host {resource.host}"
                    f"{_scope(registry, address.type, resource.attributes)}.", pos, str(address))
        return None
    if obj.owner is not None and obj.owner.lineage != state.lineage:
        diags.error("Object managed elsewhere", f"{address.type} {name!r} carries the mark of another kvmstate "
                    f"state (lineage {obj.owner.lineage}, {obj.owner.address}); it is left alone.", pos, str(address))
        return None
    elsewhere = next((r for r in state.resources if r.type == address.type and r.identity == obj.identity), None)
    if elsewhere is not None:
        diags.error("Object already in the state", f"{address.type} {name!r} is recorded as {elsewhere.address}; "
                    f"one object has one address: move it with `kvmstate state mv {elsewhere.address} {address}`.",
                    pos, str(address))
        return None
    return obj


def _scope(registry: Registry, rtype: str, attributes: dict) -> str:
    scope = registry.types[rtype].scope
    return f" in {scope} {attributes.get(scope)!r}" if scope else ""
