"""`--revert ADDR`: put an object back to a snapshot of it, as an explicit action of the plan.

The address names a resource of a type that `reverts` something (a snapshot reverts its
domain). The snapshot must exist, need no change and be one the provider can revert to, and its domain must have no other
action in the same plan: the revert runs alone, and the next plan shows what the snapshot
restored that differs from the configuration.
"""

from __future__ import annotations

from kvmstate.addrs import Address, parse_path
from kvmstate.config import Configuration
from kvmstate.diagnostics import Diagnostics
from kvmstate.plan.model import Action, Plan
from kvmstate.plan.targeting import is_requested, parse_addresses
from kvmstate.provider import Registry


def plan_reverts(plan: Plan, config: Configuration, registry: Registry, diags: Diagnostics) -> None:
    """Turn the snapshots named by `plan.options.revert` into revert actions, or report why they cannot be."""
    requested = parse_addresses(plan.options.revert, "--revert", set(config.resources), diags)
    reverted: dict[str, str] = {}
    for address in requested:
        for key in sorted(a for a in config.resources if is_requested(a, [address])):
            _plan_one(plan, config, registry, key, reverted, diags)


def _plan_one(plan: Plan, config: Configuration, registry: Registry, address: Address,
              reverted: dict[str, str], diags: Diagnostics) -> None:
    resource, rtype = config.resources[address], registry.types[address.type]
    where = resource.raw.position
    if rtype.reverts is None:
        diags.error("Nothing to revert to", f"--revert {address}: a {address.type} is not something to revert to; "
                    "name a snapshot (--revert snapshot.NAME).", where, str(address))
        return
    change = plan.change(str(address))
    target = resource.refs.get(parse_path(rtype.reverts))
    if change is None or target is None:
        diags.error("Nothing to revert to", f"--revert {address}: it is not in this plan (see --target).",
                    where, str(address))
        return
    if change.action != Action.NOOP:
        diags.error("Snapshot not ready", f"--revert {address}: the snapshot {change.action.value}s in this plan "
                    f"({change.reason}); apply without --revert first, then revert to it.", where, str(address))
        return
    other = plan.change(str(target))
    if other is not None and other.action != Action.NOOP:
        diags.error("Reverted object has changes", f"--revert {address}: {target} itself {other.action.value}s in "
                    f"this plan ({other.reason}); apply that first (or revert with --target {address}), then "
                    "revert: a revert runs alone.", where, str(address))
        return
    provider = registry.provider_of[address.type]
    problems = provider.revert_problems(change.type, change.before or {}) if hasattr(provider, "revert_problems") \
        else []
    for problem in problems:
        diags.error("Cannot revert", f"--revert {address}: {problem.message}",
                    resource.raw.position_of(parse_path(problem.path)), str(address), problem.path or None)
    if problems:
        return
    if str(target) in reverted:
        diags.error("Two reverts of one object", f"--revert {address}: {target} is already reverted to "
                    f"{reverted[str(target)]} in this plan; name one snapshot per {target.type}.", where,
                    str(address))
        return
    reverted[str(target)] = str(address)
    change.action, change.reverts = Action.REVERT, str(target)
    change.reason = f"--revert asked for it; what {target} changed since the {address.type} was taken is lost"
