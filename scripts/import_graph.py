"""The import graph of the edgevid package, and its cycles (scripts/check.sh runs this).

Reads every module's source with ``ast`` (nothing is imported): each ``import`` and
``from ... import`` anywhere in a module, a function's too, is an edge, since an import inside a
function is still a dependency, only a later one. ``exporters/`` and ``runners/`` are counted as
the packages ``edgevid.exporters`` and ``edgevid.runners`` they install as.

Two graphs: modules, and the subpackages of ``edgevid`` (``edgevid.run``, ``edgevid.report``, ...;
the top-level modules such as ``errors`` and ``backends`` count as their own). Either one having a
cycle is a failure: a stage of the pipeline imports the stages upstream of it, never the reverse.

    python scripts/import_graph.py            # the subpackage graph, then "no import cycle"
    python scripts/import_graph.py --modules  # every module's edges too
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREES = {
    "edgevid": ROOT / "edgevid",
    "edgevid.exporters": ROOT / "exporters",
    "edgevid.runners": ROOT / "runners",
}


def modules() -> dict:
    """Dotted module name -> source path."""
    found = {}
    for prefix, top in TREES.items():
        for path in sorted(top.rglob("*.py")):
            parts = list(path.relative_to(top).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join([prefix, *parts])
            if (
                name.startswith("edgevid.exporters")
                and prefix == "edgevid"
                or (name.startswith("edgevid.runners") and prefix == "edgevid")
            ):
                continue
            found[name] = path
    return found


def edges(mods: dict) -> dict:
    """Module -> the edgevid modules it imports."""
    graph: dict = {m: set() for m in mods}
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        here = name if is_pkg else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(), str(path))
        typing_only = {
            id(n)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for stmt in block.body
            for n in ast.walk(stmt)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:  # annotations only: never imported at run time
                continue
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here.split(".")
                    up = up[: len(up) - (node.level - 1)]
                    base = ".".join(up + ([base] if base else []))
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    targets.append(sub if sub in mods else base)
            for t in targets:
                while t and t not in mods and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t in mods and t != name:
                    graph[name].add(t)
    return graph


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def package_graph(graph: dict) -> dict:
    pg: dict = {}
    for m, targets in graph.items():
        pm = package_of(m)
        pg.setdefault(pm, set())
        for t in targets:
            if package_of(t) != pm and package_of(t) != "edgevid":
                pg[pm].add(package_of(t))
    return pg


def cycles(graph: dict) -> list:
    """The strongly connected components of more than one node (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                elif nxt in on:
                    low[v] = min(low[v], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def main(argv: list) -> int:
    graph = edges(modules())
    pg = package_graph(graph)
    if "--modules" in argv:
        for m in sorted(graph):
            print(f"{m} -> {', '.join(sorted(graph[m])) or '-'}")
        print()
    for p in sorted(pg):
        print(f"{p} -> {', '.join(sorted(pg[p])) or '-'}")
    bad = [("module", c) for c in cycles(graph)] + [("package", c) for c in cycles(pg)]
    for kind, comp in bad:
        g = graph if kind == "module" else pg
        inner = {m: g[m] & set(comp) for m in comp}
        where = "; ".join(f"{m} -> {', '.join(sorted(t))}" for m, t in inner.items())
        print(f"import cycle ({kind}s): {where}", file=sys.stderr)
    if bad:
        return 1
    print(f"no import cycle: {len(graph)} modules, {len(pg)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
