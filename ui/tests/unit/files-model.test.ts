import { describe, expect, test } from "vitest";
import { buildModel, crumbs, nextSort, sortKey, splitPath, view, type Item, type Sort } from "../../src/files-model";
import type { FileRow } from "../../src/ipc";

let seq = 0;
const row = (path: string, size: number, mtime: number, versions = 1): FileRow => ({ id: String(++seq), path, size, mtimeNs: mtime * 1e9, addedNs: mtime * 1e9, versions });
const rows: FileRow[] = [
  row("Scans/scan 10.pdf", 300, 5),
  row("Scans/scan 2.pdf", 100, 7),
  row("Scans/Scan 1.pdf", 200, 6),
  row("Scans/Archive/old.pdf", 50, 1),
  row("Exports/Billing.xlsx", 1000, 3),
  row("Éclair notes.txt", 10, 9),
  row("alpha.txt", 20, 2),
];
const names = (items: Item[]) => items.map((i) => i.name);
const byName: Sort = { key: "name", dir: "asc" };

describe("paths", () => {
  test("split", () => {
    expect(splitPath("a/b/c.pdf")).toEqual({ dir: "a/b", name: "c.pdf" });
    expect(splitPath("c.pdf")).toEqual({ dir: "", name: "c.pdf" });
    expect(splitPath("a\\b.pdf")).toEqual({ dir: "a", name: "b.pdf" });
  });
  test("crumbs", () => {
    expect(crumbs("")).toEqual([]);
    expect(crumbs("Scans/Archive")).toEqual([
      { name: "Scans", path: "Scans" },
      { name: "Archive", path: "Scans/Archive" },
    ]);
  });
  test("natural sort key: case, accents and numbers", () => {
    expect(sortKey("Scan 2") < sortKey("scan 10")).toBe(true);
    expect(sortKey("Éclair") < sortKey("f")).toBe(true);
    expect(sortKey("file007") === sortKey("FILE7")).toBe(true);
  });
});

describe("tree", () => {
  const m = buildModel(rows);
  test("folders with totals", () => {
    expect(m.all).toHaveLength(7);
    expect(m.totalSize).toBe(1680);
    const scans = m.nodes.get("Scans")!.item;
    expect(scans).toMatchObject({ files: 4, size: 650, latestNs: 7e9 });
    expect(m.nodes.get("Scans/Archive")!.item.files).toBe(1);
    expect(m.root.item.files).toBe(7);
  });

  test("browsing: folders first, then files, natural order", () => {
    expect(names(view(m, { folder: "", query: "", sort: byName }))).toEqual(["Exports", "Scans", "alpha.txt", "Éclair notes.txt"]);
    expect(names(view(m, { folder: "Scans", query: "", sort: byName }))).toEqual(["Archive", "Scan 1.pdf", "scan 2.pdf", "scan 10.pdf"]);
  });

  test("sorting by size and date, both directions; folders stay first", () => {
    expect(names(view(m, { folder: "Scans", query: "", sort: { key: "size", dir: "desc" } }))).toEqual(["Archive", "scan 10.pdf", "Scan 1.pdf", "scan 2.pdf"]);
    expect(names(view(m, { folder: "Scans", query: "", sort: { key: "size", dir: "asc" } }))).toEqual(["Archive", "scan 2.pdf", "Scan 1.pdf", "scan 10.pdf"]);
    expect(names(view(m, { folder: "Scans", query: "", sort: { key: "date", dir: "desc" } }))).toEqual(["Archive", "scan 2.pdf", "Scan 1.pdf", "scan 10.pdf"]);
  });

  test("ties break by name so the order is stable", () => {
    const t = buildModel([row("b.txt", 5, 1), row("a.txt", 5, 1), row("c.txt", 5, 1)]);
    expect(names(view(t, { folder: "", query: "", sort: { key: "size", dir: "asc" } }))).toEqual(["a.txt", "b.txt", "c.txt"]);
  });

  test("search: every term, anywhere below the folder, case-insensitive", () => {
    expect(names(view(m, { folder: "", query: "SCAN", sort: byName }))).toEqual(["old.pdf", "Scan 1.pdf", "scan 2.pdf", "scan 10.pdf"]);
    expect(names(view(m, { folder: "", query: "scan  pdf 1", sort: byName }))).toEqual(["Scan 1.pdf", "scan 10.pdf"]);
    expect(names(view(m, { folder: "Scans", query: "archive", sort: byName }))).toEqual(["old.pdf"]);
    // The folder's own name is not a match inside it.
    expect(names(view(m, { folder: "Scans", query: "scans", sort: byName }))).toEqual([]);
    expect(names(view(m, { folder: "Exports", query: "pdf", sort: byName }))).toEqual([]);
  });

  test("unknown folder falls back to the top", () => {
    expect(view(m, { folder: "Nope", query: "", sort: byName })).toHaveLength(4);
  });

  test("next sort: same column flips, new column starts in its natural direction", () => {
    expect(nextSort(byName, "name")).toEqual({ key: "name", dir: "desc" });
    expect(nextSort(byName, "size")).toEqual({ key: "size", dir: "desc" });
    expect(nextSort({ key: "size", dir: "desc" }, "date")).toEqual({ key: "date", dir: "desc" });
  });

  test("100,000 rows build, sort and filter quickly", () => {
    const big: FileRow[] = [];
    for (let i = 0; i < 100_000; i++) big.push(row(`Scans/${i % 50}/scan-${i}.pdf`, (i * 7919) % 100_000, i));
    const t0 = performance.now();
    const bm = buildModel(big);
    const all = view(bm, { folder: "", query: "scan", sort: { key: "size", dir: "desc" } });
    const hit = view(bm, { folder: "", query: "scan-99999", sort: byName });
    const ms = performance.now() - t0;
    expect(all).toHaveLength(100_000);
    expect(names(hit)).toEqual(["scan-99999.pdf"]);
    expect(ms).toBeLessThan(3000);
  });
});
