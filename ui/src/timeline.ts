// The Activity screen's events, as an auditor reads them: the log's
// records (one row per file of a batch) folded into events that say what
// happened, who did it with which program, on which computer. Pure: the
// rows in, the events out; tests pin every rule.

import type { AuditRow } from "./ipc";
import { plural } from "./format";

/** Which program did it: the desktop app, a `coffer` command, the folder watcher. */
export type Program = "app" | "cli" | "watcher";

/** What an auditor filters by. */
export type Category = "access" | "opened" | "added" | "removed" | "keys" | "other" | "internal";

export const CATEGORY_CHOICES: { value: string; label: string }[] = [
  { value: "access", label: "Unlocks and locks" },
  { value: "opened", label: "Files opened or copied out" },
  { value: "added", label: "Files added or protected" },
  { value: "removed", label: "Files or folders removed" },
  { value: "keys", label: "Passphrase and key changes" },
  { value: "warnings", label: "Warnings only" },
  { value: "other", label: "Reports and settings" },
];

export const PROGRAM_LABEL: Record<Program, string> = {
  app: "the Coffer app",
  cli: "the command line",
  watcher: "the folder watcher",
};

export type TimelineEvent = {
  /** The first record's number: stable across reloads. */
  seq: number;
  /** Every record folded into this event, oldest first. */
  seqs: number[];
  time: string;
  user: string;
  host: string;
  device: string;
  title: string;
  detail: string;
  program: Program | null;
  /** Names of the files concerned (all of them, for the record view). */
  files: string[];
  category: Category;
  warn: boolean;
  rows: AuditRow[];
};

/** Seconds within which a protect, the plaintext it found and their encryption are one event. */
export const FOLD_SECONDS = 60;

type Rec = { seq: number; action: string; rows: AuditRow[]; facts: Record<string, unknown>; ms: number };

const str = (v: unknown): string | null => (typeof v === "string" && v ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

function programOf(by: unknown): Program | null {
  return by === "app" || by === "cli" || by === "watcher" ? by : null;
}

/** What `integrity_failure` records with a `problem` say (FORMAT.md §17.5). */
const VAULT_PROBLEM: Record<string, { title: string; detail: string }> = {
  unknown_object: { title: "Files Coffer never wrote found in the vault", detail: "Someone added files to the vault folder without its keys." },
  missing_object: { title: "Files deleted from the vault folder", detail: "Files the vault holds were removed outside Coffer." },
  changed_object: { title: "Files replaced in the vault folder", detail: "Files the vault holds were replaced outside Coffer." },
  rolled_back: { title: "Vault restored from an older copy", detail: "The vault folder is older than this computer last saw." },
  manifest_tampered: { title: "Vault contents list changed", detail: "The list of what the vault holds was changed or removed outside Coffer." },
  forged_endorsement: { title: "Forged records of added files", detail: "Records of added files were forged or replayed." },
  index_tampered: { title: "Vault listing damaged", detail: "The vault's listing was damaged or changed; it was rebuilt from the files." },
  config_downgraded: { title: "Vault settings replaced by an older version", detail: "The vault's settings were replaced by an older, unchecked version." },
  config_tampered: { title: "Vault settings changed outside Coffer", detail: "The vault's settings were changed by someone without its keys; nothing was encrypted with them." },
  protected_list_tampered: { title: "Protected folder list changed outside Coffer", detail: "The list of protected folders was changed by someone without the vault's keys; it was not used." },
};

const METHOD: Record<string, string> = {
  passphrase: "with the passphrase",
  keychain: "with this computer's login (keychain)",
  recovery: "with the recovery key",
  escrow: "with the organisation's escrow key",
};

const SLOT: Record<string, string> = {
  passphrase: "passphrase",
  keychain: "computer login (keychain)",
  recovery: "recovery key",
  escrow: "organisation escrow key",
};

/** How a lock came about; `program` is who locked. */
const LOCK: Record<string, { title: string; detail: string; program: Program | null }> = {
  manual: { title: "Locked", detail: "Locked by the user.", program: "app" },
  auto: { title: "Locked automatically", detail: "Locked after a time without activity.", program: "app" },
  suspend: { title: "Locked: computer went to sleep", detail: "Locked as the computer went to sleep.", program: "app" },
  screen_lock: { title: "Locked: screen locked", detail: "Locked as the screen was locked.", program: "app" },
  quit: { title: "Locked: app closed", detail: "Locked as the app was closed.", program: "app" },
  process_end: {
    title: "Command line finished",
    detail: "A coffer command ended and forgot its keys; the app is not affected.",
    program: "cli",
  },
};

/** The folder a vault path lies in at the top ("Scans/letter.txt" → "Scans"), or null. */
export function topFolder(name: string | null): string | null {
  if (!name) return null;
  const i = name.indexOf("/");
  return i > 0 ? name.slice(0, i) : null;
}

function filesOf(recs: Rec[]): string[] {
  const out: string[] = [];
  for (const r of recs) for (const row of r.rows) if (row.fileName) out.push(row.fileName);
  return out;
}

/** How many files a file_added record names (one row per file). */
function addedCount(r: Rec): number {
  return r.rows.filter((x) => x.fileId != null || x.fileName != null).length || r.rows.length;
}

function toRecords(rows: AuditRow[]): Rec[] {
  const out: Rec[] = [];
  for (const row of rows) {
    const last = out[out.length - 1];
    if (last && last.seq === row.seq) {
      last.rows.push(row);
      continue;
    }
    const ms = Date.parse(row.time);
    out.push({ seq: row.seq, action: row.action, rows: [row], facts: row.facts ?? {}, ms: Number.isFinite(ms) ? ms : 0 });
  }
  return out;
}

function base(r: Rec, over: Partial<TimelineEvent>): TimelineEvent {
  const first = r.rows[0]!;
  return {
    seq: r.seq,
    seqs: [r.seq],
    time: first.time,
    user: first.user,
    host: first.host ?? "",
    device: first.device,
    title: first.label,
    detail: first.detail,
    program: null,
    files: filesOf([r]),
    category: "other",
    warn: false,
    rows: r.rows.slice(),
    ...over,
  };
}

function absorb(e: TimelineEvent, r: Rec): void {
  e.seqs.push(r.seq);
  e.rows.push(...r.rows);
  e.files.push(...filesOf([r]));
}

/**
 * A protect, or plaintext found by the watcher, with what followed it on
 * the same computer within FOLD_SECONDS of the last step: the plaintext
 * found and the files encrypted from that folder. Returns the event and
 * the indexes it took.
 */
function foldProtection(recs: Rec[], i: number): { event: TimelineEvent; taken: number[] } {
  const start = recs[i]!;
  // The watcher can see the folder's files (and log them) a moment before
  // the protect's own record: a protect within the window joins the event.
  let protect: Rec | null = start.action === "protect" ? start : null;
  let found = protect ? 0 : (num(start.facts.count) ?? 0);
  let added = 0;
  let folder: string | null = null;
  const programs = new Set<Program>();
  const taken = [i];
  const steps: Rec[] = [start];
  let lastMs = start.ms;
  for (let j = i + 1; j < recs.length; j++) {
    const r = recs[j]!;
    if (r.ms - lastMs > FOLD_SECONDS * 1000) break;
    if (r.rows[0]!.device !== start.rows[0]!.device) continue;
    if (r.action === "unprotect") break;
    if (r.action === "protect") {
      if (protect) break;
      protect = r;
    } else if (r.action === "plaintext_found") {
      found += num(r.facts.count) ?? 0;
    } else if (r.action === "file_added") {
      const folders = new Set(r.rows.map((x) => topFolder(x.fileName)));
      const f = folders.size === 1 ? [...folders][0]! : null;
      // Files from another folder (or unnamed) are another event.
      if (!f || (folder && f !== folder)) continue;
      // Without plaintext to account for, only the protect's own encryption
      // joins it (by the app or command that protected, right away).
      if (!protect && added >= found) break;
      folder = f;
      added += addedCount(r);
      const p = programOf(r.facts.by);
      if (p) programs.add(p);
    } else continue;
    taken.push(j);
    steps.push(r);
    lastMs = r.ms;
  }
  // A file saved again seconds later (a new version) is still one file.
  const distinct = new Set(filesOf(steps.filter((x) => x.action === "file_added"))).size;
  if (distinct > 0) added = Math.min(added, Math.max(distinct, found));
  const missing = Math.max(0, found - added);
  const warn = missing > 0;
  const who = programs.has("watcher") ? "the folder watcher" : null;
  let title: string;
  let detail: string;
  const isProtect = protect != null;
  if (isProtect) {
    title = folder ? `Folder protected: ${folder}` : "Folder protected";
    detail = added > 0 ? `${plural(added, "file", "files")} in it encrypted into the vault; new files are encrypted as they arrive.` : "New files put in it are encrypted as they arrive.";
  } else if (!warn) {
    title = folder ? `New files protected: ${folder}` : "New files protected";
    detail = `${plural(added, "file", "files")} put in a protected folder ${added === 1 ? "was" : "were"} encrypted${who ? ` by ${who}` : ""}.`;
  } else {
    title = "Unencrypted files found";
    detail = `${plural(found, "file", "files")} found unencrypted in a protected folder${added > 0 ? `; ${added} encrypted so far` : ""}. Home shows what is still waiting.`;
  }
  if (warn && isProtect) detail += ` ${plural(missing, "file", "files")} found in it ${missing === 1 ? "is" : "are"} not encrypted yet: Home shows what is waiting.`;
  const event = base(start, {
    title,
    detail,
    category: "added",
    warn,
    program: isProtect ? (programOf(steps.find((s) => s.action === "file_added")?.facts.by) ?? null) : programs.has("watcher") ? "watcher" : null,
  });
  for (const s of steps.slice(1)) absorb(event, s);
  return { event, taken };
}

function single(r: Rec): TimelineEvent {
  const f = r.facts;
  const row = r.rows[0]!;
  const n = r.rows.length;
  switch (r.action) {
    case "unlock":
      return base(r, { title: "Unlocked", detail: `Unlocked ${METHOD[str(f.method) ?? ""] ?? "the vault"}.`, category: "access" });
    case "unlock_failed":
      return base(r, {
        title: "Unlock failed",
        detail: `A wrong ${SLOT[str(f.method) ?? ""] ?? "passphrase or key"} was entered.`,
        category: "access",
        warn: true,
      });
    case "recovery":
      return base(r, { title: "Unlocked with the recovery key", detail: `Unlocked ${METHOD[str(f.method) ?? ""] ?? "with the recovery key"}, and a new passphrase was set.`, category: "access" });
    case "lock": {
      const l = LOCK[str(f.reason) ?? ""];
      return base(r, l ? { title: l.title, detail: l.detail, program: l.program, category: "access" } : { title: "Locked", detail: row.detail, category: "access" });
    }
    case "file_added": {
      const p = programOf(f.by);
      return base(r, {
        title: n === 1 ? "File added" : `${plural(n, "file", "files")} added`,
        detail: p ? `Encrypted into the vault by ${PROGRAM_LABEL[p]}.` : "Encrypted into the vault.",
        program: p,
        category: "added",
      });
    }
    case "file_opened":
      return base(r, { title: "File opened", detail: "Decrypted into the private working area to view or edit.", category: "opened" });
    case "file_extracted":
      return base(r, { title: "Copy saved outside the vault", detail: "Decrypted to a folder outside Coffer: that copy is not protected.", category: "opened" });
    case "file_removed":
      return base(r, { title: n === 1 ? "File removed" : `${plural(n, "file", "files")} removed`, detail: "Removed from the vault with every version.", category: "removed" });
    case "unprotect":
      return base(r, { title: "Folder no longer protected", detail: "Files already in the vault stay there.", category: "removed" });
    case "rotation_started":
      return base(r, {
        title: "Key rotation started",
        detail:
          str(f.kind) === "reencrypt"
            ? `Every file to be re-encrypted under key version ${num(f.key_version) ?? "?"}.`
            : str(f.kind) === "rekey"
              ? `Vault keys and every way to unlock replaced; file keys to be rewrapped under key version ${num(f.key_version) ?? "?"}.`
              : `File keys to be rewrapped under key version ${num(f.key_version) ?? "?"}.`,
        category: "keys",
      });
    case "rotation_finished": {
      const destroyed = Array.isArray(f.destroyed_versions) ? (f.destroyed_versions as unknown[]).filter((x) => typeof x === "number") : [];
      return base(r, {
        title: "Vault key rotated",
        detail: `Now key version ${num(f.key_version) ?? "?"}${num(f.files) != null ? `, ${plural(num(f.files)!, "file", "files")}` : ""}${destroyed.length ? `; old key version ${destroyed.join(", ")} destroyed` : ""}.`,
        category: "keys",
      });
    }
    case "slot_added":
      return base(r, { title: `Way to unlock added: ${SLOT[str(f.kind) ?? ""] ?? "unknown"}`, detail: "It can unlock the vault from now on.", category: "keys" });
    case "slot_removed":
      return base(r, { title: `Way to unlock removed: ${SLOT[str(f.kind) ?? ""] ?? "unknown"}`, detail: "It no longer unlocks the vault.", category: "keys" });
    case "integrity_failure": {
      // The vault as a whole (docs/FORMAT.md §17) names what was done to it.
      const p = VAULT_PROBLEM[str(f.problem) ?? ""];
      if (p) return base(r, { title: p.title, detail: `${p.detail} Tell IT; “Run a check” in Settings lists what is affected.`, category: "other", warn: true });
      return base(r, { title: n === 1 ? "Damaged file found" : `${plural(n, "damaged file", "damaged files")} found`, detail: "It failed its integrity check. Restore it from a backup, or ask IT.", category: "other", warn: true });
    }
    case "integrity_accepted":
      return base(r, { title: "Vault accepted as it is", detail: "Someone who unlocked the vault looked at what a check found and accepted it.", category: "other", warn: true });
    case "manifest_updated":
      return base(r, { title: "Vault contents recorded", detail: "Coffer recorded what the vault holds, so changes made behind its back are noticed.", category: "internal" });
    case "audit_key":
      return base(r, { title: "Activity log signing key set up", detail: "This computer's activity records are signed from now on.", category: "internal" });
    case "objects_quarantined":
      return base(r, { title: "Damaged files set aside", detail: `${plural(n, "damaged file", "damaged files")} moved to the vault's quarantine folder.`, category: "other", warn: true });
    case "audit_export":
      return base(r, { title: "Access report exported", detail: `${(str(f.format) ?? "").toUpperCase() || "A report"} with ${plural(num(f.records) ?? 0, "record", "records")}.`, category: "other" });
    case "policy_applied":
      return base(r, { title: "Organisation policy applied", detail: str(f.source) ? `From ${f.source as string}.` : row.detail, category: "other" });
    case "vault_created":
      return base(r, { title: "Vault created", detail: "The vault and its recovery key were made.", category: "other" });
    case "log_repaired":
      return base(r, { title: "Log repaired after a crash", detail: row.detail ? `${row.detail}.` : "A line torn by a crash was set aside.", category: "other", warn: true });
    case "status":
      return base(r, { title: "Status snapshot", detail: row.detail, category: "internal" });
    default:
      return base(r, { category: "other" });
  }
}

/**
 * Which program unlocked: a lock is paired with the most recent unpaired
 * unlock on the same computer (a command run inside an app session nests
 * in it); with session ids in the records they pair exactly. The unlock
 * then takes the lock's program. Events between carry it too when they
 * name none.
 */
function assignPrograms(events: TimelineEvent[]): void {
  const open = new Map<string, TimelineEvent[]>();
  const bySession = new Map<string, TimelineEvent>();
  for (const e of events) {
    const kind = e.rows[0]!.action;
    const session = str(e.rows[0]!.facts?.session);
    const stack = open.get(e.device) ?? [];
    open.set(e.device, stack);
    if (kind === "unlock" || kind === "recovery") {
      stack.push(e);
      if (session) bySession.set(session, e);
    } else if (kind === "lock") {
      const u = session ? bySession.get(session) : stack[stack.length - 1];
      if (u) {
        const k = stack.indexOf(u);
        if (k >= 0) stack.splice(k, 1);
        if (!u.program && e.program) u.program = e.program;
      }
    } else if (!e.program && stack.length && (kind === "file_opened" || kind === "file_extracted" || kind === "file_removed")) {
      // Filled in below once the enclosing unlock's program is known.
      (e as TimelineEvent & { within?: TimelineEvent }).within = stack[stack.length - 1];
    }
  }
  for (const e of events) {
    const w = (e as TimelineEvent & { within?: TimelineEvent }).within;
    if (w && !e.program) e.program = w.program;
    delete (e as TimelineEvent & { within?: TimelineEvent }).within;
  }
}

/** The events of `rows` (the log's order, oldest first), oldest first. */
export function buildTimeline(rows: AuditRow[]): TimelineEvent[] {
  const recs = toRecords(rows);
  const taken = new Set<number>();
  const out: TimelineEvent[] = [];
  for (let i = 0; i < recs.length; i++) {
    if (taken.has(i)) continue;
    const r = recs[i]!;
    if (r.action === "protect" || r.action === "plaintext_found") {
      const f = foldProtection(recs, i);
      for (const t of f.taken) taken.add(t);
      out.push(f.event);
    } else {
      out.push(single(r));
    }
  }
  assignPrograms(out);
  return out;
}

export type TimelineFilter = { category: string; showInternal: boolean };

/** The events an auditor asked for: a category ("warnings" = every warning), status records only on request. */
export function filterTimeline(events: TimelineEvent[], f: TimelineFilter): TimelineEvent[] {
  return events.filter((e) => {
    if (e.category === "internal" && !f.showInternal) return false;
    if (!f.category) return true;
    if (f.category === "warnings") return e.warn;
    return e.category === f.category;
  });
}

/** Events per local calendar day ("YYYY-MM-DD"), for the chart. */
export function eventsPerDay(events: TimelineEvent[], timeZone?: string): { day: string; count: number }[] {
  // From the parts, not a locale's layout: WebKitGTK formats "en-CA" as
  // M/D/YYYY, which read as no day at all.
  const fmt = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  const m = new Map<string, number>();
  for (const e of events) {
    const ms = Date.parse(e.time);
    if (!Number.isFinite(ms)) continue;
    const p = Object.fromEntries(fmt.formatToParts(ms).map((x) => [x.type, x.value]));
    const d = `${p.year}-${p.month}-${p.day}`;
    m.set(d, (m.get(d) ?? 0) + 1);
  }
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, count]) => ({ day, count }));
}

/** "alice on clinic-laptop": the account and the computer as people know them. */
export function whoText(e: Pick<TimelineEvent, "user" | "host" | "device">): string {
  const computer = e.host || e.device;
  return computer ? `${e.user} on ${computer}` : e.user;
}
