"""The planner: compare desired, recorded and live state and decide one action per resource.

For every address in the configuration or the state it looks at three things:
what the file wants, what the state recorded when kvmstate last applied it, and
what libvirt has now (read in bulk, once per host and type). From those it picks
create, update, restart, replace, delete or no-op, says why, and lists the drift
that happened outside kvmstate. It never changes anything.
"""

from __future__ import annotations

from kvmstate.addrs import Address, format_path, parse_path
from kvmstate.config import Configuration
from kvmstate.diagnostics import Diagnostics
from kvmstate.metadata import UPDATE_RANK, fields_with, update_class
from kvmstate.plan.lifecycle import check_ignore_paths, check_prevent_destroy, drop_ignored, order_replacement
from kvmstate.plan import hosts
from kvmstate.plan.live import attribute_changes, live_key, live_view, request_for
from kvmstate.plan.model import Action, AttributeChange, Drift, Options, Plan, ResourceChange
from kvmstate.plan.targeting import covered, is_requested, parse_addresses
from kvmstate.provider import LiveObject, Registry
from kvmstate.state import State, StateResource


def make_plan(config: Configuration, state: State, registry: Registry, options: Options | None = None) -> Plan:
    """The plan that takes the live objects to the configuration (to nothing, with `options.destroy`).

    With `destroy`, the configuration only supplies lifecycle settings. Raises a DiagnosticError on
    ownership conflicts, unknown targets and resources protected by prevent_destroy.
    """
    options = options or Options()
    desired = {} if options.destroy else config.resources
    diags = Diagnostics()
    known = set(desired) | {Address.parse(r.address) for r in state.resources}
    targets = parse_addresses(hosts.expand_targets(options.targets, desired, state, diags), "--target", known,
                              diags)
    replace = parse_addresses(options.replace, "--replace", set(desired), diags)
    for resource in desired.values():
        check_ignore_paths(resource, diags)
    diags.raise_if_errors()
    addresses = sorted(known)
    if targets:
        addresses = sorted(covered(targets, addresses, config, state, options.destroy))
    recorded_at = {r.address: r for r in state.resources}
    host_of = {a: recorded_at[str(a)].host if str(a) in recorded_at else desired[a].host for a in addresses}
    wanted = {(host_of[a], a.type) for a in addresses}      # with --target, only the targets' hosts are read
    live, unreachable = hosts.read_all(registry, wanted, options.skip_unreachable)
    plan = Plan(lineage=state.lineage, prior_serial=state.serial if state.serial else None, options=options,
                unreachable_hosts=unreachable)
    if unreachable:         # left out of the plan: neither read nor changed
        addresses = [a for a in addresses if host_of[a] not in unreachable]
    for address in addresses:
        key = str(address)
        resource = desired.get(address)
        recorded = recorded_at.get(key)
        masked = fields_with(registry.types[address.type].model, "x-sensitive")
        if masked:
            plan.sensitive[key] = masked
        host = recorded.host if recorded else resource.host
        known_attrs = recorded.attributes if recorded else resource.attributes
        name = recorded.name if recorded else resource.object_name
        obj = live.get(live_key(registry, host, address.type, name, known_attrs))
        if obj is not None and not _ours(registry, obj, recorded, state.lineage, key):
            if resource is not None:
                diags.error("Object not managed by kvmstate", _conflict(key, obj), resource.raw.position, key)
            obj = None       # someone else's object of that name: never touch it
        drift = _drift(registry, key, recorded, obj)
        if drift:
            plan.drift.append(drift)
        interrupted = recorded is not None and recorded.pending == "create"
        if interrupted:
            recorded = None  # plan as if unrecorded
        if obj is not None:
            plan._live[key] = obj
        if options.refresh_only:
            continue
        if resource is None:
            if obj is not None:
                change = ResourceChange(
                    address=key, type=address.type, name=name, host=host, action=Action.DELETE,
                    reason="destroy was requested" if options.destroy else "it is no longer in the configuration",
                    identity=obj.identity, before=obj.attributes,
                    dependencies=recorded.dependencies if recorded else [])
                check_prevent_destroy(change, config.resources.get(address), diags)
                plan.resource_changes.append(change)
            continue
        change = _plan_resource(registry, config, address, recorded, obj, is_requested(address, replace))
        if interrupted and change.action == Action.CREATE:
            change.reason = "an interrupted apply had started to create it"
        plan.resource_changes.append(change)
        check_prevent_destroy(change, resource, diags)
        if change.action != Action.NOOP:
            _check(registry, config, change, obj, state, diags)
    diags.raise_if_errors()
    _cascade_replacements(plan, config, registry)
    _name_users(plan, config)
    plan.count()
    return plan


def _cascade_replacements(plan: Plan, config: Configuration, registry: Registry) -> None:
    """Replace what refers to a replaced resource through a replace-class attribute (an overlay on its base)."""
    changes = {c.address: c for c in plan.resource_changes}
    if not any(c.action == Action.REPLACE for c in changes.values()):
        return
    for key in config.graph.order():
        change = changes.get(key)
        if change is None or change.action in (Action.CREATE, Action.REPLACE, Action.DELETE):
            continue
        model = registry.types[change.type].model
        for path, target in config.resources[Address.parse(key)].refs.items():
            replaced = changes.get(str(target))
            if replaced and replaced.action == Action.REPLACE and update_class(model, path) == "replace":
                change.action = Action.REPLACE
                change.replace_paths.append(format_path(path))
                why = f"it refers through {format_path(path)} to {target}, which is replaced"
                change.reason = f"{change.reason}; {why}" if change.reason else why
                break


def _name_users(plan: Plan, config: Configuration) -> None:
    """Add to each replacement's reason the resources that refer to the replaced one."""
    replaced = {c.address: c for c in plan.resource_changes if c.action == Action.REPLACE}
    if not replaced:
        return
    users: dict[str, list[str]] = {}
    for address in config.resources:
        for dep in config.dependencies(address):
            if str(dep) in replaced:
                users.setdefault(str(dep), []).append(str(address))
    for address, names in users.items():
        replaced[address].reason += f"; it is used by {', '.join(sorted(names))}"


def _check(registry: Registry, config: Configuration, change: ResourceChange, obj: LiveObject | None,
           state: State, diags: Diagnostics) -> None:
    """Ask the provider what would fail, and report it at the attribute's place in the file."""
    resource = config.resources[Address.parse(change.address)]
    live = None if change.action == Action.REPLACE else obj
    for problem in registry.provider_of[change.type].check(request_for(change, config, state.lineage), live):
        path = parse_path(problem.path)
        diags.error("Invalid change" if live else "Invalid resource", problem.message,
                    resource.raw.position_of(path), change.address, problem.path or None)


def _ours(registry: Registry, obj: LiveObject, recorded: StateResource | None, lineage: str, address: str) -> bool:
    """Whether a live object is the one kvmstate manages at this address.

    It is when the state records its identity, or when it carries this state's ownership mark. An object
    of a type that cannot carry the mark is also ours when the state says kvmstate was creating it (the
    plan that started that create had found the name free).
    """
    if recorded is not None and recorded.identity is not None and obj.identity == recorded.identity:
        return True
    if obj.owner is not None:
        return obj.owner.lineage == lineage and obj.owner.address == address
    return recorded is not None and recorded.pending == "create" and not registry.types[obj.type].marks_owner


def _drift(registry: Registry, address: str, recorded: StateResource | None, obj: LiveObject | None) -> Drift | None:
    """What happened to an object outside kvmstate (or during an interrupted apply) since the state was written."""
    if recorded is None or recorded.pending:
        if obj is not None:
            return Drift(address=address, kind="unrecorded")
        return Drift(address=address, kind="unfinished") if recorded is not None else None
    if obj is None:
        return Drift(address=address, kind="deleted")
    changes = attribute_changes(registry, obj, recorded.attributes, None)
    return Drift(address=address, kind="changed", changes=changes) if changes else None


def _conflict(address: str, obj: LiveObject) -> str:
    if obj.owner is None:
        who = "was not created by kvmstate"
    else:
        who = f"belongs to another kvmstate state (lineage {obj.owner.lineage}, {obj.owner.address})"
    return (f"libvirt already has a {obj.type} named {obj.name!r} on host {obj.host} that {who}. kvmstate will not "
            "adopt or delete it: rename the resource in the configuration, or remove the existing object.")


def _plan_resource(registry: Registry, config: Configuration, address: Address, recorded: StateResource | None,
                   obj: LiveObject | None, replace: bool) -> ResourceChange:
    resource = config.resources[address]
    desired = resource.attributes
    change = ResourceChange(address=str(address), type=address.type, name=resource.object_name, host=resource.host,
                            action=Action.NOOP, after=desired,
                            dependencies=[str(a) for a in config.dependencies(address)])
    if obj is None:
        change.action = Action.CREATE
        change.reason = "it was deleted outside kvmstate" if recorded else "it is not in the state"
        return change
    change.identity = obj.identity
    change.before = live_view(registry, obj, desired, recorded.attributes if recorded else None)
    changes = attribute_changes(registry, obj, desired, recorded.attributes if recorded else None)
    change.changes, change.after = drop_ignored(resource, changes, desired)
    if obj.host != resource.host:
        change.changes.append(AttributeChange(path="host", before=obj.host, after=resource.host, update="replace"))
    if obj.name != resource.object_name:
        change.changes.append(AttributeChange(path="name", before=obj.name, after=resource.object_name,
                                              update="replace"))
    if not change.changes and not replace:
        return change
    worst = max((c.update for c in change.changes), key=UPDATE_RANK.__getitem__, default="replace")
    change.action = Action.REPLACE if replace else \
        {"live": Action.UPDATE, "restart": Action.RESTART, "replace": Action.REPLACE}[worst]
    change.replace_paths = [c.path for c in change.changes if c.update == "replace"]
    edited = [c.path for c in change.changes if not c.outside and c.path != "host"]
    drifted = [c.path for c in change.changes if c.outside]
    fixed = [p for p in change.replace_paths if p != "host"]
    parts = [f"it moves from host {obj.host} to host {resource.host}"] if obj.host != resource.host else []
    if edited:
        parts.append(f"the configuration changed {', '.join(edited)}")
    if drifted:
        parts.append(f"{', '.join(drifted)} changed outside kvmstate")
    if fixed:
        parts.append(f"{', '.join(fixed)} cannot change in place")
    if replace:
        parts.append("its replacement was requested with --replace")
    change.reason = "; ".join(parts)
    scope = registry.types[address.type].scope
    order_replacement(change, resource, obj, lambda *k: live_key(registry, *k), scope)
    return change
