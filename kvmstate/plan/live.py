"""Live objects seen through the configuration: where one is found, how it compares, what a provider is asked.

The planner decides with these; apply, import and recover use them to read and
compare live objects the same way.
"""

from __future__ import annotations

from typing import Any, Mapping

from pydantic import BaseModel

from kvmstate.addrs import Address, format_path
from kvmstate.config import Configuration
from kvmstate.metadata import fields_with, update_class, without_local
from kvmstate.plan.diff import diff, get_path, prune
from kvmstate.plan.model import AttributeChange, ResourceChange
from kvmstate.provider import Dependency, LiveObject, Owner, Registry, Request, Unreadable


LiveKey = tuple[str, str, Any, str]     # host, type, scope value (a volume's pool), name


class Live(dict[LiveKey, LiveObject]):
    """The live objects by where they are found, and the scopes that could not be listed (an inactive pool)."""

    def __init__(self) -> None:
        super().__init__()
        self.unreadable: dict[tuple[str, str, Any], str] = {}     # (host, type, scope) -> why

    def unreadable_reason(self, key: LiveKey) -> str | None:
        """Why an object at `key` could not be seen, when its scope could not be listed."""
        return self.unreadable.get(key[:3])


def live_key(registry: Registry, host: str, rtype: str, name: str, attributes: Mapping[str, Any] | LiveObject
             ) -> LiveKey:
    """Where an object is found: names are unique per host and type, and per scope when the type has one
    (`attributes`: the object's, or the object itself, which knows its scope without being parsed)."""
    scope = registry.types[rtype].scope
    return (host, rtype, attributes.get(scope) if scope else None, name)


def read_live(registry: Registry, wanted: set[tuple[str, str]]) -> Live:
    """Every live object of the wanted (host, type) pairs, one bulk read per host and provider."""
    live = Live()
    by_host: dict[tuple[str, int], set[str]] = {}
    for host, rtype in wanted:
        provider = registry.provider_of[rtype]
        by_host.setdefault((host, id(provider)), set()).add(rtype)
    for (host, _), types in sorted(by_host.items()):
        provider = registry.provider_of[next(iter(types))]
        for obj in provider.read(host, sorted(types)):
            if isinstance(obj, Unreadable):
                live.unreadable[(obj.host, obj.type, obj.scope)] = obj.reason
                continue
            live[live_key(registry, obj.host, obj.type, obj.name, obj)] = obj
    return live


def request_for(change: ResourceChange, config: Configuration, lineage: str) -> Request:
    """What the provider is asked to make: desired attributes, owner mark, and what its references resolve to."""
    address = Address.parse(change.address)
    resource = config.resources[address]
    direct = [config.resources[dep] for dep in config.dependencies(address)]
    second = {ref for d in direct for ref in d.refs.values()}        # what they reference: one step further
    deps = direct + [config.resources[ref] for ref in sorted(second - {d.address for d in direct})]
    return Request(address=address, type=change.type, name=change.name, host=change.host,
                   attributes=change.after or {}, owner=Owner(lineage, change.address),
                   refs=_refs(resource), dependencies={d.address: Dependency(d.address, d.object_name, d.attributes,
                                                                             _refs(d)) for d in deps})


def _refs(resource: Any) -> dict[str, Address]:
    """A resource's references by attribute path as written ("disks[0].volume")."""
    return {format_path(path): target for path, target in resource.refs.items()}


def attribute_changes(registry: Registry, obj: LiveObject, desired: dict[str, Any],
             recorded: dict[str, Any] | None, view: dict[str, Any] | None = None) -> list[AttributeChange]:
    """Attribute changes from the live object to `desired`, each with its update class (`view`: the
    caller's live_view of the same arguments, reused when `desired` holds no kvmstate setting)."""
    model = registry.types[obj.type].model
    compared = without_local(model, desired)
    if view is None or compared is not desired:
        view = live_view(registry, obj, compared, recorded)
    out = []
    for path, old, new in diff(view, compared):
        outside = recorded is not None and get_path(recorded, path) == new
        out.append(AttributeChange(path=format_path(path), before=old, after=new,
                                   update=update_class(model, path), outside=outside))
    return out


def marked_elsewhere(obj: LiveObject, lineage: str, address: str) -> bool:
    """Whether the object carries an ownership mark for another state or address."""
    return obj.owner is not None and (obj.owner.lineage, obj.owner.address) != (lineage, address)


def verified_fingerprint(registry: Registry, obj: LiveObject, attributes: dict[str, Any], lineage: str,
                         address: str) -> str | None:
    """The fingerprint to record with `attributes` for an object just made, changed or adopted: its own when it
    compares equal to them and carries no other address's ownership mark, else None (always compared)."""
    if obj.fingerprint is None or marked_elsewhere(obj, lineage, address):
        return None
    return None if attribute_changes(registry, obj, attributes, attributes) else obj.fingerprint


def live_view(registry: Registry, obj: LiveObject, desired: dict[str, Any],
               recorded: dict[str, Any] | None) -> dict[str, Any]:
    """The live attributes in the desired form, completed with the recorded ones libvirt cannot report,
    cut to the keys the configuration sets."""
    model = registry.types[obj.type].model
    live = registry.provider_of[obj.type].normalize(obj, desired)
    return prune(_with_recorded(model, live, desired, recorded), desired)


def _with_recorded(model: type[BaseModel], live: dict[str, Any], desired: dict[str, Any],
                   recorded: dict[str, Any] | None) -> dict[str, Any]:
    """Live attributes completed with the `x-recorded` ones libvirt cannot report: the state's values
    (the desired ones when there is no state to compare with, as when looking for drift)."""
    names = fields_with(model, "x-recorded")
    if not names:
        return live
    live = dict(live)
    source = recorded if recorded is not None else desired
    for name in names:
        live.pop(name, None)
        if name in source:
            live[name] = source[name]
    return live
