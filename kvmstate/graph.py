"""The dependency graph: which resource needs which, in a deterministic order.

Edges point from a resource to what it depends on (a volume depends on its pool).
Creation walks the order forwards, deletion backwards. A cycle is reported with
every resource on it, in order, so the user can see where to break it.
"""

from __future__ import annotations

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
        cycle = self.find_cycle()
        if cycle:
            raise CycleError(cycle)
        pending = {node: set(deps) for node, deps in self.deps.items()}
        done: list[str] = []
        while pending:
            ready = sorted(node for node, deps in pending.items() if not deps)
            for node in ready:
                del pending[node]
            for deps in pending.values():
                deps.difference_update(ready)
            done.extend(ready)
        return done

    def find_cycle(self) -> list[str] | None:
        """One cycle as a closed path (first node repeated at the end), or None."""
        WHITE, GREY, BLACK = 0, 1, 2
        colour = dict.fromkeys(self.deps, WHITE)
        stack: list[str] = []

        def visit(node: str) -> list[str] | None:
            colour[node] = GREY
            stack.append(node)
            for dep in sorted(self.deps[node]):
                if colour[dep] == GREY:
                    return stack[stack.index(dep):] + [dep]
                if colour[dep] == WHITE:
                    found = visit(dep)
                    if found:
                        return found
            stack.pop()
            colour[node] = BLACK
            return None

        for node in sorted(self.deps):
            if colour[node] == WHITE:
                found = visit(node)
                if found:
                    return found
        return None
