"""The planner: compare desired, recorded and live state and decide one action per resource.

For every address in the configuration or the state it looks at three things:
what the file wants, what the state recorded when kvmstate last applied it, and
what libvirt has now (read in bulk, once per host and type). From those it picks
create, update, restart, replace, delete or no-op, says why, and lists the drift
that happened outside kvmstate. It never changes anything.
"""

from __future__ import annotations

from kvmstate.addrs import Address, format_path, parse_path
from functools import cache

from kvmstate.config import Configuration, refactor
from kvmstate.config.conditions import check_names, check_resource
from kvmstate.config.outputs import check as check_outputs
from kvmstate.diagnostics import Diagnostics
from kvmstate.metadata import UPDATE_RANK, fields_with, follows, update_class, without_local
from kvmstate.plan.lifecycle import check_ignore_paths, check_prevent_destroy, drop_ignored, order_replacement
from kvmstate.plan import hosts, imports
from kvmstate.plan.live import attribute_changes, live_key, live_view, marked_elsewhere, request_for
from kvmstate.plan.model import Action, AttributeChange, Drift, Moved, Options, Plan, ResourceChange
from kvmstate.plan.revert import plan_reverts
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
    state, moved, removed = _refactored(config, state, diags)
    known = set(desired) | {Address.parse(r.address) for r in state.resources}
    targets = parse_addresses(hosts.expand_targets(options.targets, desired, state, diags), "--target", known,
                              diags)
    replace = parse_addresses(options.replace, "--replace", set(desired), diags, modules=False)
    for resource in desired.values():
        check_ignore_paths(resource, diags)
    diags.raise_if_errors()
    everything = sorted(known)
    addresses = everything
    if targets:
        addresses = sorted(covered(targets, addresses, config, state, options.destroy))
    recorded_at = {r.address: r for r in state.resources}
    host_of = {a: recorded_at[str(a)].host if str(a) in recorded_at else desired[a].host for a in known}
    wanted = {(host_of[a], a.type) for a in addresses}      # with --target, only the targets' hosts are read
    live, unreachable = hosts.read_all(registry, wanted, options.skip_unreachable)
    plan = Plan(lineage=state.lineage, prior_serial=state.serial if state.serial else None, options=options,
                moved=[Moved(from_=a, to=b) for a, b in moved], removed=removed, unreachable_hosts=unreachable)
    if unreachable:         # left out of the plan: neither read nor changed
        addresses = [a for a in addresses if host_of[a] not in unreachable]
    reachable = [a for a in everything if host_of[a] not in unreachable]
    importing = {} if options.destroy else imports.resolve(config, state, registry, live, diags)
    facts = cache(registry.facts)
    named = {a: _named(registry, live, a, desired.get(a), recorded_at.get(str(a))) for a in reachable}
    shared = _one_object_one_address(named, desired, recorded_at, state.lineage, registry, diags)
    for address in addresses:
        key = str(address)
        resource = desired.get(address)
        recorded = recorded_at.get(key)
        masked = fields_with(registry.types[address.type].model, "x-sensitive")
        if masked:
            plan.sensitive[key] = masked
        host = recorded.host if recorded else resource.host
        name = recorded.name if recorded else resource.object_name
        obj = named[address]
        if address in shared:
            continue         # reported: no action on an object two addresses claim
        unreadable = None
        if obj is None:
            attrs = recorded.attributes if recorded else resource.attributes
            unreadable = live.unreadable_reason(live_key(registry, host, address.type, name, attrs))
        if unreadable and recorded is not None and not recorded.pending:
            # Its scope cannot be listed now (an inactive pool): keep the object as recorded, never recreate it.
            obj = LiveObject(address.type, recorded.name, recorded.host, recorded.identity, recorded.attributes,
                             computed=recorded.computed)
        if obj is not None and address not in importing and not _ours(registry, obj, recorded, state.lineage, key):
            if resource is not None:
                diags.error("Object not managed by kvmstate", _conflict(key, obj, state), resource.raw.position, key)
            obj = None       # someone else's object of that name: never touch it
        trusted = address not in importing and not is_requested(address, replace) and \
            _unchanged(obj, resource, recorded)
        view = None if trusted else _shared_view(registry, obj, resource, recorded)
        if address in importing or trusted:
            drift = None        # importing: not drift, the object comes into the state by the import block
        elif unreadable and obj is not None:
            drift = Drift(address=key, kind="unknown", reason=f"{unreadable}; its recorded state is kept")
        else:
            drift = _drift(registry, key, recorded, obj, view)
        if drift:
            plan.drift.append(drift)
        if not trusted and resource is not None and recorded is not None and obj is not None and \
                marked_elsewhere(obj, state.lineage, key):
            plan.drift.append(Drift(address=key, kind="remark"))      # recorded here, marked for another address
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
        change = _unchanged_change(registry, config, address, obj) if trusted else \
            _plan_resource(registry, config, address, recorded, obj, is_requested(address, replace), view)
        if address in importing:
            change.importing = True
            change.reason = "; ".join(filter(None, ["an import block adopts the existing object", change.reason]))
        if interrupted and change.action == Action.CREATE:
            change.reason = "an interrupted apply had started to create it"
        plan.resource_changes.append(change)
        if not trusted and not drift and _fingerprint_missing(change, obj, resource, recorded):
            plan._fingerprints[key] = obj.fingerprint
        check_prevent_destroy(change, resource, diags)
        check_resource(resource, "precondition", resource.attributes, facts, diags)
        check_names(resource, facts, diags)
        if change.action != Action.NOOP:
            _check(registry, config, change, obj, state, diags)
    if options.revert and not options.refresh_only:
        plan_reverts(plan, config, registry, diags)
    if config.scope is not None and not options.destroy:
        check_outputs(config.outputs, config.scope, {a: {**r.attributes, "name": r.object_name}
                                                      for a, r in desired.items()}, config.modes, diags)
    diags.raise_if_errors()
    _cascade_replacements(plan, config, registry)
    _name_users(plan, config)
    _delete_notes(plan, registry)
    plan.count()
    if not desired and not options.destroy:
        plan.warnings.append(_empty_configuration(plan.summary.destroy))
    return plan


def _empty_configuration(deletes: int) -> str:
    """Terraform's meaning, said loudly: an empty configuration wants nothing, so everything recorded goes."""
    if not deletes:
        return "The configuration declares no resources."
    return (f"The configuration declares no resources, so this plan destroys every resource in the state "
            f"({deletes}). If that is what you want, `kvmstate destroy` says so; if not, check the path and the "
            "files given.")


def _cascade_replacements(plan: Plan, config: Configuration, registry: Registry) -> None:
    """Replace what refers to a replaced resource through a replace-class attribute (an overlay on its base), and
    restart what refers through an `x-follows` reference to a replaced or restarted one (a guest on a network)."""
    changes = {c.address: c for c in plan.resource_changes}
    if not any(c.action in (Action.REPLACE, Action.RESTART) for c in changes.values()):
        return
    for key in config.graph.order():
        change = changes.get(key)
        if change is None or change.action in (Action.CREATE, Action.REPLACE, Action.DELETE, Action.REVERT):
            continue
        model = registry.types[change.type].model
        for path, target in config.resources[Address.parse(key)].refs.items():
            moved = changes.get(str(target))
            if moved is None or moved.action not in (Action.REPLACE, Action.RESTART):
                continue
            if moved.action == Action.REPLACE and update_class(model, path) == "replace":
                change.action = Action.REPLACE
                change.replace_paths.append(format_path(path))
                _give_reason(change, f"it refers through {format_path(path)} to {target}, which is replaced")
                break
            if change.action != Action.RESTART and follows(model, path):
                change.action = Action.RESTART
                _give_reason(change, f"it refers through {format_path(path)} to {target}, which is "
                                     f"{'replaced' if moved.action == Action.REPLACE else 'restarted'}, and "
                                     "restarts to join it again")


def _give_reason(change: ResourceChange, why: str) -> None:
    change.reason = f"{change.reason}; {why}" if change.reason else why


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


def _delete_notes(plan: Plan, registry: Registry) -> None:
    """Add the provider's word on how an object it deletes goes (an external snapshot's overlays merged back)."""
    for change in plan.resource_changes:
        provider, live = registry.provider_of[change.type], plan._live.get(change.address)
        if change.action in (Action.DELETE, Action.REPLACE) and live is not None and hasattr(provider, "delete_notes"):
            change.notes.extend(provider.delete_notes(live))


def _check(registry: Registry, config: Configuration, change: ResourceChange, obj: LiveObject | None,
           state: State, diags: Diagnostics) -> None:
    """Ask the provider what would fail, and report it at the attribute's place in the file."""
    resource = config.resources[Address.parse(change.address)]
    live = None if change.action == Action.REPLACE else obj
    for problem in registry.provider_of[change.type].check(request_for(change, config, state.lineage), live):
        path = parse_path(problem.path)
        diags.error("Invalid change" if live else "Invalid resource", problem.message,
                    resource.raw.position_of(path), change.address, problem.path or None)


def _refactored(config: Configuration, state: State, diags: Diagnostics
                ) -> tuple[State, list[tuple[str, str]], list[str]]:
    """The state as `moved` and `removed` blocks leave it (a copy), with what they moved and forgot."""
    if not (config.moved or config.removed):
        return state, [], []
    view = state.model_copy(deep=True)
    moved, removed = refactor.apply_to_state(view, config.moved, config.removed, diags)
    diags.raise_if_errors()
    return view, moved, removed


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


def _as_recorded(obj: LiveObject | None, resource, recorded: StateResource | None) -> bool:
    """Whether the file wants what the state records, for the object the state records."""
    return obj is not None and resource is not None and recorded is not None and not recorded.pending and \
        obj.identity == recorded.identity and recorded.attributes == resource.attributes


def _unchanged(obj: LiveObject | None, resource, recorded: StateResource | None) -> bool:
    """Whether an object is known equal to the configuration without reading its values: the file wants what the
    state records, and the object has the fingerprint recorded when it last compared equal to that (same
    document, flags and live values; the provider folds into it all that its comparison reads)."""
    return _as_recorded(obj, resource, recorded) and obj.fingerprint is not None and \
        obj.fingerprint == recorded.fingerprint and obj.host == resource.host and obj.name == resource.object_name


def _fingerprint_missing(change: ResourceChange, obj: LiveObject | None, resource,
                         recorded: StateResource | None) -> bool:
    """Whether a no-op without drift (the object compared equal to the file and to its record) found a
    fingerprint the record lacks: apply records it, so that the next plan need not compare."""
    return change.action == Action.NOOP and not change.importing and _as_recorded(obj, resource, recorded) and \
        obj.fingerprint is not None and obj.fingerprint != recorded.fingerprint


def _unchanged_change(registry: Registry, config: Configuration, address: Address, obj: LiveObject
                      ) -> ResourceChange:
    """The no-op of an object known unchanged: the change the comparison would make (its live view is the
    desired attributes without kvmstate's own settings, which libvirt does not hold)."""
    resource = config.resources[address]
    before = without_local(registry.types[address.type].model, resource.attributes)
    return ResourceChange(address=str(address), type=address.type, name=resource.object_name, host=resource.host,
                          action=Action.NOOP, identity=obj.identity, before=before,
                          after=resource.attributes, dependencies=[str(a) for a in config.dependencies(address)])


def _shared_view(registry: Registry, obj: LiveObject | None, resource, recorded: StateResource | None
                 ) -> dict | None:
    """The live view that both the drift check and the plan compare with, when the state records exactly the
    desired attributes (the no-op case: one view instead of two); None otherwise."""
    if obj is None or resource is None or recorded is None or recorded.pending or recorded.attributes != \
            resource.attributes:
        return None
    return live_view(registry, obj, resource.attributes, recorded.attributes)


def _drift(registry: Registry, address: str, recorded: StateResource | None, obj: LiveObject | None,
           view: dict | None = None) -> Drift | None:
    """What happened to an object outside kvmstate (or during an interrupted apply) since the state was written."""
    if recorded is None or recorded.pending:
        if obj is not None:
            return Drift(address=address, kind="unrecorded" if recorded is not None else "marked")
        return Drift(address=address, kind="unfinished") if recorded is not None else None
    if obj is None:
        return Drift(address=address, kind="deleted")
    changes = attribute_changes(registry, obj, recorded.attributes, None, view)
    return Drift(address=address, kind="changed", changes=changes) if changes else None


def _named(registry: Registry, live: dict, address: Address, resource, recorded: StateResource | None
           ) -> LiveObject | None:
    """The live object an address names: the recorded object's name, or the configuration's."""
    if recorded is not None:
        return live.get(live_key(registry, recorded.host, address.type, recorded.name, recorded.attributes))
    return live.get(live_key(registry, resource.host, address.type, resource.object_name, resource.attributes))


def _one_object_one_address(named: dict[Address, LiveObject | None], desired: dict,
                            recorded_at: dict[str, StateResource], lineage: str, registry: Registry,
                            diags: Diagnostics) -> set[Address]:
    """Addresses that name one live object that is kvmstate's at one of them, reported as errors.

    One object, one address: after `state mv a b` while the configuration still declares `a`, both name the
    same object; deleting `b` would delete what `a` declares, so nothing is planned for either and the plan
    is refused with the ways out.
    """
    by_object: dict[int, list[Address]] = {}
    for address, obj in named.items():
        if obj is not None:
            by_object.setdefault(id(obj), []).append(address)
    shared: set[Address] = set()
    for addresses in by_object.values():
        obj = named[addresses[0]]
        ours = [a for a in addresses if _ours(registry, obj, recorded_at.get(str(a)), lineage, str(a))]
        if len(addresses) < 2 or not ours:
            continue
        shared.update(addresses)
        declared = [a for a in addresses if a in desired]
        others = [a for a in addresses if a not in desired]
        claims = "; ".join(_claim(obj, a, a in desired, recorded_at.get(str(a))) for a in addresses)
        if declared and others:
            way_out = (f"To manage it as {declared[0]}, record it there with `kvmstate state mv {others[0]} "
                       f"{declared[0]}`; to manage it as {others[0]}, declare {others[0]} instead of {declared[0]} "
                       f"in the configuration (with the name {obj.name!r}).")
        else:
            way_out = "Forget the wrong record with `kvmstate state rm ADDRESS` (libvirt is not changed)."
        where = desired[declared[0]].raw.position if declared else None
        diags.error("One object at two addresses",
                    f"libvirt {obj.type} {obj.name!r} on host {obj.host} (identity {obj.identity}) is claimed by "
                    f"{' and '.join(map(str, addresses))}: {claims}. kvmstate plans no action for an object two "
                    f"addresses claim, so that one the configuration declares is never deleted. {way_out}",
                    where, str(declared[0] if declared else addresses[0]))
    return shared


def _claim(obj: LiveObject, address: Address, declared: bool, recorded: StateResource | None) -> str:
    why = []
    if recorded is not None and recorded.identity == obj.identity:
        why.append("the state records it there")
    if obj.owner is not None and obj.owner.address == str(address):
        why.append("it carries that address's ownership mark")
    if declared:
        why.append("the configuration declares it there")
    return f"at {address} {' and '.join(why) or 'the name matches'}"


def _conflict(address: str, obj: LiveObject, state: State) -> str:
    recover = ""
    if obj.owner is None:
        who = "was not created by kvmstate"
        recover = f" If it is yours, adopt it with `kvmstate import {address} {obj.name}`."
    elif obj.owner.lineage == state.lineage:
        who = f"carries this state's ownership mark for {obj.owner.address}, which the state does not record"
        recover = (f" If {obj.owner.address} was renamed to {address}, adopt the object there with `kvmstate "
                   f"import {address} {obj.name}`.")
    else:
        who = f"belongs to another kvmstate state (lineage {obj.owner.lineage}, {obj.owner.address})"
    if not state.resources or (obj.owner is not None and obj.owner.lineage != state.lineage):
        recover += (" If this state was lost or replaced, rebuild it from the ownership marks with "
                    "`kvmstate state recover`.")
    return (f"libvirt already has a {obj.type} named {obj.name!r} on host {obj.host} that {who}. kvmstate will not "
            f"adopt or delete it: rename the resource in the configuration, or remove the existing object.{recover}")


def _plan_resource(registry: Registry, config: Configuration, address: Address, recorded: StateResource | None,
                   obj: LiveObject | None, replace: bool, view: dict | None = None) -> ResourceChange:
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
    prior = recorded.attributes if recorded else None
    change.before = view if view is not None else live_view(registry, obj, desired, prior)
    changes = attribute_changes(registry, obj, desired, prior, change.before)
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
