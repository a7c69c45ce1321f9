import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { describeError, ERROR_CODES, IpcError, looksTechnical, redactPaths, toIpcError } from "../../src/ipc";

describe("IPC error mapping", () => {
  test("the backend's {code, message} keeps both", () => {
    const e = toIpcError({ code: "io", message: "The disk is full." });
    expect(e).toBeInstanceOf(IpcError);
    expect(e.code).toBe("io");
    expect(e.message).toBe("The disk is full.");
  });

  test("every documented code survives", () => {
    for (const c of ERROR_CODES) expect(toIpcError({ code: c, message: "m" }).code).toBe(c);
  });

  test("unknown codes, strings (Tauri's own errors), Errors and junk become internal", () => {
    // Their text is technical: it goes to "Details", never the sentence.
    expect(toIpcError({ code: "brand_new", message: "x" })).toMatchObject({ code: "internal", message: "", details: "brand_new: x" });
    expect(toIpcError("Command foo not found")).toMatchObject({ code: "internal", message: "", details: "Command foo not found" });
    expect(toIpcError(new TypeError("boom"))).toMatchObject({ code: "internal", message: "", details: "boom" });
    expect(toIpcError(undefined)).toMatchObject({ code: "internal" });
    expect(toIpcError({})).toMatchObject({ code: "internal", message: "" });
  });

  test("an IpcError passes through unchanged", () => {
    const e = new IpcError("policy", "no");
    expect(toIpcError(e)).toBe(e);
  });

  test("people-facing text per code", () => {
    expect(describeError(new IpcError("wrong_credential", "Wrong passphrase or key.")).title).toBe("Wrong passphrase");
    expect(describeError(new IpcError("in_use", "x")).detail).toMatch(/try again in a moment/i);
    expect(describeError(new IpcError("policy", "Your organisation's policy locks the vault after at most 15 minutes.")).detail).toMatch(/at most 15 minutes/);
    expect(describeError(new IpcError("integrity", "")).title).toMatch(/integrity/);
    expect(describeError(new IpcError("keychain_unavailable", "dbus: no")).detail).toMatch(/passphrase/);
    // The backend's sentence is shown; a generic line when empty.
    expect(describeError(new IpcError("io", "Coffer was not allowed to read or write a file here. Check that you own the folder, or ask IT.")).detail).toMatch(/not allowed/);
    expect(describeError(new IpcError("internal", "")).detail).toMatch(/Try again/);
  });
});

describe("cancelled (a stopped key update)", () => {
  test("is a known code and reads calmly", () => {
    expect(toIpcError({ code: "cancelled", message: "" }).code).toBe("cancelled");
    expect(describeError(new IpcError("cancelled", ""))).toEqual({ title: "Stopped", detail: "It continues next time.", technical: "" });
  });
});

// The launcher's own words when no app opens a file: jargon, and the path
// of the plaintext copy in the working area.
const LAUNCHER = 'Launcher "gio" "open" "/tmp/coffer-work-1a2b/Scans/letter-1.txt" failed with ExitStatus(unix_wait_status(512))';
const DO_WORDS = /\b(try|check|ask|tell|unlock|use|choose|install|run|refresh|set|wait|free|enter|restore|continues)\b/i;

describe("every error the IPC can return reads as a plain sentence", () => {
  // Each code with: the backend's own sentence, nothing, and technical
  // text that leaked into the message (an older backend, a plugin).
  for (const code of ERROR_CODES) {
    for (const [how, err] of [
      ["empty", new IpcError(code, "")],
      ["technical", new IpcError(code, LAUNCHER, LAUNCHER)],
      ["plain", new IpcError(code, "Coffer couldn't do that. Try again in a moment.")],
    ] as const) {
      test(`${code} (${how} message)`, () => {
        const t = describeError(err);
        expect(t.title.length).toBeGreaterThan(3);
        expect(t.title).not.toMatch(/[_{}]/);
        // What happened and what to do, as a sentence.
        expect(t.detail).toMatch(/[.!]$/);
        expect(t.detail).toMatch(DO_WORDS);
        for (const s of [t.title, t.detail]) {
          expect(looksTechnical(s), s).toBe(false);
          expect(s).not.toMatch(/coffer-work|\/tmp|letter-1|ExitStatus/);
        }
        // Technical text only behind "Details", and without the path.
        expect(t.technical).not.toMatch(/coffer-work|\/tmp|letter-1/);
        if (how === "technical") expect(t.technical).toContain("ExitStatus");
      });
    }
  }

  test("a launcher failure from the plugin (a bare string) is friendly", () => {
    const t = describeError(toIpcError(LAUNCHER));
    expect(t.title).toBe("Something went wrong");
    expect(t.technical).toBe('Launcher "gio" "open" "[path]" failed with ExitStatus(unix_wait_status(512))');
  });

  test("no_app, the backend's code for it, says what to do", () => {
    const t = describeError(toIpcError({ code: "no_app", message: "", details: LAUNCHER }));
    expect(t.title).toBe("No app can open this file");
    expect(t.detail).toMatch(/Install one/);
    expect(t.technical).not.toContain("/tmp");
  });

  test("redactPaths: every path form, quoted or not, and nothing else", () => {
    expect(redactPaths("open /home/a/x.txt now")).toBe("open [path] now");
    expect(redactPaths('"C:\\Users\\a b\\x.txt" gone')).toBe('"[path]" gone');
    expect(redactPaths("at ~/Patients/a.txt")).toBe("at [path]");
    expect(redactPaths("(file:///tmp/x)")).toBe("([path])");
    expect(redactPaths("3/4 done, and/or 12:30")).toBe("3/4 done, and/or 12:30");
  });

  // The codes the backend can send are the ones the UI knows and
  // docs/IPC.md lists: a new code without a sentence fails here.
  test("the backend's codes, the UI's and docs/IPC.md's are the same set", () => {
    const root = join(__dirname, "..", "..", "..");
    const rust: string[] = [];
    const walk = (dir: string): void => {
      for (const n of readdirSync(dir)) {
        const p = join(dir, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith(".rs")) rust.push(readFileSync(p, "utf8"));
      }
    };
    walk(join(root, "src-tauri", "src"));
    const sent = new Set<string>();
    for (const src of rust) {
      for (const m of src.matchAll(/UiError::(?:new|with_details)\(\s*"([a-z_]+)"/g)) sent.add(m[1]!);
      for (const m of src.matchAll(/\(\s*"([a-z_]+)",\s*(?:format!|"|policy_or|e\.to_string|match)/g)) sent.add(m[1]!);
    }
    expect(sent.size).toBeGreaterThan(5);
    for (const c of sent) expect(ERROR_CODES as readonly string[], `backend code ${c}`).toContain(c);
    const doc = readFileSync(join(root, "docs", "IPC.md"), "utf8");
    const table = doc.slice(doc.indexOf("## Errors"), doc.indexOf("## Commands"));
    const documented = [...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    expect(new Set(documented)).toEqual(new Set(ERROR_CODES));
  });
});
