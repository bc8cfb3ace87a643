"""The applier: carry out a plan through the providers, recording every step in the state.

Creates, updates, restarts and replacements run in dependency order; deletions
run afterwards in reverse order of the dependencies recorded in the state. The
state is written after each completed action, so a failure or a crash leaves a
state that says exactly what was done. An action whose dependency failed is
skipped, and independent actions go on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from kvmstate.addrs import Address, parse_path
from kvmstate.config import Configuration
from kvmstate.config.outputs import evaluate as evaluate_outputs
from kvmstate.diagnostics import Diagnostics
from kvmstate.diff import set_path
from kvmstate.graph import Graph
from kvmstate.plan import Action, Plan, ResourceChange
from kvmstate.planner import live_key, read_live, request_for
from kvmstate.provider import LiveObject, ProviderError, Registry, Request
from kvmstate.state import State, StateResource, StateStore
from kvmstate.state.model import StateOutput


@dataclass
class Event:
    """Progress of one action, for the UI."""

    change: ResourceChange
    phase: str                   # "start", "done", "failed", "skipped"
    elapsed: float = 0.0
    message: str = ""


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)     # address -> error message
    skipped: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


def apply_plan(plan: Plan, config: Configuration, state: State, store: StateStore, registry: Registry,
               on_event: Callable[[Event], None] = lambda e: None,
               stop: Callable[[], bool] = lambda: False) -> Outcome:
    """Execute the plan; `stop()` turning true lets the running action finish and starts no other."""
    outcome = Outcome()
    if plan.options.refresh_only:
        refresh_state(plan, state, store)
        return outcome
    _record_drift(plan, state, store)
    forward = [plan.change(a) for a in config.graph.order()]
    forward = [c for c in forward if c and c.action in (Action.CREATE, Action.UPDATE, Action.RESTART, Action.REPLACE)]
    deletes = {c.address: c for c in plan.resource_changes if c.action == Action.DELETE}
    graph = Graph()
    for address, change in deletes.items():
        graph.add(address, (d for d in change.dependencies if d in deletes))
    backward = [deletes[a] for a in reversed(graph.order())]
    blocked: set[str] = set()
    for change in forward + backward:
        related = change.dependencies if change.action != Action.DELETE else _dependents(change.address, deletes)
        if stop() or blocked.intersection(related):
            blocked.add(change.address)
            outcome.skipped.append(change.address)
            outcome.interrupted = outcome.interrupted or stop()
            on_event(Event(change, "skipped", message="the apply was interrupted" if stop()
                           else "a resource it depends on failed"))
            continue
        on_event(Event(change, "start"))
        started = time.monotonic()
        try:
            _execute(change, plan, config, state, store, registry)
        except ProviderError as exc:
            blocked.add(change.address)
            outcome.failed[change.address] = str(exc)
            on_event(Event(change, "failed", time.monotonic() - started, str(exc)))
            continue
        outcome.done.append(change.address)
        on_event(Event(change, "done", time.monotonic() - started))
    return outcome


def _record_drift(plan: Plan, state: State, store: StateStore) -> None:
    """Forget objects deleted outside kvmstate that are no longer wanted; record drifted or unrecorded ones that
    need no change (their differences are all in lifecycle.ignore_changes, or they already match)."""
    for drift in plan.drift:
        change = plan.change(drift.address)
        if drift.kind in ("deleted", "unfinished") and change is None:
            state.remove(drift.address)
        elif drift.kind not in ("deleted", "unfinished") and change is not None and change.action == Action.NOOP:
            live = plan._live[change.address]
            _record(change, live.identity, state, computed=live.computed)
        else:
            continue
        store.write(state)


def refresh_state(plan: Plan, state: State, store: StateStore) -> None:
    """Record the drift in the state, changing no object: the state then says what libvirt has."""
    for drift in plan.drift:
        if drift.kind in ("deleted", "unfinished"):
            state.remove(drift.address)
        elif drift.kind == "changed":
            recorded = state.get(drift.address)
            for change in reversed(drift.changes):       # before = live, after = recorded
                set_path(recorded.attributes, parse_path(change.path), change.before)
        else:
            obj = plan._live[drift.address]
            state.put(StateResource(address=drift.address, type=obj.type, name=obj.name, host=obj.host,
                                    identity=obj.identity, attributes=obj.attributes, computed=obj.computed))
    if plan.drift:
        store.write(state)


def _record(change: ResourceChange, identity: str | None, state: State, *, pending: str | None = None,
            computed: dict | None = None) -> None:
    state.put(StateResource(address=change.address, type=change.type, name=change.name, host=change.host,
                            identity=identity, pending=pending, attributes=change.after or {},
                            dependencies=change.dependencies, computed=computed or {}))


def _dependents(address: str, deletes: dict[str, ResourceChange]) -> list[str]:
    return [a for a, c in deletes.items() if address in c.dependencies]


def _execute(change: ResourceChange, plan: Plan, config: Configuration, state: State, store: StateStore,
             registry: Registry) -> None:
    provider = registry.provider_of[change.type]
    live: LiveObject | None = plan._live.get(change.address)
    if change.create_before_destroy:
        result = provider.create(request_for(change, config, state.lineage))
        _record(change, result.identity, state, computed=result.computed)
        store.write(state)
        provider.delete(change.type, live.host, live.name, live.identity)
        return
    if change.action in (Action.DELETE, Action.REPLACE) and live is not None:
        provider.delete(change.type, live.host, live.name, live.identity)
        state.remove(change.address)
        store.write(state)
        if change.action == Action.DELETE:
            return
    request = request_for(change, config, state.lineage)
    if change.action in (Action.CREATE, Action.REPLACE):
        result = _create(change, request, registry, state, store)
    else:
        paths = [c.path for c in change.changes]
        result = provider.update(request, live, paths, restart=change.action == Action.RESTART)
    _record(change, result.identity, state, computed=result.computed)
    store.write(state)


def _create(change: ResourceChange, request: Request, registry: Registry, state: State, store: StateStore):
    """Create through a write-ahead intent: a crash during the call leaves a trace the next plan resolves."""
    _record(change, None, state, pending="create")
    store.write(state)
    try:
        return registry.provider_of[change.type].create(request)
    except ProviderError:
        if not _exists(registry, change):         # a clean failure: nothing was made, so no trace is kept
            state.remove(change.address)
            store.write(state)
        raise


def _exists(registry: Registry, change: ResourceChange) -> bool:
    """Whether libvirt has the object a failed create was making (True when that cannot be known)."""
    try:
        live = read_live(registry, {(change.host, change.type)})
    except ProviderError:
        return True
    return live_key(registry, change.host, change.type, change.name, change.after or {}) in live


def record_outputs(config: Configuration, state: State, store: StateStore) -> None:
    """Evaluate the outputs against the state (computed values merged in) and record them when they changed.

    Raises a DiagnosticError when an output cannot be evaluated; the state keeps the previous outputs then.
    """
    instances = {Address.parse(r.address): {**r.attributes, **(getattr(r, "computed", None) or {}), "name": r.name}
                 for r in state.resources}
    diags = Diagnostics()
    values = evaluate_outputs(config.outputs, config.scope, instances, config.modes, diags) if config.scope else {}
    diags.raise_if_errors()
    outputs = {name: StateOutput(value=value, sensitive=config.outputs[name].sensitive,
                                 description=config.outputs[name].description) for name, value in values.items()}
    if outputs != state.outputs:
        state.outputs = outputs
        store.write(state)
