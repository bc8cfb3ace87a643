"""The crash trials' figures as the Markdown docs/reliability.md quotes, computed from the report the test wrote.

    python -m tests.integration.crash_report [.cache/crash-report.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def markdown(r: dict) -> str:
    steps = ", ".join(f"{k} {v}" for k, v in r["by_step"].items())
    calls = ", ".join(f"{k} {v}" for k, v in sorted(r["by_call"].items(), key=lambda kv: -kv[1]))
    actions = ", ".join(f"{k} {v}" for k, v in sorted(r["recovery_actions"].items()))
    runs = ", ".join(f"{v} in {k} run{'s' if k != '1' else ''}" for k, v in sorted(r["runs_to_converge"].items()))
    return "\n".join([
        f"Latest run: **{r['trials']} trials** in {r['seconds']} s ({r['kvmstate_runs']} kvmstate runs; slowest "
        f"trial {r['slowest_trial_s']} s) on a topology of {r['resources']} resources; {r['killed']} runs killed.",
        f"- by step and parallelism: {steps};",
        f"- by the call killed at: {calls};",
        f"- recovery plans held: {actions} (a half-made image volume replaced: {r['half_made_volumes_replaced']});",
        f"- convergence: {runs};",
        f"- survivors checked: {r['survivors_checked']}, identity changed: {r['survivors_changed']}; identities in "
        f"the state that differ from the live object: {r['identity_mismatches']};",
        f"- objects lost: {r['objects_lost']}, orphaned: {r['objects_orphaned']}, duplicated: "
        f"{r['objects_duplicated']}; trials with any problem: {r['trials_with_problems']}.",
    ])


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".cache" / "crash-report.json"
    print(markdown(json.loads(path.read_text())))
