"""The command line's cold start: `kvmstate --version` and `kvmstate validate` of a small file,
next to the interpreter starting and doing nothing."""

from __future__ import annotations

from bench import measure

EXAMPLE = str(measure.ROOT / "examples" / "basic")


def cold_start(reps: int) -> dict:
    cases = {"python -c pass": [measure.PYTHON, "-c", "pass"],
             "kvmstate --version": [measure.KVMSTATE, "--version"],
             "kvmstate validate examples/basic": [measure.KVMSTATE, "validate", EXAMPLE]}
    out = {}
    for name, cmd in cases.items():
        measure.run(cmd)          # warm the page cache and the bytecode
        times = [measure.run(cmd)[0] for _ in range(reps)]
        out[name] = {"s": measure.median(times), "runs": times}
    return out
