import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { findCycles, importGraph, specifiers } from "../../scripts/import-cycles.mjs";

const dirs: string[] = [];

function tree(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), "coffer-cycles-"));
  dirs.push(d);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(d, name)), { recursive: true });
    writeFileSync(join(d, name), text);
  }
  return d;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("import cycle check", () => {
  test("the UI's own modules import each other in no cycle", () => {
    expect(findCycles(importGraph(resolve(import.meta.dirname, "../../src")))).toEqual([]);
  });

  test("reads static, type-only, re-export, side-effect and dynamic imports, not comments", () => {
    const src = [
      'import { a } from "./a";',
      'import type { B } from "../b";',
      'export { c } from "./c";',
      'import "./d.css";',
      'const e = await import("./e");',
      '// import { x } from "./commented";',
      '/* import { y } from "./blocked"; */',
      'const s = "// not a comment"; import {\n  f,\n  type G,\n} from "./f";',
    ].join("\n");
    expect(specifiers(src).sort()).toEqual(["../b", "./a", "./c", "./d.css", "./e", "./f"]);
  });

  test("a screen importing the shell back is a cycle; importing view.ts is not", () => {
    const cyclic = tree({
      "app.ts": 'import { homeView } from "./screens/home";\n',
      "view.ts": "export interface View { el: HTMLElement }\n",
      "screens/home.ts": 'import type { App } from "../app";\nimport type { View } from "../view";\n',
    });
    expect(findCycles(importGraph(cyclic))).toEqual([["app.ts", "screens/home.ts", "app.ts"]]);

    const clean = tree({
      "app.ts": 'import { homeView } from "./screens/home";\nimport type { View } from "./view";\n',
      "view.ts": "export interface View { el: HTMLElement }\n",
      "screens/home.ts": 'import type { View } from "../view";\n',
    });
    expect(findCycles(importGraph(clean))).toEqual([]);
  });

  test("every edge of a tangle shows up in some listed cycle", () => {
    const g = new Map([
      ["a", ["b"]],
      ["b", ["a", "c"]],
      ["c", ["a"]],
      ["d", ["d"]],
    ]);
    expect(findCycles(g)).toEqual([
      ["a", "b", "a"],
      ["a", "b", "c", "a"],
      ["d", "d"],
    ]);
  });
});
