#!/usr/bin/env python3
"""Fails when the top-level modules of a Rust crate in the workspace import
each other in a cycle (issue #14: dependencies run one way).

For every crate (the workspace members, every crates/*/ and src-tauri/), a
top-level module is a file src/x.rs or a folder src/x/ (src/bin/ and the
crate roots lib.rs / main.rs are not modules). Module x depends on y when
code in x names y through `crate::y` (in a `use` tree, braces nested or not,
or in a path anywhere in the code) or through `super::` chains that climb to
the crate root (`super::super::y` from src/x/a.rs). `crate::Name` where the
crate root re-exports Name with a `use` (`pub use error::{Error, Result}`)
counts as a dependency on the module it comes from.

Test code is left out: items under `#[cfg(test)]` (or `#[cfg(all(test, ..))]`),
inline `mod tests { .. }`, files named tests.rs or *_tests.rs, `tests/`
folders under src/, and files declared by `#[cfg(test)] mod name;`. Comments,
strings and char literals are blanked before reading, so doc links and
messages do not count.

Usage: check-cycles.py [--dot] [ROOT]   (ROOT: the workspace, default: this repo)
Exit status: 0 no cycle, 1 a cycle, 2 usage error. Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
from collections import deque
from dataclasses import dataclass, field

try:
    import tomllib
except ImportError:  # Python < 3.11: the regex fallback below reads members
    tomllib = None


# ---------------------------------------------------------------- lexing

RAW_STRING = re.compile(r'b?r(#*)"')


def blank(src: str) -> str:
    """Source with comments, strings and char literals replaced by spaces
    (newlines kept, so offsets and line numbers still match)."""
    out = list(src)
    n = len(src)
    i = 0

    def wipe(a: int, b: int) -> None:
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = src[i]
        nxt = src[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            j = src.find("\n", i)
            j = n if j < 0 else j
            wipe(i, j)
            i = j
        elif c == "/" and nxt == "*":
            depth, j = 1, i + 2  # Rust block comments nest
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            wipe(i, j)
            i = j
        elif c in "rb" and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            raw = RAW_STRING.match(src, i)
            if raw:  # r"..", r#".."#, br".."
                close = '"' + raw.group(1)
                j = src.find(close, raw.end())
                j = n if j < 0 else j + len(close)
                wipe(i, j)
                i = j
            elif c == "b" and nxt in "\"'":  # b"..", b'.': the quote is read next
                i += 1
            else:
                i += 1
        elif c == '"':
            i = skip_string(src, i, wipe)
        elif c == "'":
            # 'x' or '\n' is a char literal; 'a (no closing quote next) a lifetime.
            if nxt == "\\":
                j = src.find("'", i + 3)
                j = n if j < 0 else j + 1
                wipe(i, j)
                i = j
            elif i + 2 < n and src[i + 2] == "'":
                wipe(i, i + 3)
                i += 3
            else:
                i += 1
        else:
            i += 1
    return "".join(out)


def skip_string(src: str, i: int, wipe) -> int:
    j = i + 1
    while j < len(src) and src[j] != '"':
        j += 2 if src[j] == "\\" else 1
    wipe(i, j + 1)
    return j + 1


TOKEN = re.compile(r"\$?[A-Za-z_][A-Za-z0-9_]*|::|\S")


def tokens(text: str) -> list[tuple[str, int]]:
    """(token, line) pairs of blanked source."""
    out, line, pos = [], 1, 0
    for m in TOKEN.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        out.append((m.group(0), line))
    return out


# ---------------------------------------------------------------- reading one file

@dataclass
class Ref:
    """`name` at the crate root, reached from `line` of a file."""
    name: str
    line: int


@dataclass
class FileScan:
    refs: list[Ref] = field(default_factory=list)
    test_mods: list[str] = field(default_factory=list)  # `#[cfg(test)] mod x;`
    uses: list[list[str]] = field(default_factory=list)  # root `use` paths + alias


def is_test_cfg(attr: list[str]) -> bool:
    s = "".join(attr)
    return s in ("#[cfg(test)]", "#![cfg(test)]") or s.startswith("#[cfg(all(test,")


def group_end(toks, i: int, open_: str, close: str) -> int:
    """Index just past the bracket closing the one at toks[i]."""
    depth = 0
    while i < len(toks):
        t = toks[i][0]
        if t == open_:
            depth += 1
        elif t == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


ITEM_KEYWORDS = {"fn", "mod", "use", "impl", "struct", "enum", "union", "const", "static", "type",
                 "trait", "macro_rules", "extern", "unsafe", "async"}


def item_end(toks, i: int) -> int:
    """Index just past what an attribute at toks[i] applies to: an item up to
    its `;` or its `{ .. }`; a field, variant, arm or statement up to its `,`
    or `;` (or the `}` closing what holds it)."""
    k = i + 1 if i < len(toks) and toks[i][0] == "pub" else i
    if k < len(toks) and toks[k][0] == "(":
        k = group_end(toks, k, "(", ")")
    item = k < len(toks) and toks[k][0] in ITEM_KEYWORDS
    depth = 0
    while i < len(toks):
        t = toks[i][0]
        if item and depth == 0 and t == "{":
            j = group_end(toks, i, "{", "}")
            return j + 1 if j < len(toks) and toks[j][0] == ";" else j
        if t in "([{":
            depth += 1
        elif t in ")]}":
            depth -= 1
            if depth < 0:
                return i
        elif depth == 0 and (t == ";" or (t == "," and not item)):
            return i + 1
        i += 1
    return i


def use_tree(toks, i: int, prefix: list[str], out: list[list[str]]) -> int:
    """Expands the use tree at toks[i] into full paths (alias last, after
    'as'); returns the index past it."""
    path = list(prefix)
    while i < len(toks):
        t = toks[i][0]
        if t == "{":
            i += 1
            while i < len(toks) and toks[i][0] != "}":
                i = use_tree(toks, i, path, out)
                if i < len(toks) and toks[i][0] == ",":
                    i += 1
            return i + 1
        if t == "as" and i + 1 < len(toks):
            out.append(path + ["as", toks[i + 1][0]])
            return i + 2
        if t == "::":
            i += 1
            continue
        if t in (",", "}", ";"):
            break
        path.append(t)
        i += 1
    if len(path) > len(prefix):
        out.append(path)
    return i


def scan(path: str, mod_path: list[str], is_root: bool) -> FileScan:
    """The crate-root names a file reaches, with test code left out."""
    with open(path, encoding="utf-8", errors="replace") as f:
        toks = tokens(blank(f.read()))
    res = FileScan()
    inline: list[tuple[str, int]] = []  # inline `mod name {` and its brace depth
    depth = 0
    i = 0
    while i < len(toks):
        t, line = toks[i]
        if t == "#" and i + 1 < len(toks) and toks[i + 1][0] in ("[", "!"):
            start = i + 1 if toks[i + 1][0] == "[" else i + 2
            end = group_end(toks, start, "[", "]")
            if is_test_cfg([x for x, _ in toks[i:end]]):
                if toks[i + 1][0] == "!":  # the whole file is test-only
                    return FileScan()
                j = end
                while j < len(toks) and toks[j][0] == "#":  # further attributes
                    j = group_end(toks, j + 1, "[", "]")
                k = j + (1 if j < len(toks) and toks[j][0] == "pub" else 0)
                if k > j and k < len(toks) and toks[k][0] == "(":  # pub(crate)
                    k = group_end(toks, k, "(", ")")
                if k + 2 < len(toks) and toks[k][0] == "mod" and toks[k + 2][0] == ";":
                    res.test_mods.append(toks[k + 1][0])
                i = item_end(toks, j)
                continue
            i = end
            continue
        if t == "mod" and i + 2 < len(toks) and toks[i + 1][0] == "tests" and toks[i + 2][0] == "{":
            i = group_end(toks, i + 2, "{", "}")
            continue
        if t == "mod" and i + 2 < len(toks) and toks[i + 2][0] == "{":
            inline.append((toks[i + 1][0], depth + 1))
        elif t == "{":
            depth += 1
        elif t == "}":
            if inline and inline[-1][1] == depth:
                inline.pop()
            depth -= 1
        if is_root and t == "use":
            paths: list[list[str]] = []
            i = use_tree(toks, i + 1, [], paths)
            res.uses.extend(paths)
            continue
        level = None  # how many path segments below the crate root we stand
        if t in ("crate", "$crate") and i + 1 < len(toks) and toks[i + 1][0] == "::":
            level, j = 0, i + 2
        elif t == "super" and (i == 0 or toks[i - 1][0] != "::") and i + 1 < len(toks) and toks[i + 1][0] == "::":
            here = len(mod_path) + len(inline)
            j = i
            while j + 1 < len(toks) and toks[j][0] == "super" and toks[j + 1][0] == "::":
                here -= 1
                j += 2
            level = here
        if level == 0 and j < len(toks):
            if toks[j][0] == "{":
                paths = []
                use_tree(toks, j, [], paths)
                res.refs.extend(Ref(p[0], line) for p in paths if p[0] not in ("self", "*"))
            elif re.match(r"[A-Za-z_]", toks[j][0]):
                res.refs.append(Ref(toks[j][0], line))
        i += 1
    return res


# ---------------------------------------------------------------- one crate

@dataclass
class Crate:
    name: str
    modules: list[str]
    edges: dict[str, dict[str, str]]  # a -> {b: "file:line" of the first mention}


def module_path(src: str, f: str) -> list[str]:
    parts = os.path.relpath(f, src)[: -len(".rs")].split(os.sep)
    return parts[:-1] if parts[-1] == "mod" else parts


def is_test_file(rel: str) -> bool:
    parts = rel.split(os.sep)
    name = parts[-1]
    return "tests" in parts[:-1] or name == "tests.rs" or name.endswith("_tests.rs")


def root_names(src: str, modules: list[str]) -> dict[str, str]:
    """Names the crate root brings in with `use` (so `crate::Name` works in
    every module) -> the top-level module they come from."""
    names: dict[str, str] = {}
    for root in ("lib.rs", "main.rs"):
        p = os.path.join(src, root)
        if not os.path.exists(p):
            continue
        for path in scan(p, [], True).uses:
            alias = path[path.index("as") + 1] if "as" in path else None
            segs = path[: path.index("as")] if alias else path
            while segs and segs[0] in ("crate", "self"):
                segs = segs[1:]
            if segs and segs[-1] == "self":  # `use x::{self as y}`
                segs = segs[:-1]
            if not segs or segs[0] not in modules or segs[-1] == "*" or alias == "_":
                continue
            if len(segs) >= 2 or alias:  # `use x::Name`, `use x as y`
                names.setdefault(alias or segs[-1], segs[0])
    return names


def read_crate(crate_dir: str, name: str) -> Crate:
    src = os.path.join(crate_dir, "src")
    entries = [e for e in os.listdir(src) if not is_test_file(e)]
    modules = sorted(
        {e[:-3] for e in entries if e.endswith(".rs") and e not in ("lib.rs", "main.rs")}
        | {e for e in entries if os.path.isdir(os.path.join(src, e)) and e not in ("bin", "tests")}
    )
    reexport = root_names(src, modules)
    scans: list[tuple[str, list[str], FileScan]] = []
    skipped: set[str] = set()
    for f in sorted(glob.glob(os.path.join(src, "**", "*.rs"), recursive=True)):
        mp = module_path(src, f)
        if not mp or mp[0] not in modules or is_test_file(os.path.relpath(f, src)):
            continue
        s = scan(f, mp, False)
        scans.append((f, mp, s))
        # `#[cfg(test)] mod x;` in src/a.rs or src/a/mod.rs is src/a/x.rs or src/a/x/..
        base = os.path.join(src, *mp)
        for tm in s.test_mods:
            skipped.add(os.path.join(base, tm + ".rs"))
            skipped.update(glob.glob(os.path.join(base, tm, "**", "*.rs"), recursive=True))
    edges: dict[str, dict[str, str]] = {m: {} for m in modules}
    for f, mp, s in scans:
        if f in skipped:
            continue
        for r in s.refs:
            target = r.name if r.name in modules else reexport.get(r.name)
            if target and target != mp[0]:
                edges[mp[0]].setdefault(target, f"{os.path.relpath(f, crate_dir)}:{r.line}")
    return Crate(name, modules, edges)


# ---------------------------------------------------------------- cycles

def strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []

    def visit(v: str) -> None:  # recursion depth is the module count: small
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Cycles as [a, b, .., a]: for each edge u -> v inside a strongly
    connected group, the shortest way back from v to u. Every edge on some
    cycle shows up, without listing exponentially many cycles."""
    seen: set[tuple[str, ...]] = set()
    cycles = []
    for comp in strongly_connected(graph):
        inside = set(comp)
        for u in sorted(comp):
            for v in sorted(graph.get(u, [])):
                if v not in inside:
                    continue
                prev: dict[str, str | None] = {v: None}
                q = deque([v])
                while q and u not in prev:
                    x = q.popleft()
                    for y in sorted(graph.get(x, [])):
                        if y in inside and y not in prev:
                            prev[y] = x
                            q.append(y)
                ring = [u]
                x = u
                while x != v:
                    x = prev[x]
                    ring.insert(0, x)
                if u == v:
                    ring = [u]
                start = ring.index(min(ring))
                canon = tuple(ring[start:] + ring[:start])
                if canon not in seen:
                    seen.add(canon)
                    cycles.append(list(canon) + [canon[0]])
    return sorted(cycles)


# ---------------------------------------------------------------- workspace

def crate_dirs(root: str) -> list[tuple[str, str]]:
    """(directory, package name) of every crate to check."""
    dirs: list[str] = []
    manifest = os.path.join(root, "Cargo.toml")
    if os.path.exists(manifest):
        with open(manifest, "rb") as f:
            raw = f.read()
        if tomllib:
            members = tomllib.loads(raw.decode()).get("workspace", {}).get("members", [])
        else:
            m = re.search(r"members\s*=\s*\[(.*?)\]", raw.decode(), re.S)
            members = re.findall(r'"([^"]+)"', m.group(1)) if m else []
        for pat in members:
            dirs.extend(sorted(glob.glob(os.path.join(root, pat))))
        dirs.append(root)
    dirs.extend(sorted(glob.glob(os.path.join(root, "crates", "*"))))
    dirs.append(os.path.join(root, "src-tauri"))
    out, seen = [], set()
    for d in dirs:
        d = os.path.normpath(d)
        m = os.path.join(d, "Cargo.toml")
        if d in seen or not os.path.isdir(os.path.join(d, "src")) or not os.path.exists(m):
            continue
        with open(m, encoding="utf-8") as f:
            name = re.search(r'^\s*name\s*=\s*"([^"]+)"', f.read(), re.M)
        seen.add(d)
        out.append((d, name.group(1) if name else os.path.basename(d)))
    return out


def dot(crates: list[Crate], cyclic: set[tuple[str, str, str]]) -> str:
    lines = ["digraph modules {", "  rankdir=LR;", "  node [shape=box, fontname=monospace];"]
    for c in crates:
        lines.append(f'  subgraph "cluster_{c.name}" {{')
        lines.append(f'    label="{c.name}";')
        for m in c.modules:
            lines.append(f'    "{c.name}::{m}" [label="{m}"];')
        for a in c.modules:
            for b in sorted(c.edges[a]):
                style = " [color=red]" if (c.name, a, b) in cyclic else ""
                lines.append(f'    "{c.name}::{a}" -> "{c.name}::{b}"{style};')
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="Import cycles between the top-level modules of each Rust crate.")
    ap.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--dot", action="store_true", help="print the module graph as Graphviz dot (cycle edges red)")
    args = ap.parse_args(argv)
    found = crate_dirs(args.root)
    if not found:
        print(f"check-cycles: no crate under {args.root}", file=sys.stderr)
        return 2
    crates = [read_crate(d, n) for d, n in found]
    total = 0
    cyclic: set[tuple[str, str, str]] = set()
    report = []
    for c in crates:
        graph = {a: sorted(b) for a, b in c.edges.items()}
        cycles = find_cycles(graph)
        total += len(cycles)
        on_cycle: set[tuple[str, str]] = set()
        for cyc in cycles:
            report.append(f"{c.name}: import cycle: {' -> '.join(cyc)}")
            on_cycle.update(zip(cyc, cyc[1:]))
        for comp in sorted(sorted(k) for k in strongly_connected(graph) if len(k) > 1):
            report.append(f"{c.name}: {len(comp)} modules tangled together: {', '.join(comp)}")
        if on_cycle:
            report.append(f"{c.name}: where each edge on a cycle is first made:")
            report.extend(f"    {a} -> {b}  {c.edges[a][b]}" for a, b in sorted(on_cycle))
        cyclic.update((c.name, a, b) for a, b in on_cycle)
        report.append(f"check-cycles: {c.name} {len(c.modules)} modules, {len(cycles)} cycles")
    if args.dot:
        print(dot(crates, cyclic))
    else:
        print("\n".join(report))
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
