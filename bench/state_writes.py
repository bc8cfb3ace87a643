"""What recording an apply costs the state backend: bytes written and time per action, as N grows.

    python -m bench.state_writes [N ...]        (default 250 1000 resources; PostgreSQL is started privately)

An apply of N creates on libvirt's test driver (an empty in-memory host), with the
state in each backend: `local` (journal, folded at the end), `pg` (one row per
action), and `local-rewrite`, the whole-file rewrite per action kvmstate 0.1 did,
for comparison. Reported: bytes the backend wrote in total over the final state's
size (target: at most 10x), and the mean milliseconds per action, compared
between sizes (target: no growth with N), with the median of the last tenth of
the apply (domains, the slowest creates). The backend's own cost is separated
out: the median milliseconds of one incremental write in the first and the last
tenth of the apply (target: equal). For PostgreSQL the WAL the server wrote is
given too. The 0.1 rewrite runs at the smallest size only (it is quadratic).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench.topology import Topology
from bench.testdriver import NODE
from kvmstate.apply.applier import apply_plan
from kvmstate.config import load
from kvmstate.plan.planner import make_plan
from kvmstate.provider import Registry
from kvmstate.state import Backend, State
from kvmstate.state.model import State as StateModel
from kvmstate.state.store import StateStore
from kvmstate_libvirt import LibvirtProvider


class RewriteStore(StateStore):
    """kvmstate 0.1's way: the whole state file rewritten for every recorded action."""

    def _store_change(self, state: StateModel, change) -> None:
        self._snapshot(state)


def written(backend: Backend) -> int:
    journal = getattr(backend, "journal", None)
    return backend.bytes_written + (journal.bytes_written if journal else 0)


def one_apply(kind: str, resources: int, folder: Path) -> dict:
    """Apply `resources` creates into an empty test host with the state in backend `kind`."""
    topo = Topology(max(1, (resources - 1) // 3), prefix=f"sw{resources}")
    run = folder / f"{kind}-{resources}"
    run.mkdir()
    (run / "empty.xml").write_text(NODE)
    (run / "config").mkdir()
    (run / "config" / "main.yaml").write_text(topo.yaml())
    provider = LibvirtProvider()
    provider.configure({"default": f"test://{run / 'empty.xml'}"}, {})
    registry = Registry([provider])
    config = load(run / "config", registry)
    if kind == "pg":
        from kvmstate.state.postgres import PostgresBackend
        backend: Backend = PostgresBackend(f"bench-{resources}")
    else:
        backend = (RewriteStore if kind == "local-rewrite" else StateStore)(run / "state.json")
    state = State()
    plan = make_plan(config, state, registry)
    writes = _timed_writes(backend)
    times: list[float] = []
    last = [time.perf_counter()]

    def on_event(event) -> None:
        if event.phase == "done":
            now = time.perf_counter()
            times.append(now - last[0])
            last[0] = now

    wal = _wal_lsn() if kind == "pg" else None
    started = time.perf_counter()
    with backend.lock("apply"):
        last[0] = time.perf_counter()
        outcome = apply_plan(plan, config, state, backend, registry, on_event, parallelism=1)
    seconds = time.perf_counter() - started
    provider.close()
    assert outcome.ok and backend.read() == state, "the bench apply failed"
    final = len(state.model_dump_json(indent=2))
    tenth = max(1, len(times) // 10)
    result = {"backend": kind, "resources": len(state.resources), "seconds": round(seconds, 2),
              "final_state_bytes": final, "written_bytes": written(backend),
              "written_over_final": round(written(backend) / final, 2),
              "ms_per_action": round(seconds / len(times) * 1000, 2),
              "last_tenth_ms": round(statistics.median(times[-tenth:]) * 1000, 2),
              "write_ms_first_tenth": _median_ms(writes[:len(writes) // 10]),
              "write_ms_last_tenth": _median_ms(writes[-(len(writes) // 10):])}
    if wal is not None:
        result["wal_bytes"] = _wal_lsn() - wal
        backend.close()
    return result


def _timed_writes(backend: Backend) -> list[float]:
    """Seconds each incremental write spends in the backend, recorded as the apply goes."""
    seconds: list[float] = []
    store_change = backend._store_change

    def timed(state, change) -> None:
        started = time.perf_counter()
        store_change(state, change)
        seconds.append(time.perf_counter() - started)
    backend._store_change = timed
    return seconds


def _median_ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 3) if seconds else 0.0


def _wal_lsn() -> int:
    import psycopg
    with psycopg.connect(autocommit=True) as conn:
        return int(conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0])


def measure(sizes: list[int], folder: Path) -> list[dict]:
    """Every backend at every size; a private PostgreSQL is started when PGHOST is not set."""
    results = []
    with ExitStack() as stack:
        if not os.environ.get("PGHOST"):
            from tests.pgserver import PrivatePostgres
            server = stack.enter_context(PrivatePostgres())
            os.environ.update(server.env)
        for resources in sizes:
            for kind in ("local", "pg", "local-rewrite") if resources == min(sizes) else ("local", "pg"):
                print(f"bench: state writes, {kind}, {resources} creates", file=sys.stderr, flush=True)
                results.append(one_apply(kind, resources, folder))
    return results


def table(results: list[dict]) -> str:
    lines = ["State backend: an apply of N creates on libvirt's test driver",
             f"{'backend':<14}{'N':>6}{'seconds':>9}{'final KB':>10}{'written KB':>12}{'ratio':>7}"
             f"{'ms/action':>11}{'write ms first/last 10%':>25}{'WAL KB':>9}  target (ratio <= 10)"]
    for r in results:
        wal = f"{r['wal_bytes'] / 1024:>9.0f}" if "wal_bytes" in r else f"{'-':>9}"
        verdict = "met" if r["written_over_final"] <= 10 else "MISSED"
        lines.append(f"{r['backend']:<14}{r['resources']:>6}{r['seconds']:>9.2f}{r['final_state_bytes'] / 1024:>10.0f}"
                     f"{r['written_bytes'] / 1024:>12.0f}{r['written_over_final']:>7.1f}{r['ms_per_action']:>11.2f}"
                     f"{r['write_ms_first_tenth']:>15.3f} / {r['write_ms_last_tenth']:<7.3f}{wal}  {verdict if r['backend'] != 'local-rewrite' else '(0.1)'}")
    return "\n".join(lines)


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:]] or [250, 1000]
    with tempfile.TemporaryDirectory(prefix="kvmstate-bench-") as tmp:
        measured = measure(sizes, Path(tmp))
    print(json.dumps(measured, indent=1))
    print(table(measured))
