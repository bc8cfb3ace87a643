"""Crash safety: apply and destroy killed with SIGKILL at many points, then recovered, measuring identities.

A small topology (11 resources, 12 in its second version; every name different from its address; `count`
and `for_each` for volumes, overlays, seeds and domains) goes round a cycle: created from nothing, changed (a
network's autostart, image volumes and seeds replaced — so re-uploaded —, a volume added, a running domain
updated live, a stopped one's memory raised), changed back (the same, and a volume removed), destroyed. Each
step of each round is killed at one point: before or after one of its libvirt calls that change something,
or half-way through a state write. Rounds run with `--parallelism 1` (a point is one exact place) and `--parallelism 10`.

Before each kill the UUID (domains, networks, pools) or key (volumes, seeds) of every object is recorded.
After it: the state file is valid; the next plan holds only actions the interrupted run had left to do (no
replace or delete of an object the run was not replacing or deleting) and creates exactly what is missing;
apply converges and a second plan is empty; the state has one entry per address, no create intent, and the
identity it records for each is the live one; the objects of the topology are exactly those in the state;
every survivor kept its identity. The report is computed from these measurements, written to
$KVMSTATE_CRASH_REPORT (default .cache/crash-report.json) and printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import libvirt
import pytest

from kvmstate.state.model import STATE_VERSION

from . import crash_report
from .conftest import ROOT

pytestmark = pytest.mark.libvirtd
KILLER = Path(__file__).with_name("killer.py")
PREFIX = "ksf"
REPORT = Path(os.environ.get("KVMSTATE_CRASH_REPORT", ROOT / ".cache" / "crash-report.json"))
ROUNDS_SEQUENTIAL = int(os.environ.get("KVMSTATE_CRASH_ROUNDS", "20"))     # 4 trials per round
ROUNDS_PARALLEL = int(os.environ.get("KVMSTATE_CRASH_ROUNDS_PARALLEL", "5"))


def topology(version: int, images: tuple[Path, Path]) -> str:
    """Version 1, or version 2: changes of every kind (see the module's docstring)."""
    v2 = version == 2
    return f'''
network "lan" {{
  name      = "{PREFIX}-lan"
  mode      = "isolated"
  bridge    = "{PREFIX}br0"
  autostart = {str(v2).lower()}
}}

pool "images" {{
  name = "{PREFIX}-images"
  path = "/var/lib/libvirt/{PREFIX}-images"
}}

volume "base" {{
  name   = "{PREFIX}-base.qcow2"
  pool   = pool.images
  source = "{images[0]}"
}}

volume "root" {{
  count         = 2
  name          = format("{PREFIX}-root-%d.qcow2", count.index)
  pool          = pool.images
  backing_store = volume.base
  capacity      = "64MiB"
}}

volume "scratch" {{
  for_each = {{ {"a = 1, b = 2, c = 3" if v2 else "a = 1, b = 2"} }}
  name     = "{PREFIX}-scratch-${{each.key}}.qcow2"
  pool     = pool.images
  source   = "{images[1] if v2 else images[0]}"
}}

cloudinit "seed" {{
  for_each  = {{ a = 0, b = 1 }}
  name      = "{PREFIX}-seed-${{each.key}}"
  pool      = pool.images
  user_data = "#cloud-config\\nhostname: ${{each.key}}\\n{'package_update: true' if v2 else ''}\\n"
}}

domain "vm" {{
  for_each = {{
    a = {{ disk = 0, memory = "64MiB", power = "running" }}
    b = {{ disk = 1, memory = "{96 if v2 else 64}MiB", power = "stopped" }}
  }}
  name        = "{PREFIX}-vm-${{each.key}}"
  type        = "qemu"
  machine     = "pc"
  memory      = each.value.memory
  max_memory  = "128MiB"
  power       = each.value.power
  description = "crash trial, version {version}"
  autostart   = {str(v2).lower()}
  cloudinit   = cloudinit.seed[each.key]
  disk {{
    volume = volume.root[each.value.disk]
  }}
  interface {{
    network = network.lan
  }}
}}
'''


def refresh(pool) -> None:
    """Refresh a pool; libvirt refuses while a volume is being built or uploaded into it (after a kill, a
    request the dead client had in flight), so wait for that."""
    for _ in range(1500):
        try:
            return pool.refresh(0)
        except libvirt.libvirtError as exc:
            if "asynchronous jobs running" not in str(exc):
                raise
            time.sleep(0.2)
    raise AssertionError(f"pool {pool.name()} stayed busy for 5 minutes")


def identities(conn) -> dict[tuple[str, str], str]:
    """(type, name) -> UUID or key of every libvirt object of this test (a seed is the volume NAME.iso)."""
    found = {("network", n.name()): n.UUIDString() for n in conn.listAllNetworks() if n.name().startswith(PREFIX)}
    found |= {("domain", d.name()): d.UUIDString() for d in conn.listAllDomains() if d.name().startswith(PREFIX)}
    for pool in conn.listAllStoragePools():
        if not pool.name().startswith(PREFIX):
            continue
        found[("pool", pool.name())] = pool.UUIDString()
        if pool.isActive():
            refresh(pool)
            for vol in pool.listAllVolumes():
                kind, name = ("cloudinit", vol.name()[:-4]) if vol.name().endswith(".iso") else ("volume", vol.name())
                found[(kind, name)] = vol.key()
    return found


def settled(conn) -> dict[tuple[str, str], str]:
    """identities() once two reads 0.2 s apart agree: a request the killed process had in flight is finished
    by libvirtd after the client died (only possible with several workers)."""
    last = identities(conn)
    for _ in range(50):
        time.sleep(0.2)
        now = identities(conn)
        if now == last:
            return now
        last = now
    return last


class Runner:
    """kvmstate runs through killer.py's fork server (see killer.py): one interpreter start for all trials."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.server = subprocess.Popen([sys.executable, str(KILLER), "--serve"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, cwd=ROOT,
                                       env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})
        self.runs = 0

    def __call__(self, *args: str, kill_at: str = "count", check: int | None = 0,
                 counts: Path | None = None) -> tuple[int, str, str]:
        self.runs += 1
        out = self.workdir / "run"
        env = {"KVMSTATE_KILL_COUNTS": str(counts)} if counts else {}
        self.server.stdin.write(json.dumps({"args": list(args), "cwd": str(self.workdir), "kill_at": kill_at,
                                            "out": str(out), "env": env}) + "\n")
        self.server.stdin.flush()
        code = json.loads(self.server.stdout.readline())["code"]
        stdout, stderr = Path(f"{out}.out").read_text(), Path(f"{out}.err").read_text()
        if check is not None:
            assert code == check, f"kvmstate {' '.join(args)} -> {code}\n{stdout}\n{stderr}"
        return code, stdout, stderr

    def close(self) -> None:
        self.server.stdin.close()
        self.server.wait(timeout=30)


ALLOWED = {     # action in the full run's plan -> actions a plan after a kill may hold for that address
    "no-op": {"no-op"},
    "create": {"no-op", "create", "update", "restart"},     # done, not done, or half-configured
    "update": {"no-op", "update"},
    "restart": {"no-op", "update", "restart"},
    "replace": {"no-op", "create", "replace", "update", "restart"},   # not started, old one gone, new half-done
    "delete": {"no-op", "delete"},
}


class Trials:
    def __init__(self, run: Runner, conn, workdir: Path, images: tuple[Path, Path]):
        self.run, self.conn, self.workdir, self.images = run, conn, workdir, images
        self.config = workdir / "main.hcl"
        self.state = workdir / "kvmstate.state.json"
        self.results: list[dict] = []
        self.references: dict[str, dict] = {}

    def use(self, version: int) -> None:
        self.config.write_text(topology(version, self.images))

    def common(self, parallelism: int) -> list[str]:
        return ["--auto-approve", "--shutdown-timeout", "0", "--parallelism", str(parallelism)]

    def plan(self, destroy: bool) -> dict[str, dict]:
        _, out, _ = self.run("plan", "--json", *(["--destroy"] if destroy else []))
        return {c["address"]: c for c in json.loads(out)["resource_changes"]}

    def reference(self, step: str, version: int | None, parallelism: int) -> dict:
        """The uninterrupted run of a step from its usual start: its plan and its libvirt calls."""
        counts = self.workdir / "counts.json"
        if version is not None:
            self.use(version)
        plan = self.plan(destroy=version is None)
        command = "destroy" if version is None else "apply"
        self.run(command, *self.common(parallelism), counts=counts)
        measured = json.loads(counts.read_text())
        return {"plan": plan, "calls": measured["calls"], "writes": measured["writes"], "labels": measured["labels"]}

    def trial(self, step: str, version: int | None, parallelism: int, point: str) -> None:
        ref = self.references[f"{step}/{parallelism}"]
        if version is not None:
            self.use(version)
        before = identities(self.conn)
        started = time.monotonic()
        code, _, _ = self.run("destroy" if version is None else "apply", *self.common(parallelism),
                              kill_at=point, check=None)
        result = {"step": step, "parallelism": parallelism, "point": point, "killed": code == -9, "problems": []}
        kind, _, n = point.partition(":")
        result["call"] = ref["labels"][int(n) - 1] if kind in ("before", "after") else "state write"
        problems = result["problems"]
        if code != -9:
            problems.append(f"not killed (exit {code})")
        after_kill = settled(self.conn) if parallelism > 1 else identities(self.conn)
        if self.state.exists():
            if json.loads(self.state.read_text()).get("version") != STATE_VERSION:
                problems.append("state file of the wrong version")
        # What the recovery plan may hold: only what the interrupted run had left to do.
        timing = {"killed run": round(time.monotonic() - started, 2)}
        plan = self.plan(destroy=version is None)
        by_action = Counter()
        result["half_made_replaced"] = 0
        for address, change in plan.items():
            action = change["action"]
            by_action[action] += 1
            origin = ref["plan"].get(address, {}).get("action", "no-op")
            if origin == "create" and action == "replace":
                # A volume created but killed before its image was uploaded in full: never a survivor (it did
                # not exist before the run); replacing it is how its create finishes.
                result["half_made_replaced"] += 1
            elif action not in ALLOWED[origin]:
                problems.append(f"{address}: {action} after a kill, but the run was to {origin} it")
        missing = {a for a, c in plan.items() if (c["type"], c["name"]) not in after_kill and version is not None}
        creates = {a for a, c in plan.items() if c["action"] == "create"}
        if creates != missing:
            problems.append(f"plan creates {sorted(creates)}, missing live are {sorted(missing)}")
        result["recovery_plan"] = dict(by_action)
        timing["plan"] = round(time.monotonic() - started - sum(timing.values()), 2)
        # Recover: apply (or destroy) until a plan is empty; with several workers a request libvirtd finished
        # after the kill may take one more run.
        command = "destroy" if version is None else "apply"
        runs = 0
        while True:
            runs += 1
            code, out, err = self.run(command, *self.common(parallelism), check=None)
            empty, _, _ = self.run("plan", "--detailed-exitcode", *(["--destroy"] if version is None else []),
                                check=None)
            if (code == 0 and empty == 0) or runs == 3:
                break
        if code != 0 or empty != 0:
            problems.append(f"no convergence after {runs} runs: {(out + err)[-2000:]}")
        result["runs_to_converge"] = runs
        result["seconds"] = round(time.monotonic() - started, 2)
        timing["recovery"] = round(result["seconds"] - sum(timing.values()), 2)
        result["timing"] = timing
        self.check_identities(result, ref, before, version)
        self.results.append(result)

    def check_identities(self, result: dict, ref: dict, before: dict, version: int | None) -> None:
        problems = result["problems"]
        state = json.loads(self.state.read_text())
        addresses = [r["address"] for r in state["resources"]]
        result["duplicated"] = len(addresses) - len(set(addresses))
        if [r for r in state["resources"] if r["pending"]]:
            problems.append("a create intent is left in the state")
        live = identities(self.conn)
        recorded = {(r["type"], r["name"]): r["identity"] for r in state["resources"]}
        result["orphaned"] = len(live.keys() - recorded.keys())
        result["lost"] = len(recorded.keys() - live.keys())
        result["identity_mismatch"] = sum(1 for k in recorded.keys() & live.keys() if recorded[k] != live[k])
        survivors = [(c["type"], c["name"]) for c in ref["plan"].values()
                     if c["action"] not in ("replace", "delete") and (c["type"], c["name"]) in before]
        result["survivors"] = len(survivors)
        result["survivors_changed"] = sum(1 for k in survivors if live.get(k) != before[k])
        for field in ("duplicated", "orphaned", "lost", "identity_mismatch", "survivors_changed"):
            if result[field]:
                problems.append(f"{result[field]} {field.replace('_', ' ')}")
        if version is None and live:
            problems.append(f"left after destroy: {sorted(live)}")


def kill_points(ref: dict, n: int) -> list[str]:
    """n points: every upload, every call on a running domain's live settings and every replacement's delete
    first, then points spread over the rest, alternately before and after; two of them halfway through a state
    write."""
    labels = ref["labels"]
    wanted = [i for i, label in enumerate(labels, 1) if label in ("virStorageVol.upload", "virStorageVol.delete",
                                                                   "virDomain.setAutostart", "virDomain.setMetadata")]
    spread = [1 + i * (len(labels) - 1) // max(n - 1, 1) for i in range(n)]
    order = list(dict.fromkeys(wanted[::2] + spread + wanted[1::2]))
    kinds = [("before", "after") if j % 2 == 0 else ("after", "before") for j in range(len(order))]
    points = [f"{k[0]}:{i}" for k, i in zip(kinds, order)] + [f"{k[1]}:{i}" for k, i in zip(kinds, order)]
    points = (points * (1 + n // max(len(points), 1)))[:n - 2]      # more trials than points: each twice
    return points + [f"write:{1 + ref['writes'] // 3}", f"write:{max(1, 2 * ref['writes'] // 3)}"]


STEPS = [("create", 1), ("change", 2), ("change back", 1), ("destroy", None)]


def test_killed_runs_recover_and_keep_identities(tmp_path: Path, conn) -> None:
    images = (tmp_path / "a.qcow2", tmp_path / "b.qcow2")
    for image, size in zip(images, ("16M", "32M")):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), size], check=True)
    workdir = tmp_path / "work"
    workdir.mkdir()
    run = Runner(workdir)
    trials = Trials(run, conn, workdir, images)
    started = time.monotonic()
    try:
        for parallelism in (1, 10):          # one uninterrupted cycle measures each step
            trials.use(1)
            for step, version in STEPS:
                trials.references[f"{step}/{parallelism}"] = trials.reference(step, version, parallelism)
        plan: list[tuple[str, int | None, int, str]] = []
        for parallelism, rounds in ((1, ROUNDS_SEQUENTIAL), (10, ROUNDS_PARALLEL)):
            points = {step: kill_points(trials.references[f"{step}/{parallelism}"], rounds) for step, _ in STEPS}
            for r in range(rounds):
                plan += [(step, version, parallelism, points[step][r]) for step, version in STEPS]
        for step, version, parallelism, point in plan:
            trials.trial(step, version, parallelism, point)
    finally:
        run("destroy", "--auto-approve", "--shutdown-timeout", "0", check=None)
        run.close()
    results = trials.results
    report = {
        "trials": len(results),
        "seconds": round(time.monotonic() - started),
        "resources": len(trials.references["create/1"]["plan"]),
        "calls": {k: v["calls"] for k, v in trials.references.items()},
        "by_step": dict(Counter(f"{r['step']} p{r['parallelism']}" for r in results)),
        "by_call": dict(Counter(r["call"] for r in results)),
        "killed": sum(r["killed"] for r in results),
        "survivors_checked": sum(r["survivors"] for r in results),
        "survivors_changed": sum(r["survivors_changed"] for r in results),
        "objects_lost": sum(r["lost"] for r in results),
        "objects_orphaned": sum(r["orphaned"] for r in results),
        "objects_duplicated": sum(r["duplicated"] for r in results),
        "identity_mismatches": sum(r["identity_mismatch"] for r in results),
        "half_made_volumes_replaced": sum(r["half_made_replaced"] for r in results),
        "slowest_trial_s": max((r["seconds"] for r in results), default=0),
        "recovery_actions": dict(sum((Counter(r["recovery_plan"]) for r in results), Counter())),
        "runs_to_converge": dict(Counter(str(r["runs_to_converge"]) for r in results)),
        "trials_with_problems": sum(1 for r in results if r["problems"]),
        "kvmstate_runs": run.runs,
        "results": results,
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "results"}, indent=1))
    print(crash_report.markdown(report))
    problems = [f"{r['step']} p{r['parallelism']} {r['point']} ({r['call']}): {p}"
                for r in results for p in r["problems"]]
    assert not problems, "\n".join(problems)
    assert len(results) >= 100
