#!/usr/bin/env node
// Fails when the UI's modules import each other in a cycle (issue #14: the
// shell imports the screens, screens import view.ts, never app.ts).
// Type-only imports count too: a cycle of types is still a cycle a reader
// has to untangle. Plain Node, no dependencies, so it runs before `npm ci`
// has anything to offer and cannot drift with a tool's version.
//
//   node scripts/import-cycles.mjs [dir]      (default: src)

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const EXTS = [".ts", ".tsx", ".mts", ".js", ".mjs"];

/** Source text with comments blanked out, strings kept (specifiers live in strings). */
export function stripComments(src) {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const n = src[i + 1];
    if (c === "/" && n === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && n === "*") {
      const end = src.indexOf("*/", i + 2);
      i = end < 0 ? src.length : end + 2;
      out += " ";
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === "\\" ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
export function specifiers(src) {
  const text = stripComments(src);
  const found = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^;"'`]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1]);
  return found;
}

function listFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== "node_modules") out.push(...listFiles(p));
    } else if (EXTS.some((e) => name.endsWith(e)) && !name.endsWith(".d.ts")) {
      out.push(p);
    }
  }
  return out;
}

function resolveSpec(from, spec) {
  if (!spec.startsWith("./") && !spec.startsWith("../")) return null;
  const base = resolve(dirname(from), spec);
  const stem = base.replace(/\.(m?js)$/, "");
  const candidates = [base, ...EXTS.map((e) => stem + e), ...EXTS.map((e) => join(base, "index" + e))];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? null;
}

/** The import graph of `dir`: file path (relative, with /) -> sorted imported paths. */
export function importGraph(dir) {
  const root = resolve(dir);
  const rel = (p) => relative(root, p).split(sep).join("/");
  const graph = new Map();
  for (const f of listFiles(root)) {
    const deps = new Set();
    for (const s of specifiers(readFileSync(f, "utf8"))) {
      const t = resolveSpec(f, s);
      if (t && t.startsWith(root + sep)) deps.add(rel(t));
    }
    graph.set(rel(f), [...deps].sort());
  }
  return graph;
}

function stronglyConnected(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const comps = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) {
        low.set(v, Math.min(low.get(v), idx.get(w)));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      comps.push(comp);
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return comps;
}

/**
 * Cycles as paths [a, b, ..., a]: for every edge u -> v inside a strongly
 * connected group, the shortest way back from v to u. Every edge that is
 * part of some cycle shows up, without listing exponentially many cycles.
 */
export function findCycles(graph) {
  const cycles = [];
  const seen = new Set();
  for (const comp of stronglyConnected(graph)) {
    const inComp = new Set(comp);
    for (const u of [...comp].sort()) {
      for (const v of graph.get(u) ?? []) {
        if (!inComp.has(v)) continue;
        const prev = new Map([[v, null]]);
        const queue = [v];
        while (queue.length && !prev.has(u)) {
          const x = queue.shift();
          for (const y of graph.get(x) ?? []) {
            if (inComp.has(y) && !prev.has(y)) {
              prev.set(y, x);
              queue.push(y);
            }
          }
        }
        if (u === v) prev.set(u, null);
        const back = [];
        for (let x = u; x !== null && x !== v; x = prev.get(x)) back.unshift(x);
        const ring = u === v ? [u] : [v, ...back];
        // The same ring starting elsewhere is the same cycle.
        const start = ring.indexOf([...ring].sort()[0]);
        const canon = [...ring.slice(start), ...ring.slice(0, start)];
        const key = canon.join(" ");
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push([...canon, canon[0]]);
        }
      }
    }
  }
  return cycles.sort((a, b) => a.join(" ").localeCompare(b.join(" ")));
}

function main(argv) {
  const dir = argv[0] ?? "src";
  const graph = importGraph(dir);
  const cycles = findCycles(graph);
  for (const c of cycles) console.log(`import cycle: ${c.join(" -> ")}`);
  const edges = [...graph.values()].reduce((n, d) => n + d.length, 0);
  console.log(`import-cycles: ${dir} ${graph.size} modules, ${edges} imports, ${cycles.length} cycles`);
  return cycles.length === 0 ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
