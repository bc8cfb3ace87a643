"""`kvmstate state recover`: rebuild a lost or corrupt state from what libvirt has.

Domains and networks that kvmstate creates carry an ownership mark (lineage and
address) in their metadata; those are recovered first. Pools, volumes and seeds
cannot carry the mark: one is recovered when a recovered object uses it, as the
configuration says and libvirt confirms (a recovered domain's disk names that
volume; a recovered volume lives in that pool). Everything else is reported with
how to take it over by hand (`kvmstate import`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kvmstate.addrs import Address
from kvmstate.config import Configuration
from kvmstate.diagnostics import error
from kvmstate.plan.diff import get_path
from kvmstate.plan.live import live_key, live_view, read_live
from kvmstate.provider import LiveObject, Registry
from kvmstate.state import State, StateResource


@dataclass
class Recovery:
    state: State
    recovered: dict[str, str] = field(default_factory=dict)       # address -> why it is ours
    missed: dict[str, str] = field(default_factory=dict)          # address -> why not, and what to do


def recover(config: Configuration, registry: Registry, lineage: str | None = None) -> Recovery:
    scanned = set(config.hosts) | {r.host for r in config.resources.values()} or {"default"}
    hosts = {(h, t) for h in scanned for t in registry.types}
    live = read_live(registry, hosts)
    marked = [o for o in live.values() if o.owner is not None]
    lineage = lineage or _lineage(marked)
    result = Recovery(State(lineage=lineage))
    found: dict[Address, LiveObject] = {}
    for address, resource in config.resources.items():
        obj = live.get(live_key(registry, resource.host, address.type, resource.object_name, resource.attributes))
        if obj is not None:
            found[address] = obj
    for obj in marked:                     # marked objects, in the configuration or not (then planned for deletion)
        if obj.owner.lineage != lineage:
            continue
        address = Address.parse(obj.owner.address)
        if address in config.resources and found.get(address) is not obj:
            continue
        named = next((a for a, o in found.items() if o is obj), None)
        if address not in config.resources and named is not None:     # renamed in the configuration
            _record(result, config, registry, named, obj, f"it carries this state's ownership mark for {address}, "
                    "which the configuration no longer declares, and the configuration names it here; the next "
                    "apply rewrites the mark")
            continue
        _record(result, config, registry, address, obj, "it carries this state's ownership mark" +
                ("" if address in config.resources else "; it is not in the configuration, so the next plan "
                                                        "deletes it"))
    grew = True
    while grew:                            # what recovered objects use, as libvirt confirms
        grew = False
        for user in [Address.parse(a) for a in list(result.recovered) if Address.parse(a) in config.resources]:
            for path, target in config.resources[user].refs.items():
                obj = found.get(target)
                if obj is None or str(target) in result.recovered or obj.owner is not None:
                    continue
                if get_path(found[user].attributes, path) == config.resources[target].object_name:
                    _record(result, config, registry, target, obj, f"{user} uses it")
                    grew = True
    for address, obj in found.items():
        if str(address) in result.recovered:
            continue
        if obj.owner is not None:
            why = f"it carries the mark of another state (lineage {obj.owner.lineage}, {obj.owner.address})"
        elif registry.types[address.type].marks_owner:
            why = "it carries no ownership mark, so kvmstate did not create it"
        else:
            why = "it cannot carry an ownership mark and no recovered object uses it"
        result.missed[str(address)] = (f"{why}; if it is yours, run `kvmstate import {address} {obj.name}`")
    return result


def _lineage(marked: list[LiveObject]) -> str:
    lineages = sorted({o.owner.lineage for o in marked})
    if not lineages:
        raise error("Nothing to recover", "No domain or network in libvirt carries a kvmstate ownership mark, so "
                    "there is no state to rebuild. Adopt existing objects one by one with `kvmstate import`.")
    if len(lineages) > 1:
        counts = ", ".join(f"{l} ({sum(o.owner.lineage == l for o in marked)} objects)" for l in lineages)
        raise error("Several states", f"Objects carry the marks of several kvmstate states: {counts}. Choose one "
                    "with --lineage.")
    return lineages[0]


def _record(result: Recovery, config: Configuration, registry: Registry, address: Address, obj: LiveObject,
            why: str) -> None:
    resource = config.resources.get(address)
    attributes = live_view(registry, obj, resource.attributes, None) if resource else obj.attributes
    deps = [str(a) for a in config.dependencies(address)] if resource else []
    result.state.put(StateResource(address=str(address), type=address.type, name=obj.name, host=obj.host,
                                   identity=obj.identity, attributes=attributes, dependencies=deps))
    result.recovered[str(address)] = why
