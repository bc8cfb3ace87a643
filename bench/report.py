"""The benchmark's table: medians, ratios measured in the same run, and each target met or missed.

    python -m bench.report bench/results/FILE.json      # print a saved run again
"""

from __future__ import annotations

import json
import sys


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def table(r: dict) -> str:
    lines = []
    tools = r["settings"]["tools"]
    lines.append("Topology: N NAT networks, 1 dir pool, N volumes, N running qemu domains (median seconds; "
                 "par = the sequential script's calls on 10 threads; every kvmstate no-op checked to change nothing)")
    lines.append(f"{'N':>3} {'phase':<7}" + "".join(f"{t:>13}" for t in tools)
                 + f"{'kvm/seq':>9}{'kvm/par':>9}{'ansible/kvm':>13}  targets (N=30)")
    for n, by_tool in r["topology"].items():
        for phase in ("create", "noop", "delete"):
            row = f"{n:>3} {phase:<7}" + "".join(f"{by_tool[t][phase]:>13.2f}" for t in tools)
            kvm = by_tool.get("kvmstate", {}).get(phase)
            seq = by_tool.get("sequential", {}).get(phase)
            par = by_tool.get("parallel", {}).get(phase)
            ans = by_tool.get("ansible", {}).get(phase)
            row += f"{kvm / seq:>9.2f}" if kvm and seq else f"{'-':>9}"
            row += f"{kvm / par:>9.2f}" if kvm and par else f"{'-':>9}"
            row += f"{ans / kvm:>12.1f}x" if kvm and ans else f"{'-':>13}"
            if n == "30" and kvm:
                if phase == "noop":
                    goals = [f"<1 s: {_verdict(kvm < 1)}"]
                    if ans:
                        goals.append(f">=20x Ansible: {_verdict(ans / kvm >= 20)}")
                else:
                    goals = [f"<1.0x seq: {_verdict(bool(seq) and kvm / seq < 1)}"] if seq else []
                    if par:
                        goals.append(f"<=1.1x par: {_verdict(kvm / par <= 1.1)}")
                    if ans:
                        goals.append(f">=5x Ansible: {_verdict(ans / kvm >= 5)}")
                row += "  " + ", ".join(goals)
            lines.append(row)
    lines.append("")
    lines.append("No-op plan on the test driver (median seconds, peak MiB) vs the floor (list + XML read + parse)")
    for s in r["scale"]:
        goal = ""
        if s["resources"] >= 4999:
            goal = (f"  target <2 s: {_verdict(s['plan_s'] < 2)}, <=1.3x floor: "
                    f"{_verdict(s['plan_s'] <= 1.3 * s['floor_s'])}, <300 MiB: {_verdict(s['plan_mib'] < 300)}")
        lines.append(f"{s['resources']:>6} resources: plan {s['plan_s']:.2f} s {s['plan_mib']:.0f} MiB, floor "
                     f"{s['floor_s']:.2f} s {s['floor_mib']:.0f} MiB, ratio {s['plan_s'] / s['floor_s']:.2f}{goal}")
        for kind, written in (("plan_locals", "locals and for"), ("plan_modules", "a module per instance")):
            if f"{kind}_s" in s:        # runs saved before that configuration have none
                lines.append(f"{'':>6} written with {written}: plan {s[f'{kind}_s']:.2f} s "
                             f"{s[f'{kind}_mib']:.0f} MiB, ratio {s[f'{kind}_s'] / s['floor_s']:.2f}")
    for m in r.get("multihost", []):
        goal = f"  target <3 s: {_verdict(m['plan_s'] < 3)}, <500 MiB: {_verdict(m['plan_mib'] < 500)}"
        lines.append(f"{m['resources']:>6} resources on {m['hosts']} hosts of {m['per_host']}: plan "
                     f"{m['plan_s']:.2f} s {m['plan_mib']:.0f} MiB{goal}")
    lines.append("")
    lines.append("libvirt calls of a no-op plan (total = XML reads + calls that do not grow with N)")
    for c in r["calls"]:
        lines.append(f"{c['resources']:>6} resources: {c['total']:>6} calls = {c['xml_reads']} XML reads + {c['other']}")
    lines.append("")
    lines.append("Cold start (median seconds, and times `python -c pass` in the same run)")
    goals = {"kvmstate --version": 0.150, "kvmstate validate examples/basic": 0.25,
             "kvmstate plan: first libvirt connect": 0.3}
    for name, c in r["coldstart"].items():
        goal = f"  target <{goals[name]:.3f} s: {_verdict(c['s'] < goals[name])}" if name in goals else ""
        ratio = f"  {c['x_python']:5.1f}x" if "x_python" in c else ""
        lines.append(f"  {name:<38} {c['s']:.3f}{ratio}{goal}")
    h = r["host"]
    lines.append(f"\n{h['cpus']} CPUs, load average {h['loadavg_before'][0]:.1f} before and "
                 f"{h['loadavg_after'][0]:.1f} after; {r['seconds']} s in all")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(json.loads(open(sys.argv[1]).read())))
