"""`make bench`: every measurement in one run, printed as a table of medians and ratios, saved as JSON.

Environment: BENCH_SIZES (default "10 30"), BENCH_REPS (3), BENCH_ANSIBLE_REPS (1),
BENCH_SCALE ("1000 5000"), BENCH_MULTIHOST ("10x500": hosts x resources per host),
BENCH_TOOLS (default all: kvmstate kvmstate-p1 sequential parallel ansible),
BENCH_STATE_WRITES ("250 1000": applies of that many creates with each state backend, bench/state_writes.py).
Run inside scripts/private-libvirtd (the Makefile does).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import ansible, coldstart, measure, multihost, scale, state_writes, topology_run
from bench.report import table
from bench.topology import Topology

RESULTS = Path(__file__).resolve().parent / "results"


def env_list(name: str, default: str) -> list[str]:
    return os.environ.get(name, default).split()


def main() -> None:
    sizes = [int(n) for n in env_list("BENCH_SIZES", "10 30")]
    reps = int(os.environ.get("BENCH_REPS", "3"))
    ansible_reps = int(os.environ.get("BENCH_ANSIBLE_REPS", "1"))
    tools = env_list("BENCH_TOOLS", "kvmstate kvmstate-p1 sequential parallel ansible")
    if "ansible" in tools and not ansible.available():
        sys.stderr.write("bench: no bench/.venv-ansible; skipping Ansible (make bench creates it)\n")
        tools.remove("ansible")
    started = time.time()
    load_before = os.getloadavg()
    results: dict = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "host": {"cpus": os.cpu_count(), "python": platform.python_version(),
                              "loadavg_before": load_before},
                     "settings": {"sizes": sizes, "reps": reps, "ansible_reps": ansible_reps, "tools": tools},
                     "topology": {}, "scale": [], "calls": [], "coldstart": {}}
    with tempfile.TemporaryDirectory(prefix="kvmstate-bench-") as tmp:
        folder = Path(tmp)
        for n in sizes:
            t = Topology(n)
            runs: dict[str, list[dict]] = {tool: [] for tool in tools}
            for rep in range(reps):
                for tool in tools:      # interleaved, so load changes hit every tool alike
                    if tool == "ansible" and rep >= ansible_reps:
                        continue
                    print(f"bench: N={n} {tool} round {rep + 1}", file=sys.stderr, flush=True)
                    runs[tool].append(topology_run.one_round(tool, t, folder))
            results["topology"][str(n)] = {
                tool: {phase: measure.median([r[phase] for r in rounds]) for phase in ("create", "noop", "delete")}
                | {"runs": rounds} for tool, rounds in runs.items()}
        for resources in [int(r) for r in env_list("BENCH_SCALE", "1000 5000")]:
            print(f"bench: no-op plan of {resources}", file=sys.stderr, flush=True)
            results["scale"].append(scale.plan_vs_floor(resources, folder, reps))
        for size in env_list("BENCH_MULTIHOST", "10x500"):
            hosts, per_host = (int(n) for n in size.split("x"))
            print(f"bench: no-op plan of {hosts} hosts x {per_host}", file=sys.stderr, flush=True)
            results.setdefault("multihost", []).append(multihost.plan_many_hosts(hosts, per_host, folder, reps))
        for resources in [int(r) for r in env_list("BENCH_CALLS", "10 100 1000")]:
            results["calls"].append(scale.calls_of_noop_plan(resources, folder))
        results["coldstart"] = coldstart.cold_start(max(reps, 5) * 2)
        results["state_writes"] = state_writes.measure([int(r) for r in env_list("BENCH_STATE_WRITES", "250 1000")],
                                                       folder)
    results["seconds"] = round(time.time() - started)
    results["host"]["loadavg_after"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{results['started'].replace(':', '')[:17]}.json"
    path.write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))
    print("\n" + state_writes.table(results["state_writes"]))
    print(f"\nFigures saved in {path.relative_to(measure.ROOT)}")


if __name__ == "__main__":
    main()
