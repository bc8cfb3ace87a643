"""What the renderers say about hosts: the host of each resource when a plan spans several, the counts per
host, and the loud warning about hosts left out because they could not be reached.

A plan on one host renders exactly as before hosts existed.
"""

from __future__ import annotations

from kvmstate.plan.model import Plan, ResourceChange, Summary


def on_host(plan: Plan, change: ResourceChange) -> str:
    """" on host NAME" when the plan spans hosts (an unreachable one counts: the reader must see that the
    changes listed are on the other hosts), else ""."""
    return f" on host {change.host}" if plan.by_host or plan.unreachable_hosts else ""


def counts(s: Summary) -> str:
    return f"{s.add} to add, {s.change} to change, {s.replace} to replace, {s.destroy} to destroy"


def per_host_lines(plan: Plan) -> list[str]:
    """`  host a: 1 to add, ...` per host, when the plan spans hosts."""
    width = max((len(h) for h in plan.by_host), default=0)
    return [f"  host {host + ':':<{width + 1}} {counts(s)}." for host, s in plan.by_host.items()]


def unreachable_lines(plan: Plan) -> list[str]:
    """One warning per host left out of the plan."""
    out = []
    for host, why in sorted(plan.unreachable_hosts.items()):
        out.append(f"Warning: host {host} was NOT planned: it could not be reached ({why}). Its resources were "
                   "neither read nor changed; the state keeps them as they were. Plan again when it answers.")
    return out


def markdown_table(plan: Plan) -> str:
    """A table of the counts per host, when the plan spans hosts."""
    if not plan.by_host:
        return ""
    rows = "\n".join(f"| `{host}` | {s.add} | {s.change} | {s.replace} | {s.destroy} |"
                     for host, s in plan.by_host.items())
    return f"| Host | add | change | replace | destroy |\n|---|---:|---:|---:|---:|\n{rows}\n"
