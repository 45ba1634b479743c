"""Import cycles of a module graph, for the structure tests of rules/ and bot/."""

from __future__ import annotations

import graphlib


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles, each as the sorted modules of one cycle (none: an empty list).

    `graphlib` finds one cycle at a time; its modules are dropped from the graph and the
    search goes on, so every module of a reported cycle is named once."""
    edges = {node: set(targets) for node, targets in edges.items()}
    found: list[list[str]] = []
    while True:
        try:
            graphlib.TopologicalSorter(edges).prepare()
        except graphlib.CycleError as exc:
            members = sorted(set(exc.args[1]))
            found.append(members)
            edges = {n: t - set(members) for n, t in edges.items() if n not in members}
        else:
            return sorted(found)
