"""THE graph helper: strongly connected components of a directed graph, without recursion.

What it does: :func:`strongly_connected` runs Tarjan's algorithm with an explicit stack (a
schema's ``$ref`` graph or the package's import graph can be thousands of nodes deep, past
Python's recursion limit) and returns the components in reverse topological order: each one after
every component it points to. Successors are visited in the order given.

What it does not do: decide what a cycle means (the schema limits and the layer test do that).
"""
# stdlib only

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

N = TypeVar("N", bound=Hashable)


def strongly_connected(graph: Mapping[N, Iterable[N]]) -> list[list[N]]:
    """Every strongly connected component of ``graph`` (node → successors; a successor missing
    from the mapping has none), each after the components it points to."""
    index: dict[N, int] = {}
    low: dict[N, int] = {}
    on: set[N] = set()
    stack: list[N] = []
    out: list[list[N]] = []
    for root in graph:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        work = [(root, iter(graph.get(root, ())))]
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(graph.get(w, ()))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp: list[N] = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(comp)
    return out
