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

from kvmstate.config import Configuration
from kvmstate.graph import Graph
from kvmstate.plan import Action, Plan, ResourceChange
from kvmstate.planner import request_for
from kvmstate.provider import LiveObject, ProviderError, Registry
from kvmstate.state import State, StateResource, StateStore


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

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


def apply_plan(plan: Plan, config: Configuration, state: State, store: StateStore, registry: Registry,
               on_event: Callable[[Event], None] = lambda e: None) -> Outcome:
    outcome = Outcome()
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
        if blocked.intersection(related):
            blocked.add(change.address)
            outcome.skipped.append(change.address)
            on_event(Event(change, "skipped", message="a resource it depends on failed"))
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
    """Forget objects deleted outside kvmstate that are no longer wanted; record unrecorded ones that need no change."""
    for drift in plan.drift:
        change = plan.change(drift.address)
        if drift.kind == "deleted" and change is None:
            state.remove(drift.address)
        elif drift.kind == "unrecorded" and change is not None and change.action == Action.NOOP:
            live = plan._live[change.address]
            _record(change, live.identity, state, live.computed)
        else:
            continue
        store.write(state)


def _record(change: ResourceChange, identity: str, state: State, computed: dict | None = None) -> None:
    state.put(StateResource(address=change.address, type=change.type, name=change.name, host=change.host,
                            identity=identity, attributes=change.after or {}, dependencies=change.dependencies,
                            computed=computed or {}))


def _dependents(address: str, deletes: dict[str, ResourceChange]) -> list[str]:
    return [a for a, c in deletes.items() if address in c.dependencies]


def _execute(change: ResourceChange, plan: Plan, config: Configuration, state: State, store: StateStore,
             registry: Registry) -> None:
    provider = registry.provider_of[change.type]
    live: LiveObject | None = plan._live.get(change.address)
    if change.action in (Action.DELETE, Action.REPLACE) and live is not None:
        provider.delete(change.type, live.host, live.name, live.identity)
        state.remove(change.address)
        store.write(state)
        if change.action == Action.DELETE:
            return
    request = request_for(change, config, state.lineage)
    if change.action in (Action.CREATE, Action.REPLACE):
        result = provider.create(request)
    else:
        paths = [c.path for c in change.changes]
        result = provider.update(request, live, paths, restart=change.action == Action.RESTART)
    _record(change, result.identity, state, result.computed)
    store.write(state)

