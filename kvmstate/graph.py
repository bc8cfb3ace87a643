"""The dependency graph: which resource needs which, in a deterministic order.

Edges point from a resource to what it depends on (a volume depends on its pool).
Creation walks the order forwards, deletion backwards. Ordering and cycle
detection are the standard library's `graphlib`; this module makes the order
stable (ties broken by name) and names a cycle the way users read it: each
resource followed by what it needs, starting from the first by name.
"""

from __future__ import annotations

import graphlib
from typing import Iterable


class CycleError(Exception):
    def __init__(self, cycle: list[str]):
        self.cycle = cycle
        super().__init__(" -> ".join(cycle))


class Graph:
    def __init__(self) -> None:
        self.deps: dict[str, set[str]] = {}

    def add(self, node: str, depends_on: Iterable[str] = ()) -> None:
        self.deps.setdefault(node, set()).update(depends_on)
        for dep in self.deps[node]:
            self.deps.setdefault(dep, set())

    def order(self) -> list[str]:
        """Every node after all it depends on; ties broken by name, so the order is stable."""
        sorter = self._prepared()
        done: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            done.extend(ready)
            sorter.done(*ready)
        return done

    def find_cycle(self) -> list[str] | None:
        """One cycle as a closed path (first node repeated at the end), or None."""
        try:
            self._prepared()
        except CycleError as exc:
            return exc.cycle
        return None

    def _prepared(self) -> graphlib.TopologicalSorter:
        sorter: graphlib.TopologicalSorter = graphlib.TopologicalSorter()
        for node in sorted(self.deps):
            sorter.add(node, *sorted(self.deps[node]))
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            raise CycleError(_readable(exc.args[1])) from None
        return sorter


def _readable(cycle: list[str]) -> list[str]:
    """graphlib's cycle (each node before the one that needs it) turned around and started at its first name."""
    path = list(reversed(cycle[:-1]))
    start = path.index(min(path))
    path = path[start:] + path[:start]
    return path + [path[0]]
