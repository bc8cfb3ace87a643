"""The applier: carry out a plan through the providers, recording every step in the state.

Creates, updates, restarts and replacements run in dependency order; deletions
run afterwards in reverse order of the dependencies recorded in the state. Up to
`parallelism` independent actions run at once (kvmstate.apply.schedule). The state is
written after each completed action, under a lock, so a failure or a crash leaves
a state that says exactly what was done; a create is preceded by an intent in the
state, so a crash during it leaves a trace the next plan resolves. An action whose
dependency failed is skipped, and independent actions go on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Callable, Mapping

from kvmstate.apply import schedule
from kvmstate.addrs import Address, parse_path
from kvmstate.config import Configuration
from kvmstate.config.conditions import check_resource
from kvmstate.config.outputs import evaluate as evaluate_outputs
from kvmstate.diagnostics import Diagnostics
from kvmstate.plan.diff import set_path
from kvmstate.graph import Graph
from kvmstate.plan.model import Action, Options, Plan, ResourceChange
from kvmstate.plan.live import live_key, read_live, request_for, verified_fingerprint
from kvmstate.provider import LiveObject, Owner, ProviderError, Registry, Request
from kvmstate.state import Backend, State, StateResource
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
    postconditions: Diagnostics = field(default_factory=Diagnostics)     # those that failed after the apply

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


def apply_plan(plan: Plan, config: Configuration, state: State, store: Backend, registry: Registry,
               on_event: Callable[[Event], None] = lambda e: None, parallelism: int = 1,
               stop: Callable[[], bool] = lambda: False, uris: Mapping[str, str] | None = None,
               per_host: int = 0) -> Outcome:
    """Carry out the plan, up to `parallelism` independent actions at a time (and `per_host` on one host,
    when set); once `stop()` turns true the running actions finish and are recorded, and no other starts.
    `uris` (host -> URI) are recorded with each resource, so that a host later removed from the
    configuration can still be reached."""
    outcome = Outcome()
    recorder = Recorder(state, store, uris)
    _refactor_state(plan, recorder)
    if plan.options.refresh_only:
        refresh_state(plan, recorder)
        return outcome
    _record_drift(plan, recorder, registry)
    _record_imports(plan, recorder, registry)
    changes = {c.address: c for c in plan.resource_changes}
    forward = {a: _prerequisites(a, changes) for a in config.graph.order()
               if a in changes and changes[a].action in (Action.CREATE, Action.UPDATE, Action.RESTART, Action.REPLACE,
                                                        Action.REVERT)}
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
            outcome.interrupted = outcome.interrupted or stop()
        message = str(exc) if exc else ("the apply was interrupted" if stop() else
                                        "a resource it depends on failed") if phase == "skipped" else ""
        on_event(Event(changes[address], phase, elapsed, message))

    try:
        for jobs in (forward, backward):
            schedule.run(jobs, lambda address: _execute(changes[address], plan, config, recorder, registry),
                         parallelism, ProviderError, lambda address: on_event(Event(changes[address], "start")),
                         on_end, stop, lambda address: changes[address].host, per_host)
    finally:
        store.checkpoint()
    _postconditions(config, recorder.state, registry, outcome)
    return outcome


def _postconditions(config: Configuration, state: State, registry: Registry, outcome: Outcome) -> None:
    """Check the postconditions of the applied resources, `self` being what the state now records."""
    facts = cache(registry.facts)
    for address in outcome.done:
        resource, recorded = config.resources.get(Address.parse(address)), state.get(address)
        if resource is not None and recorded is not None:
            check_resource(resource, "postcondition", {**recorded.attributes, **(recorded.computed or {})}, facts,
                           outcome.postconditions)


def _prerequisites(address: str, changes: dict[str, ResourceChange]) -> set[str]:
    """The dependencies an action waits for, looking through unchanged ones: a domain whose volume is unchanged
    still waits for the start of that volume's pool."""
    found: set[str] = set()
    stack, seen = list(changes[address].dependencies), set()
    while stack:
        dep = stack.pop()
        if dep in seen or dep not in changes:
            continue
        seen.add(dep)
        if changes[dep].action == Action.NOOP:
            stack.extend(changes[dep].dependencies)
        else:
            found.add(dep)
    return found


class Recorder:
    """The one place the state changes during an apply: each change is written at once (one resource, not the
    whole state), under a lock."""

    def __init__(self, state: State, store: Backend, uris: Mapping[str, str] | None = None):
        self.state, self.store = state, store
        self.uris = dict(uris or {})
        self._lock = threading.Lock()

    def record(self, change: ResourceChange, identity: str | None, *, pending: str | None = None,
               computed: dict | None = None, fingerprint: str | None = None) -> None:
        self.put(StateResource(address=change.address, type=change.type, name=change.name, host=change.host,
                               uri=self._uri(change.host), identity=identity, pending=pending,
                               attributes=change.after or {}, dependencies=change.dependencies,
                               computed=computed or {}, fingerprint=fingerprint))

    def record_result(self, change: ResourceChange, result: LiveObject, registry: Registry) -> None:
        """Record what an action made, with its fingerprint when it compares equal to the change's attributes."""
        self.record(change, result.identity, computed=result.computed, fingerprint=verified_fingerprint(
            registry, result, change.after or {}, self.state.lineage, change.address))

    def _uri(self, host: str) -> str | None:
        if host in self.uris:
            return self.uris[host]
        return next((r.uri for r in self.state.resources if r.host == host and r.uri), None)

    def put(self, resource: StateResource) -> None:
        with self._lock:
            self.store.put(self.state, resource)

    def remove(self, address: str) -> None:
        with self._lock:
            self.store.remove(self.state, address)


def _refactor_state(plan: Plan, recorder: Recorder) -> None:
    """Rename the entries `moved` blocks move and forget those `removed` blocks name, before any change. The
    identity the entry keeps makes the object ours at its new address (its ownership mark may still name the
    old one)."""
    from kvmstate.state.ops import rename
    if not (plan.moved or plan.removed):
        return
    with recorder._lock:
        for m in plan.moved:
            if recorder.state.get(m.from_) is not None and recorder.state.get(m.to) is None:
                rename(recorder.state, m.from_, m.to)
        for address in plan.removed:
            recorder.state.remove(address)
        recorder.store.write(recorder.state)


def _record_drift(plan: Plan, recorder: Recorder, registry: Registry) -> None:
    """Forget objects deleted outside kvmstate that are no longer wanted; record drifted or unrecorded ones that
    need no change (their differences are all in lifecycle.ignore_changes, or they already match); rewrite
    the ownership mark of objects that stay and are marked for another address."""
    for drift in plan.drift:
        change = plan.change(drift.address)
        if drift.kind == "unknown":
            continue              # kept as recorded until it can be read
        if drift.kind == "remark":
            if change is not None and change.action not in (Action.DELETE, Action.REPLACE):
                live = plan._live[change.address]
                registry.provider_of[change.type].adopt(live, Owner(recorder.state.lineage, change.address))
        elif drift.kind in ("deleted", "unfinished") and change is None:
            recorder.remove(drift.address)
        elif drift.kind not in ("deleted", "unfinished") and change is not None and change.action == Action.NOOP:
            live = plan._live[change.address]
            recorder.record(change, live.identity, computed=live.computed)


def _record_imports(plan: Plan, recorder: Recorder, registry: Registry) -> None:
    """Mark and record the objects `import` blocks adopt, before any action: an import that needs no change is
    done here; one that does is then updated (or replaced) like any recorded object, from its live values."""
    for change in plan.resource_changes:
        if not change.importing or change.address not in plan._live:
            continue
        live = registry.provider_of[change.type].adopt(plan._live[change.address],
                                                       Owner(recorder.state.lineage, change.address))
        plan._live[change.address] = live
        as_found = change if change.action == Action.NOOP else change.model_copy(update={"after": change.before})
        recorder.record(as_found, live.identity, computed=live.computed)


def refresh_state(plan: Plan, recorder: Recorder) -> None:
    """Record the drift in the state, changing no object: the state then says what libvirt has."""
    for drift in plan.drift:
        if drift.kind == "remark":
            continue                                     # the mark is in the object: left as it is
        if drift.kind in ("deleted", "unfinished"):
            recorder.remove(drift.address)
        elif drift.kind == "unknown":
            continue
        elif drift.kind == "changed":
            recorded = recorder.state.get(drift.address).model_copy(deep=True)
            for change in reversed(drift.changes):       # before = live, after = recorded
                set_path(recorded.attributes, parse_path(change.path), change.before)
            recorder.put(recorded)
        else:
            obj = plan._live[drift.address]
            recorder.put(StateResource(address=drift.address, type=obj.type, name=obj.name, host=obj.host,
                                       uri=recorder.uris.get(obj.host), identity=obj.identity,
                                       attributes=obj.attributes, computed=obj.computed))


def _execute(change: ResourceChange, plan: Plan, config: Configuration, recorder: Recorder,
             registry: Registry) -> None:
    provider = registry.provider_of[change.type]
    live: LiveObject | None = plan._live.get(change.address)
    if change.action == Action.REVERT:
        provider.revert(live)
        recorder.record(change, live.identity, computed=live.computed)
        return
    if change.create_before_destroy:
        result = provider.create(request_for(change, config, recorder.state.lineage))
        recorder.record_result(change, result, registry)
        provider.delete(change.type, live.host, live.name, live.identity)
        return
    if change.action in (Action.DELETE, Action.REPLACE) and live is not None:
        provider.delete(change.type, live.host, live.name, live.identity)
        recorder.remove(change.address)
        if change.action == Action.DELETE:
            return
    request = request_for(change, config, recorder.state.lineage)
    if change.action in (Action.CREATE, Action.REPLACE):
        result = _create(change, request, registry, recorder)
    else:
        paths = [c.path for c in change.changes]
        result = provider.update(request, live, paths, restart=change.action == Action.RESTART)
    recorder.record_result(change, result, registry)


def _create(change: ResourceChange, request: Request, registry: Registry, recorder: Recorder) -> LiveObject:
    """Create through a write-ahead intent: a crash during the call leaves a trace the next plan resolves."""
    recorder.record(change, None, pending="create")
    try:
        return registry.provider_of[change.type].create(request)
    except ProviderError:
        if not _exists(registry, change):         # a clean failure: nothing was made, so no trace is kept
            recorder.remove(change.address)
        raise


def _exists(registry: Registry, change: ResourceChange) -> bool:
    """Whether libvirt has the object a failed create was making (True when that cannot be known)."""
    try:
        live = read_live(registry, {(change.host, change.type)})
    except ProviderError:
        return True
    return live_key(registry, change.host, change.type, change.name, change.after or {}) in live


def record_fingerprints(plan: Plan, state: State, store: Backend) -> None:
    """Record the fingerprints of objects the plan compared equal to their records (one write, none when
    there is none): a state from before fingerprints gains them at its first apply."""
    found = plan._fingerprints
    stale = [r for r in state.resources if r.address in found and r.fingerprint != found[r.address]]
    for recorded in stale:
        recorded.fingerprint = found[recorded.address]
    if stale:
        store.write(state)


def record_outputs(config: Configuration, state: State, store: Backend, options: Options | None = None) -> None:
    """Evaluate the outputs against the state (computed values merged in) and record them when they changed.

    After a destroy there is nothing to describe: the outputs are cleared (a targeted destroy keeps the ones
    that still evaluate). Otherwise raises a DiagnosticError when an output cannot be evaluated; the state
    keeps the previous outputs then.
    """
    instances = {Address.parse(r.address): {**r.attributes, **(r.computed or {}), "name": r.name}
                 for r in state.resources}
    diags = Diagnostics()
    destroy = options is not None and options.destroy
    values = {}
    if config.scope and not (destroy and not options.targets):
        values = evaluate_outputs(config.outputs, config.scope, instances, config.modes, diags)
    if not destroy:
        diags.raise_if_errors()
    outputs = {name: StateOutput(value=value, sensitive=config.outputs[name].sensitive,
                                 description=config.outputs[name].description) for name, value in values.items()}
    if outputs != state.outputs:
        state.outputs = outputs
        store.write(state)
