import { describe, expect, test } from "vitest";
import type { AuditRow } from "../../src/ipc";
import { buildTimeline, eventsPerDay, filterTimeline, topFolder, whoText } from "../../src/timeline";

let t0 = Date.parse("2026-12-04T09:00:00Z");
function row(seq: number, action: string, facts: Record<string, unknown> = {}, o: Partial<AuditRow> = {}, dtSec = 1): AuditRow {
  t0 += dtSec * 1000;
  return {
    seq,
    time: new Date(t0).toISOString(),
    user: "alice",
    host: "clinic-laptop",
    device: "9f2c4e",
    action,
    label: action,
    fileId: null,
    fileName: null,
    detail: "raw detail",
    facts,
    ...o,
  };
}
/** One row per file of a batch record, as the backend sends them. */
function batch(seq: number, action: string, names: string[], facts: Record<string, unknown> = {}, dtSec = 1): AuditRow[] {
  return names.map((n, i) => row(seq, action, facts, { fileId: `id${seq}-${i}`, fileName: n }, i === 0 ? dtSec : 0));
}

describe("protect and the watcher read as one event per folder", () => {
  test("protect, plaintext found, encrypted by the app and the watcher: one event, no warning, folder named", () => {
    const ev = buildTimeline([
      row(1, "protect"),
      row(2, "plaintext_found", { count: 1 }),
      ...batch(3, "file_added", ["Scans/already-here.txt"], { by: "app" }),
      ...batch(4, "file_added", ["Scans/letter.txt"], { by: "watcher" }, 5),
    ]);
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ title: "Folder protected: Scans", warn: false, category: "added", program: "app", seqs: [1, 2, 3, 4] });
    expect(ev[0]!.detail).toMatch(/^2 files in it encrypted/);
    expect(ev[0]!.files).toEqual(["Scans/already-here.txt", "Scans/letter.txt"]);
  });

  test("the watcher logging the files a moment before the protect's own record: still one event", () => {
    const ev = buildTimeline([
      row(1, "plaintext_found", { count: 1 }),
      row(2, "protect"),
      ...batch(3, "file_added", ["Scans/already-here.txt"], { by: "app" }),
      row(4, "plaintext_found", { count: 1 }, {}, 2),
      ...batch(5, "file_added", ["Scans/letter.txt"], { by: "watcher" }),
    ]);
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ title: "Folder protected: Scans", warn: false, seqs: [1, 2, 3, 4, 5] });
  });

  test("plaintext found by the watcher and encrypted seconds later: protected, not a warning", () => {
    const ev = buildTimeline([row(1, "unlock", { method: "passphrase" }), row(2, "plaintext_found", { count: 2 }), ...batch(3, "file_added", ["Scans/a.txt", "Scans/b.txt"], { by: "watcher" }, 3)]);
    expect(ev.map((e) => e.title)).toEqual(["Unlocked", "New files protected: Scans"]);
    expect(ev[1]).toMatchObject({ warn: false, program: "watcher" });
    expect(ev[1]!.detail).toBe("2 files put in a protected folder were encrypted by the folder watcher.");
  });

  test("plaintext never encrypted stays a warning; a later add does not excuse it", () => {
    const ev = buildTimeline([row(1, "plaintext_found", { count: 3 }), ...batch(2, "file_added", ["Scans/a.txt"], { by: "watcher" }), ...batch(3, "file_added", ["Scans/b.txt"], { by: "watcher" }, 600)]);
    expect(ev[0]).toMatchObject({ title: "Unencrypted files found", warn: true });
    expect(ev[0]!.detail).toMatch(/3 files found unencrypted.*1 encrypted so far/);
    expect(ev[1]!.title).toBe("File added");
  });

  test("a file saved again seconds later (a new version) is counted once", () => {
    const ev = buildTimeline([row(1, "protect"), ...batch(2, "file_added", ["Scans/a.txt"], { by: "app" }), ...batch(3, "file_added", ["Scans/a.txt"], { by: "app" }, 10)]);
    expect(ev[0]!.detail).toMatch(/^1 file in it encrypted/);
  });

  test("files of another folder, or another computer, are not folded in", () => {
    const ev = buildTimeline([row(1, "protect"), ...batch(2, "file_added", ["Scans/a.txt"], { by: "app" }), ...batch(3, "file_added", ["Letters/b.txt"], { by: "app" }), row(4, "file_added", { by: "cli" }, { device: "other", fileName: "Scans/c.txt", fileId: "x" })]);
    expect(ev.map((e) => e.title)).toEqual(["Folder protected: Scans", "File added", "File added"]);
  });
});

describe("which program did what", () => {
  test("a command run inside an app session: its unlock is the command line's, the app's stays the app's", () => {
    const ev = buildTimeline([
      row(1, "unlock", { method: "passphrase" }),
      row(2, "unlock", { method: "passphrase" }),
      row(3, "lock", { reason: "process_end" }),
      row(4, "file_opened", {}, { fileName: "Scans/a.txt", fileId: "a" }),
      row(5, "lock", { reason: "manual" }),
    ]);
    expect(ev.map((e) => [e.title, e.program])).toEqual([
      ["Unlocked", "app"],
      ["Unlocked", "cli"],
      ["Command line finished", "cli"],
      ["File opened", "app"],
      ["Locked", "app"],
    ]);
    // The newest row while the app is unlocked never says just "Locked – program ended".
    expect(ev[2]!.detail).toMatch(/the app is not affected/);
  });

  test("session ids pair exactly, even when not nested", () => {
    const ev = buildTimeline([
      row(1, "unlock", { method: "passphrase", session: "A" }),
      row(2, "unlock", { method: "keychain", session: "B" }),
      row(3, "lock", { reason: "auto", session: "A" }),
      row(4, "lock", { reason: "process_end", session: "B" }),
    ]);
    expect(ev.map((e) => e.program)).toEqual(["app", "cli", "app", "cli"]);
    expect(ev[1]!.detail).toBe("Unlocked with this computer's login (keychain).");
  });

  test("a batch of files is one event with every name, worded with its program", () => {
    const ev = buildTimeline(batch(7, "file_added", ["Referrals/r1.txt", "Referrals/r2.txt", "Referrals/r3.txt"], { by: "cli" }));
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ title: "3 files added", detail: "Encrypted into the vault by the command line.", program: "cli" });
    expect(ev[0]!.files).toHaveLength(3);
  });
});

describe("filters and folding", () => {
  const ev = buildTimeline([
    row(1, "vault_created"),
    row(2, "status"),
    row(3, "unlock_failed", { method: "passphrase" }),
    row(4, "unlock", { method: "recovery" }),
    row(5, "file_opened", {}, { fileName: "a.txt", fileId: "a" }),
    row(6, "slot_added", { kind: "recovery" }),
    row(7, "rotation_finished", { kind: "rewrap", key_version: 2, files: 3, destroyed_versions: [1] }),
  ]);
  test("status records are folded away unless asked for", () => {
    expect(filterTimeline(ev, { category: "", showInternal: false }).map((e) => e.seq)).toEqual([1, 3, 4, 5, 6, 7]);
    expect(filterTimeline(ev, { category: "", showInternal: true })).toHaveLength(7);
  });
  test("an auditor's categories", () => {
    const seqs = (c: string) => filterTimeline(ev, { category: c, showInternal: false }).map((e) => e.seq);
    expect(seqs("access")).toEqual([3, 4]);
    expect(seqs("opened")).toEqual([5]);
    expect(seqs("keys")).toEqual([6, 7]);
    expect(seqs("warnings")).toEqual([3]);
  });
  test("wording: no internal names, nothing cut short", () => {
    for (const e of ev.filter((x) => x.category !== "internal")) {
      expect(e.title).not.toMatch(/_|raw detail/);
      expect(e.detail).toMatch(/\.$/);
    }
    expect(ev[6]!.detail).toBe("Now key version 2, 3 files; old key version 1 destroyed.");
    expect(ev[5]!.title).toBe("Way to unlock added: recovery key");
  });
  test("per-day counts are in local days and count events", () => {
    expect(eventsPerDay(ev, "UTC")).toEqual([{ day: "2026-12-04", count: 7 }]);
  });
});

test("names people recognise: host name first, the id only without one", () => {
  expect(whoText({ user: "alice", host: "clinic-laptop", device: "9f2c" })).toBe("alice on clinic-laptop");
  expect(whoText({ user: "alice", host: "", device: "9f2c" })).toBe("alice on 9f2c");
  expect(topFolder("Scans/x/y.txt")).toBe("Scans");
  expect(topFolder("y.txt")).toBeNull();
});

describe("the vault as a whole (FORMAT.md §17) reads in plain words", () => {
  test("each integrity problem has its own title and warns; endorsements are internal", () => {
    const ev = buildTimeline([
      row(1, "integrity_failure", { problem: "missing_object" }),
      row(2, "integrity_failure", { problem: "rolled_back" }, {}, 120),
      row(3, "integrity_failure", {}, {}, 120),
      row(4, "manifest_updated", { generation: 7 }, {}, 120),
      row(5, "integrity_accepted", { problems: ["missing_object"] }, {}, 120),
    ]);
    expect(ev.map((e) => e.title)).toEqual([
      "Files deleted from the vault folder",
      "Vault restored from an older copy",
      "Damaged file found",
      "Vault contents recorded",
      "Vault accepted as it is",
    ]);
    expect(ev.filter((e) => e.warn).map((e) => e.seq)).toEqual([1, 2, 3, 5]);
    expect(ev[3]!.category).toBe("internal");
    for (const e of ev) expect(e.title).not.toMatch(/_/);
  });
});

describe("the start of each kind of key rotation says what it does", () => {
  test("rewrap, rekey (someone may know a secret), re-encryption", () => {
    const ev = buildTimeline([
      row(1, "rotation_started", { kind: "rewrap", key_version: 2 }, {}, 3600),
      row(2, "rotation_started", { kind: "rekey", key_version: 3 }, {}, 3600),
      row(3, "rotation_started", { kind: "reencrypt", key_version: 4 }, {}, 3600),
    ]);
    expect(ev.map((e) => e.detail)).toEqual([
      "File keys to be rewrapped under key version 2.",
      "Vault keys and every way to unlock replaced; file keys to be rewrapped under key version 3.",
      "Every file to be re-encrypted under key version 4.",
    ]);
  });
});
