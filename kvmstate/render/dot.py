"""The dependency graph as Graphviz DOT, and as SVG through Graphviz's `dot`."""

from __future__ import annotations

import json
import shutil
import subprocess

from kvmstate.diagnostics import error
from kvmstate.graph import Graph

_SHAPES = {"network": "ellipse", "pool": "cylinder", "volume": "note", "domain": "box"}


def render_dot(graph: Graph, hosts: dict[str, str] | None = None) -> str:
    """One node per resource, an edge from each resource to what it depends on; stable order. With `hosts`
    (address -> host) naming more than one host, each host's resources are drawn in a box labelled with it."""
    lines = ["digraph kvmstate {", "  rankdir=LR;", '  node [fontname="sans-serif"];']
    hosts = hosts or {}
    several = len(set(hosts.values())) > 1
    for host in sorted(set(hosts.values())) if several else [None]:
        indent = "  "
        if host is not None:
            lines.append(f"  subgraph {json.dumps('cluster_' + host)} {{")
            lines.append(f"    label={json.dumps('host ' + host)};")
            indent = "    "
        for node in sorted(graph.deps):
            if host is None or hosts.get(node) == host:
                shape = _SHAPES.get(node.split(".", 1)[0], "box")
                lines.append(f"{indent}{json.dumps(node)} [shape={shape}];")
        if host is not None:
            lines.append("  }")
    for node in sorted(graph.deps):
        for dep in sorted(graph.deps[node]):
            lines.append(f"  {json.dumps(node)} -> {json.dumps(dep)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(dot: str) -> str:
    """Run Graphviz's `dot -Tsvg` over the DOT text."""
    exe = shutil.which("dot")
    if exe is None:
        raise error("Graphviz not found", "`--format svg` needs Graphviz's `dot` program: install the graphviz "
                    "package (scripts/host-setup does), or print DOT with `--format dot`.")
    result = subprocess.run([exe, "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise error("Graphviz failed", f"dot -Tsvg exited with {result.returncode}: {result.stderr.strip()}")
    return result.stdout
