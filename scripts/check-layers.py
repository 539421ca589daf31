#!/usr/bin/env python3
"""The server's floors: no module imports from a floor above its own, and no file-level import circle.

Reads every `crate::…` path in server/src (use trees included), maps each to the file it names, and checks
the edges against FLOORS. Run by `./dev.sh test`; `--graph` prints the edges.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server", "src")

# Top-level modules of server/src by floor, lowest first. A module may use its own floor and those below.
FLOORS = [
    ("support", {"support"}),
    ("storage", {"db"}),
    ("services", {"services"}),
    ("ways in", {"web"}),
    ("wiring", {"startup", "main", "lib"}),
]


def floor_of(module):
    for index, (_, modules) in enumerate(FLOORS):
        if module in modules:
            return index
    return None


def module_path(path):
    """server/src/a/b.rs -> ['a', 'b']; a/mod.rs -> ['a']."""
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    return rel


def files():
    found = {}
    for directory, _, names in os.walk(ROOT):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(directory, name)
                found[tuple(module_path(path))] = os.path.relpath(path, ROOT)
    return found


def strip_comments(text):
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def expand_use_tree(prefix, tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = tree.strip()
    brace = tree.find("{")
    if brace == -1:
        return [prefix + tree.split(" as ")[0].strip()]
    head, body = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    parts, depth, current = [], 0, ""
    for char in body:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += char == "{"
        depth -= char == "}"
        current += char
    parts.append(current)
    out = []
    for part in parts:
        if part.strip():
            out.extend(expand_use_tree(prefix + head, part))
    return out


def references(text, module):
    """Every path this file names, as a crate-absolute `a::b::c` (`crate::`, `super::` and `self::` alike)."""
    text = strip_comments(text)
    paths = []
    for match in re.finditer(r"\buse\s+((?:crate|super|self)::[^;]+);", text):
        paths.extend(expand_use_tree("", match.group(1)))
    for match in re.finditer(r"(?<![\w:])((?:crate|super|self)::(?:\w+::)*\w+)", text):
        paths.append(match.group(1))
    # Children declared here (`mod x;`) are named without a prefix: `x::router()`.
    for child in re.findall(r"\bmod\s+(\w+)\s*;", text):
        for match in re.finditer(r"(?<![\w:])" + child + r"((?:::\w+)+)", text):
            paths.append("self::" + child + match.group(1))
    absolute = []
    for path in paths:
        parts = path.split("::")
        if parts[0] == "crate":
            absolute.append("::".join(parts[1:]))
            continue
        base = list(module)
        while parts and parts[0] in ("super", "self"):
            if parts.pop(0) == "super":
                base = base[:-1]
        absolute.append("::".join(base + parts))
    return absolute


def resolve(path, known):
    """The longest module prefix of `path` that is a file."""
    parts = [p for p in path.split("::") if p and p != "self" and p != "*"]
    for length in range(len(parts), 0, -1):
        if tuple(parts[:length]) in known:
            return tuple(parts[:length])
    return None


def main():
    known = files()
    edges = set()
    for module, rel in known.items():
        with open(os.path.join(ROOT, rel), encoding="utf-8") as handle:
            text = handle.read()
        for path in references(text, module):
            target = resolve(path, known)
            # A module file using its own submodules is its face, not an import: skip parent-to-descendant edges.
            if target and target != module and target[: len(module)] != module:
                edges.add((module, target))
    problems = []
    for source, target in sorted(edges):
        low, high = floor_of(source[0]), floor_of(target[0])
        if low is None:
            problems.append(f"server/src/{known[source]}: top-level module `{source[0]}` has no floor in FLOORS")
        elif high is not None and high > low:
            problems.append(
                f"upward import: {known[source]} ({FLOORS[low][0]}) uses {known[target]} ({FLOORS[high][0]})"
            )
    # File-level circles (Tarjan's strongly connected components).
    graph = {module: [t for s, t in edges if s == module] for module in known}
    index, low, stack, on_stack, circles, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
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
            if len(component) > 1:
                circles.append(sorted(known[c] for c in component))

    sys.setrecursionlimit(10000)
    for node in known:
        if node not in index:
            visit(node)
    for circle in circles:
        problems.append(f"import circle of {len(circle)} files: " + ", ".join(circle))
    if "--graph" in sys.argv:
        for source, target in sorted(edges):
            print(f"{known[source]} -> {known[target]}")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"layers: {len(known)} files, {len(edges)} imports, no upward import, no circle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
