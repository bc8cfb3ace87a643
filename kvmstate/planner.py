"""The planner: compare desired, recorded and live state and decide one action per resource.

For every address in the configuration or the state it looks at three things:
what the file wants, what the state recorded when kvmstate last applied it, and
what libvirt has now (read in bulk, once per host and type). From those it picks
create, update, restart, replace, delete or no-op, says why, and lists the drift
that happened outside kvmstate. It never changes anything.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from kvmstate.addrs import Address, format_path, parse_path
from kvmstate.config import Configuration
from kvmstate.diagnostics import Diagnostics
from kvmstate.diff import diff, prune
from kvmstate.plan import Action, AttributeChange, Drift, Plan, ResourceChange
from kvmstate.provider import LiveObject, Owner, Registry, Request, field_meta, submodel
from kvmstate.state import State, StateResource

_RANK = {"live": 0, "restart": 1, "replace": 2}


LiveKey = tuple[str, str, Any, str]     # host, type, scope value (a volume's pool), name


def live_key(registry: Registry, host: str, rtype: str, name: str, attributes: dict[str, Any]) -> LiveKey:
    """Where an object is found: names are unique per host and type, and per scope when the type has one."""
    scope = registry.types[rtype].scope
    return (host, rtype, attributes.get(scope) if scope else None, name)


def read_live(registry: Registry, wanted: set[tuple[str, str]]) -> dict[LiveKey, LiveObject]:
    """Every live object of the wanted (host, type) pairs, one bulk read per host and provider."""
    live: dict[LiveKey, LiveObject] = {}
    by_host: dict[tuple[str, int], set[str]] = {}
    for host, rtype in wanted:
        provider = registry.provider_of[rtype]
        by_host.setdefault((host, id(provider)), set()).add(rtype)
    for (host, _), types in sorted(by_host.items()):
        provider = registry.provider_of[next(iter(types))]
        for obj in provider.read(host, sorted(types)):
            live[live_key(registry, obj.host, obj.type, obj.name, obj.attributes)] = obj
    return live


def make_plan(config: Configuration, state: State, registry: Registry, destroy: bool = False) -> Plan:
    """The plan that takes the live objects to the configuration (to nothing, with `destroy`).

    Raises a DiagnosticError on ownership conflicts.
    """
    wanted = {(r.host, a.type) for a, r in config.resources.items()} | {(r.host, r.type) for r in state.resources}
    live = read_live(registry, wanted)
    plan = Plan(lineage=state.lineage, prior_serial=state.serial if state.serial else None)
    diags = Diagnostics()
    recorded_at = {r.address: r for r in state.resources}
    addresses = sorted(set(config.resources) | {Address.parse(r.address) for r in state.resources})
    for address in addresses:
        key = str(address)
        resource = config.resources.get(address)
        recorded = recorded_at.get(key)
        host = recorded.host if recorded else resource.host
        known = recorded.attributes if recorded else resource.attributes
        name = recorded.name if recorded else resource.object_name
        obj = live.get(live_key(registry, host, address.type, name, known))
        if obj is not None and not _ours(obj, recorded, state.lineage, key):
            if resource is not None:
                diags.error("Object not managed by kvmstate", _conflict(key, obj), resource.raw.position, key)
            obj = None       # someone else's object of that name: never touch it
        drifted = None
        if recorded is None and obj is not None:
            plan.drift.append(Drift(address=key, kind="unrecorded"))
        elif recorded is not None and obj is None:
            plan.drift.append(Drift(address=key, kind="deleted"))
        elif recorded is not None:
            drifted = _changes(registry, obj, recorded.attributes, None)
            if drifted:
                plan.drift.append(Drift(address=key, kind="changed", changes=drifted))
        if resource is None:
            if obj is not None:
                plan.resource_changes.append(ResourceChange(
                    address=key, type=address.type, name=name, host=host, action=Action.DELETE,
                    reason="destroy was requested" if destroy else "it is no longer in the configuration",
                    identity=obj.identity,
                    dependencies=recorded.dependencies))
                plan._live[key] = obj
            continue
        change = _plan_resource(registry, config, address, recorded, obj, drifted)
        if obj is not None:
            plan._live[key] = obj
        plan.resource_changes.append(change)
        if change.action != Action.NOOP:
            _check(registry, config, change, obj, state, diags)
    diags.raise_if_errors()
    plan.count()
    return plan


def _check(registry: Registry, config: Configuration, change: ResourceChange, obj: LiveObject | None,
           state: State, diags: Diagnostics) -> None:
    """Ask the provider what would fail, and report it at the attribute's place in the file."""
    resource = config.resources[Address.parse(change.address)]
    live = None if change.action == Action.REPLACE else obj
    for problem in registry.provider_of[change.type].check(request_for(change, config, state.lineage), live):
        path = parse_path(problem.path)
        diags.error("Invalid change" if live else "Invalid resource", problem.message,
                    resource.raw.position_of(path), change.address, problem.path or None)


def request_for(change: ResourceChange, config: Configuration, lineage: str) -> Request:
    """What the provider is asked to make: desired attributes, owner mark, and its dependencies' attributes."""
    deps = {str(dep): config.resources[dep].attributes for dep in config.dependencies(Address.parse(change.address))}
    return Request(address=change.address, type=change.type, name=change.name, host=change.host,
                   attributes=change.after or {}, owner=Owner(lineage, change.address), dependencies=deps)


def _ours(obj: LiveObject, recorded: StateResource | None, lineage: str, address: str) -> bool:
    """Whether a live object is the one kvmstate manages at this address."""
    if recorded is not None and obj.identity == recorded.identity:
        return True
    return obj.owner is not None and obj.owner.lineage == lineage and obj.owner.address == address


def _conflict(address: str, obj: LiveObject) -> str:
    if obj.owner is None:
        who = "was not created by kvmstate"
    else:
        who = f"belongs to another kvmstate state (lineage {obj.owner.lineage}, {obj.owner.address})"
    return (f"libvirt already has a {obj.type} named {obj.name!r} on host {obj.host} that {who}. kvmstate will not "
            "adopt or delete it: rename the resource in the configuration, or remove the existing object.")


def _plan_resource(registry: Registry, config: Configuration, address: Address, recorded: StateResource | None,
                   obj: LiveObject | None, drifted: list[AttributeChange] | None = None) -> ResourceChange:
    """`drifted`: the changes from the recorded attributes to the live ones, when already known."""
    resource = config.resources[address]
    desired = resource.attributes
    change = ResourceChange(address=str(address), type=address.type, name=resource.object_name, host=resource.host,
                            action=Action.NOOP, after=desired,
                            dependencies=[str(a) for a in config.dependencies(address)])
    if obj is None:
        change.action = Action.CREATE
        change.reason = ("it was deleted outside kvmstate" if recorded else "it is not in the state")
        return change
    change.identity = obj.identity
    if drifted is not None and recorded.attributes == desired:
        # The file did not change since the last apply: the changes are the drift, all made outside kvmstate.
        change.changes = [c.model_copy(update={"outside": True}) for c in drifted]
    else:
        change.changes = _changes(registry, obj, desired, recorded.attributes if recorded else None)
    if obj.host != resource.host:
        change.changes.append(AttributeChange(path="host", before=obj.host, after=resource.host, update="replace"))
    if not change.changes:
        return change
    worst = max((c.update for c in change.changes), key=_RANK.__getitem__)
    change.action = {"live": Action.UPDATE, "restart": Action.RESTART, "replace": Action.REPLACE}[worst]
    change.replace_paths = [c.path for c in change.changes if c.update == "replace"]
    edited = [c.path for c in change.changes if not c.outside]
    drifted = [c.path for c in change.changes if c.outside]
    parts = []
    if edited:
        parts.append(f"the configuration changed {', '.join(edited)}")
    if drifted:
        parts.append(f"{', '.join(drifted)} changed outside kvmstate")
    if change.replace_paths:
        parts.append(f"{', '.join(change.replace_paths)} cannot change in place")
    change.reason = "; ".join(parts)
    return change


def _changes(registry: Registry, obj: LiveObject, desired: dict[str, Any],
             recorded: dict[str, Any] | None) -> list[AttributeChange]:
    """Attribute changes from the live object to `desired`, each with its update class."""
    provider = registry.provider_of[obj.type]
    model = registry.types[obj.type].model
    before = prune(provider.normalize(obj, desired), desired)
    out = []
    for path, old, new in diff(before, desired):
        outside = recorded is not None and _get(recorded, path) == new
        out.append(AttributeChange(path=format_path(path), before=old, after=new,
                                   update=update_class(model, path), outside=outside))
    return out


def _get(data: Any, path: tuple) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def update_class(model: type[BaseModel] | None, path: tuple) -> str:
    """The most disruptive `x-update` class met along an attribute path (replace when unknown)."""
    worst = None
    for part in path:
        if isinstance(part, int) or model is None:
            continue
        if part not in model.model_fields:
            break
        cls = field_meta(model, part).get("x-update")
        if cls and (worst is None or _RANK[cls] > _RANK[worst]):
            worst = cls
        model = submodel(model.model_fields[part].annotation)
    return worst or "replace"
