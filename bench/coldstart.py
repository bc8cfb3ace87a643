"""The command line's cold start: `kvmstate --version` and `kvmstate validate` of a small file,
next to the interpreter starting and doing nothing; and how long `kvmstate plan` of the same
file takes to open its connection to libvirt (strace's timestamps of the process's start and of
its first connect() to libvirtd's socket). The cases run interleaved, so load hits them alike;
the ratios to `python -c pass` are what compares across machines. kvmstate's own modules are
compiled to bytecode first, as an installed package is: with PYTHONDONTWRITEBYTECODE set (as on
these machines) a checkout would otherwise compile every module on every run.

    python -m bench.coldstart [ROUNDS]      this measurement alone (default 10 rounds)"""

from __future__ import annotations

import compileall
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import measure

EXAMPLE = str(measure.ROOT / "examples" / "basic")
CASES = {"python -c pass": [measure.PYTHON, "-c", "pass"],
         "kvmstate --version": [measure.KVMSTATE, "--version"],
         "kvmstate validate examples/basic": [measure.KVMSTATE, "validate", EXAMPLE]}


def cold_start(reps: int) -> dict:
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for package in ("kvmstate", "providers"):
        compileall.compile_dir(measure.ROOT / package, quiet=1)
    for cmd in CASES.values():
        measure.run(cmd)          # warm the page cache and the bytecode
    for _ in range(reps):
        for name, cmd in CASES.items():
            times[name].append(measure.run(cmd)[0])
    floor = measure.median(times["python -c pass"])
    out = {name: {"s": measure.median(runs), "x_python": measure.median(runs) / floor, "runs": runs}
           for name, runs in times.items()}
    connect = [t for t in (_plan_connects_after() for _ in range(reps)) if t is not None]
    if connect:
        out["kvmstate plan: first libvirt connect"] = {"s": measure.median(connect),
                                                      "x_python": measure.median(connect) / floor, "runs": connect}
    return out


def _plan_connects_after() -> float | None:
    """Seconds from the start of `kvmstate plan examples/basic` to its first connect() to libvirtd's socket."""
    if shutil.which("strace") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace"
        subprocess.run(["strace", "-f", "--seccomp-bpf", "-ttt", "-e", "trace=execve,connect", "-o", str(trace), measure.KVMSTATE,
                        "plan", EXAMPLE, "--state", str(Path(tmp) / "state.json")], capture_output=True)
        start = connect = None
        for line in trace.read_text().splitlines():
            stamp = re.match(r"\d+\s+(\d+\.\d+) (\w+)\(", line)
            if not stamp:
                continue
            if start is None and stamp.group(2) == "execve":
                start = float(stamp.group(1))
            elif stamp.group(2) == "connect" and "libvirt" in line:
                connect = float(stamp.group(1))
                break
        return connect - start if start is not None and connect is not None else None


if __name__ == "__main__":
    results = cold_start(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
    for name, case in results.items():
        print(f"{name:<40} {case['s']:.3f} s  {case['x_python']:5.1f}x python -c pass")
    print(f"load average {open('/proc/loadavg').read().split()[0]}")
