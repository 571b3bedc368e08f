#!/usr/bin/env python3
"""Counts the import circles of a crate: files that reach each other through `crate::` / `super::`
paths (any mention, not only `use` lines), grouped into strongly connected components.

    scripts/import-circles.py [crates/server/src] [--rooms]

Prints each circle (a component of more than one file) with its size; with `--rooms`, of the
crate's top-level modules (`http`, `service`, `ui`, …: a file's first path component) instead. A module's `mod.rs` (or
`foo.rs` beside `foo/`) counts as the file of that module; a path names the deepest module file
it reaches.
"""

import re
import sys
from pathlib import Path

arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
rooms = "--rooms" in sys.argv
root = Path(arguments[0] if arguments else "crates/server/src")


def module_of(path: Path) -> tuple:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


files = {module_of(p): p for p in root.rglob("*.rs") if p.name != "main.rs"}
PATH = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
GROUP = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^}]*)\}", re.S)


def target(module: tuple, anchor: str, rest: list) -> tuple | None:
    base = list(module) if anchor == "crate" else list(module[:-1])
    if anchor == "crate":
        base = []
    path = base + rest
    while path and tuple(path) not in files:
        path.pop()
    return tuple(path) if path else None


edges = {m: set() for m in files}
for module, path in files.items():
    text = path.read_text()
    # The tests of a file (its `mod tests`) may reach anything; they are not the file's rooms.
    text = text.split("#[cfg(test)]")[0]
    mentions = [(a, r.strip(":").split("::")) for a, r in PATH.findall(text)]
    for anchor, prefix, group in GROUP.findall(text):
        for item in group.split(","):
            item = item.strip().split(" as ")[0].split("::")
            if item and item[0] and item[0] != "self":
                mentions.append((anchor, prefix.strip(":").split("::") + item))
    for anchor, rest in mentions:
        rest = [part for part in rest if part]
        reached = target(module, anchor, rest)
        if reached is not None and reached != module and reached != ():
            edges[module].add(reached)

if rooms:
    collapsed = {}
    for module, reached in edges.items():
        room = module[:1]
        collapsed.setdefault(room, set()).update(r[:1] for r in reached if r[:1] != room)
    edges = collapsed
    files = {room: None for room in edges}

# Tarjan's strongly connected components.
index, low, on_stack, stack, components, counter = {}, {}, set(), [], [], [0]


def visit(node):
    index[node] = low[node] = counter[0]
    counter[0] += 1
    stack.append(node)
    on_stack.add(node)
    for nxt in edges[node]:
        if nxt not in index:
            visit(nxt)
            low[node] = min(low[node], low[nxt])
        elif nxt in on_stack:
            low[node] = min(low[node], index[nxt])
    if low[node] == index[node]:
        component = []
        while True:
            top = stack.pop()
            on_stack.discard(top)
            component.append(top)
            if top == node:
                break
        components.append(component)


sys.setrecursionlimit(10000)
for node in files:
    if node not in index:
        visit(node)
circles = sorted((c for c in components if len(c) > 1), key=len, reverse=True)
what = "modules" if rooms else "files"
for circle in circles:
    print(f"{len(circle)} {what}: " + " ".join("/".join(m) for m in sorted(circle)))
print(f"{len(circles)} circle(s), {sum(len(c) for c in circles)} {what} in circles, {len(files)} {what}")
