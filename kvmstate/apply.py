"""The applier: carry out a plan through the providers, recording every step in the state.

Creates, updates, restarts and replacements run in dependency order; deletions
run afterwards in reverse order of the dependencies recorded in the state. Up to
`parallelism` independent actions run at once (kvmstate.schedule). The state is
written after each completed action, under a lock, so a failure or a crash leaves
a state that says exactly what was done. An action whose dependency failed is
skipped, and independent actions go on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

from kvmstate import schedule
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
               on_event: Callable[[Event], None] = lambda e: None, parallelism: int = 1) -> Outcome:
    """Carry out the plan, up to `parallelism` independent actions at a time."""
    outcome = Outcome()
    recorder = Recorder(state, store)
    _record_drift(plan, recorder)
    changes = {c.address: c for c in plan.resource_changes}
    forward = {a: changes[a].dependencies for a in config.graph.order()
               if a in changes and changes[a].action in (Action.CREATE, Action.UPDATE, Action.RESTART, Action.REPLACE)}
    deletes = {c.address: c for c in plan.resource_changes if c.action == Action.DELETE}
    graph = Graph()
    for address, change in deletes.items():
        graph.add(address, (d for d in change.dependencies if d in deletes))
    dependents: dict[str, list[str]] = {a: [] for a in deletes}
    for address, change in deletes.items():
        for dep in change.dependencies:
            if dep in deletes:
                dependents[dep].append(address)
    backward = {a: dependents[a] for a in reversed(graph.order())}

    def on_end(address: str, phase: str, elapsed: float, exc: Exception | None) -> None:
        if phase == "done":
            outcome.done.append(address)
        elif phase == "failed":
            outcome.failed[address] = str(exc)
        else:
            outcome.skipped.append(address)
        message = str(exc) if exc else "a resource it depends on failed" if phase == "skipped" else ""
        on_event(Event(changes[address], phase, elapsed, message))

    for jobs in (forward, backward):
        schedule.run(jobs, lambda address: _execute(changes[address], plan, config, recorder, registry),
                     parallelism, ProviderError, lambda address: on_event(Event(changes[address], "start")), on_end)
    return outcome


class Recorder:
    """The one place the state changes during an apply: each change is written at once, under a lock."""

    def __init__(self, state: State, store: StateStore):
        self.state, self.store = state, store
        self._lock = threading.Lock()

    def record(self, change: ResourceChange, identity: str) -> None:
        with self._lock:
            _record(change, identity, self.state)
            self.store.write(self.state)

    def remove(self, address: str) -> None:
        with self._lock:
            self.state.remove(address)
            self.store.write(self.state)


def _record_drift(plan: Plan, recorder: Recorder) -> None:
    """Forget objects deleted outside kvmstate that are no longer wanted; record unrecorded ones that need no change."""
    for drift in plan.drift:
        change = plan.change(drift.address)
        if drift.kind == "deleted" and change is None:
            recorder.remove(drift.address)
        elif drift.kind == "unrecorded" and change is not None and change.action == Action.NOOP:
            recorder.record(change, plan._live[change.address].identity)


def _record(change: ResourceChange, identity: str, state: State) -> None:
    state.put(StateResource(address=change.address, type=change.type, name=change.name, host=change.host,
                            identity=identity, attributes=change.after or {}, dependencies=change.dependencies))


def _execute(change: ResourceChange, plan: Plan, config: Configuration, recorder: Recorder,
             registry: Registry) -> None:
    provider = registry.provider_of[change.type]
    live: LiveObject | None = plan._live.get(change.address)
    if change.action in (Action.DELETE, Action.REPLACE) and live is not None:
        provider.delete(change.type, live.host, live.name, live.identity)
        recorder.remove(change.address)
        if change.action == Action.DELETE:
            return
    request = request_for(change, config, recorder.state.lineage)
    if change.action in (Action.CREATE, Action.REPLACE):
        result = provider.create(request)
    else:
        paths = [c.path for c in change.changes]
        result = provider.update(request, live, paths, restart=change.action == Action.RESTART)
    recorder.record(change, result.identity)

