"""Parallel apply against the thread-aware fake provider: order, concurrency, failures, state."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kvmstate.apply.applier import apply_plan
from kvmstate.config import load
from kvmstate.config.loader import Configuration
from kvmstate.graph import Graph
from kvmstate.plan.planner import make_plan
from kvmstate.provider import Registry
from kvmstate.state import State, StateStore

from bench.topology import Topology
from tests.engine.fake_provider import FakeProvider

N = 6


def topology(folder: Path, n: int = N) -> Path:
    """n networks, one pool, n volumes, n domains (domain i uses volume i and network i): the benchmark's."""
    folder.mkdir()
    (folder / "main.yaml").write_text(Topology(n, prefix="t").yaml())
    return folder


def setup(tmp_path: Path, fail_on=()):
    provider = FakeProvider(fail_on=fail_on)
    provider.configure({"default": "fake:///"}, {})
    registry = Registry([provider])
    config = load(topology(tmp_path / "conf"), registry)
    return provider, registry, config, StateStore(tmp_path / "state.json")


def apply(config: Configuration, state: State, store: StateStore, registry: Registry, parallelism: int):
    return apply_plan(make_plan(config, state, registry), config, state, store, registry, parallelism=parallelism)


def assert_order(provider: FakeProvider, before: dict[str, set[str]]) -> None:
    """Each action started only after every action in `before[action]` had ended."""
    position = {event: i for i, event in enumerate(provider.timeline)}
    for address, firsts in before.items():
        for first in firsts:
            assert position[("end", first)] < position[("start", address)], f"{address} started before {first} ended"


def test_creates_after_their_dependencies_and_deletes_before(tmp_path: Path) -> None:
    provider, registry, config, store = setup(tmp_path)
    # The pool is held until every network runs too: a scheduler that ignored the graph would start the
    # volumes and domains meanwhile.
    barrier = threading.Barrier(N + 1, timeout=10)
    provider.during = lambda address: barrier.wait() if address.split(".")[0] in ("network", "pool") else None
    state = State()
    assert apply(config, state, store, registry, parallelism=3 * N + 1).ok
    provider.during = None
    deps = {str(a): {str(d) for d in config.dependencies(a)} for a in config.resources}
    assert {"pool.images", "volume.disk[3]", 'network.lan["3"]'} == deps['domain.vm["3"]'] | deps["volume.disk[3]"]
    assert_order(provider, deps)

    # A delete names the object (type and libvirt name), not its address: the fake records it as TYPE.NAME.
    named = {r.address: f"{r.type}.{r.name}" for r in state.resources}
    provider.timeline.clear()
    empty = Configuration([], {}, Graph())
    assert apply(empty, state, store, registry, parallelism=3 * N + 1).ok
    dependents = {named[a]: {named[b] for b, ds in deps.items() if a in ds} for a in deps}
    assert_order(provider, dependents)
    assert provider.objects == {} and store.read().resources == []


def test_independent_actions_run_at_once(tmp_path: Path) -> None:
    provider, registry, config, store = setup(tmp_path)
    # The networks need nothing: all N must be running together to pass this barrier.
    barrier = threading.Barrier(N, timeout=10)
    provider.during = lambda address: barrier.wait() if address.startswith("network.") else None
    assert apply(config, State(), store, registry, parallelism=N).ok
    assert provider.max_active >= N


def test_parallelism_one_runs_one_at_a_time_in_graph_order(tmp_path: Path) -> None:
    provider, registry, config, store = setup(tmp_path)
    assert apply(config, State(), store, registry, parallelism=1).ok
    assert provider.max_active == 1
    assert [c[1] for c in provider.calls if c[0] == "create"] == config.graph.order()


@pytest.mark.parametrize("parallelism", [1, 4])
def test_a_failure_skips_only_its_dependents(tmp_path: Path, parallelism: int) -> None:
    provider, registry, config, store = setup(tmp_path, fail_on={"volume.disk[2]"})
    outcome = apply(config, State(), store, registry, parallelism)
    assert outcome.failed == {"volume.disk[2]": "injected failure for volume.disk[2]"}
    assert outcome.skipped == ['domain.vm["2"]']
    assert len(outcome.done) == 3 * N + 1 - 2
    assert {r.address for r in store.read().resources} == set(outcome.done)
    assert ("create", 'domain.vm["2"]') not in provider.calls


def test_a_failed_delete_keeps_what_it_depends_on(tmp_path: Path) -> None:
    provider, registry, config, store = setup(tmp_path)
    state = State()
    apply(config, state, store, registry, parallelism=4)
    provider.fail_on = {"domain.t-vm1"}            # a delete names the object: TYPE.NAME
    empty = Configuration([], {}, Graph())
    outcome = apply(empty, state, store, registry, parallelism=4)
    assert list(outcome.failed) == ['domain.vm["1"]']
    assert sorted(outcome.skipped) == ['network.lan["1"]', "pool.images", "volume.disk[1]"]
    assert sorted(r.address for r in store.read().resources) == sorted(['domain.vm["1"]', *outcome.skipped])


def test_state_records_every_action_once(tmp_path: Path) -> None:
    provider, registry, config, store = setup(tmp_path)
    state = State()
    outcome = apply(config, state, store, registry, parallelism=8)
    saved = store.read()
    assert len(outcome.done) == 3 * N + 1
    assert saved.serial == 2 * len(outcome.done)                # per create: the intent, then the result
    assert not [r for r in saved.resources if r.pending]
    assert StateStore(store.path).read() == saved and not store.journal.pending()     # the journal was folded in
    assert {r.address for r in saved.resources} == {str(a) for a in config.resources}
    assert all(r.identity == f"id-{r.type}-{r.name}" for r in saved.resources)
    assert not make_plan(config, saved, registry).has_changes


def test_a_limit_per_host_keeps_one_host_from_taking_every_worker() -> None:
    """Ten jobs on host a come first, two on b: with 2 per host, b starts at once instead of after a's."""
    import threading
    import time
    from kvmstate.apply import schedule
    jobs = {f"a{i}": [] for i in range(10)} | {"b0": [], "b1": []}
    active: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}
    started: list[str] = []
    lock = threading.Lock()

    def work(job: str) -> None:
        with lock:
            active[job[0]] += 1
            most[job[0]] = max(most[job[0]], active[job[0]])
            started.append(job)
        time.sleep(0.02)
        with lock:
            active[job[0]] -= 1

    schedule.run(jobs, work, 4, RuntimeError, group=lambda job: job[0], per_group=2)
    assert most == {"a": 2, "b": 2}
    assert set(started[:4]) == {"a0", "a1", "b0", "b1"}
    assert len(started) == 12
