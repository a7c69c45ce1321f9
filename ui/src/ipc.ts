// The only door to the Rust side: typed wrappers over the Tauri commands
// and events of docs/IPC.md. Nothing else in the UI imports @tauri-apps.

import { Channel, invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { open as openDialog, save as saveDialog } from "@tauri-apps/plugin-dialog";

// ---------------------------------------------------------------- types

export type WarningCode =
  | "plaintext_found"
  | "plaintext_waiting"
  | "rotation_due"
  | "disk_encryption_off"
  | "policy_not_met"
  | "encrypt_failed";

export type AppState = {
  vaultExists: boolean;
  unlocked: boolean;
  vaultDir: string;
  keychainEnrolled: boolean;
  keychainAllowed: boolean;
  watcher: { running: boolean; folders: number; lastEventNs: number | null; pending: number };
  warnings: { code: WarningCode; message: string }[];
  autoLockMinutes: number;
  /** The idle timeout in force, in seconds (setting under the policy's cap, or a shorter test override). */
  autoLockSeconds?: number;
  about: { version: string; formatVersion: number; cipher: string; kdf: string; keyVersion: number };
};

export type FileRow = {
  id: string;
  path: string;
  size: number;
  mtimeNs: number;
  addedNs: number;
  versions: number;
};

export type Progress = { files: number; totalFiles: number; bytes: number };

export type AddResult = {
  added: number;
  failed: { path: string; message: string }[];
  skipped: number;
};

export type FolderView = {
  path: string;
  name: string;
  files: number;
  lastActivityNs: number | null;
  mandatory: boolean;
};

export type Settings = {
  autoLockMinutes: number;
  keychainUnlock: boolean;
  managed: { autoLockMax: number | null; keychainForbidden: boolean; byPolicy: string | null };
};

export type SlotKind = "passphrase" | "keychain" | "recovery" | "escrow";
/**
 * rewrap: scheduled hygiene, a new vault key (revokes nothing);
 * rekey: someone may know the passphrase or recovery key — new vault keys
 * and every credential; reencrypt: the vault may have been copied too —
 * rekey, and every file re-encrypted.
 */
export type RotationDepth = "rewrap" | "rekey" | "reencrypt";

export type KeyInfo = {
  keyVersion: number;
  keyCreatedNs: number;
  keyAgeDays: number;
  rotationPeriodDays: number | null;
  rotationDueNs: number | null;
  pending: { depth: RotationDepth; startedNs: number; targetVersion: number } | null;
  slots: { kind: SlotKind; requiredByPolicy: boolean; removable: boolean }[];
  files: number;
  bytes: number;
};

export type RotationProgress = {
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
  elapsedMs: number;
  etaMs: number | null;
};

/**
 * A message on a rotation's channel: its progress, or (counts still 0)
 * news of the new credentials, sent the moment they are in force — the
 * new recovery key once, and why the new keychain secret could not be kept.
 */
export type RotationMessage = RotationProgress & { recoveryKey?: string; keychainError?: string };

/** What `rotate_keys` enrols when it replaces every credential (rekey, reencrypt). */
export type NewPassphraseChoice = { newPassphrase: string } | { keepPassphrase: true };

export type RotationResult = {
  depth: RotationDepth;
  resumed: boolean;
  keyVersion: number;
  destroyedVersions: number[];
  files: number;
  bytes: number;
};

/** RFC 3339 times; `to` is exclusive. Empty filters are left out. */
export type AuditQuery = { from?: string; to?: string; action?: string; user?: string; file?: string };

export type AuditRow = {
  seq: number;
  time: string;
  user: string;
  device: string;
  action: string;
  label: string;
  fileId: string | null;
  fileName: string | null;
  detail: string;
  /** The computer's name; `device` is its stable id. */
  host: string;
  /** The record's own fields (method, reason, by, count, session…), without object ids. */
  facts: Record<string, unknown>;
};

export type AuditView = {
  rows: AuditRow[];
  truncated: boolean;
  total: number;
  chain: { ok: boolean; verifiedUpTo: number; brokenAt: number | null; statement: string };
  perDay: { day: string; count: number }[];
  actions: { action: string; label: string }[];
  users: string[];
};

export type ReportFormat = "csv" | "json" | "html" | "pdf";
export type IncidentFormat = "json" | "html" | "pdf";
export type IncidentSummary = { verdict: string; verdictText: string; path: string };

export type Posture = {
  diskEncryption: "on" | "off" | "unknown";
  diskEncryptionRequired: boolean;
  policy: { source: string | null; compliant: boolean; problems: string[] };
  sinks: { name: string; lastShippedSeq: number | null; pending: number; reachable: boolean | null }[];
  auditRecords: number;
};

export type LockReason = "manual" | "auto" | "suspend" | "screen_lock" | "quit";
export type VaultLocked = { reason: LockReason };
export type WatcherEvent = { kind: "encrypted" | "failed" | "warning"; count: number; message?: string };

// ---------------------------------------------------------------- errors

export const ERROR_CODES = [
  "wrong_credential",
  "locked",
  "integrity",
  "not_found",
  "io",
  "in_use",
  "policy",
  "invalid",
  "unsafe_folder",
  "keychain_unavailable",
  "no_app",
  "cancelled",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A rejected command, always in this shape once it reaches UI code. */
export class IpcError extends Error {
  readonly code: ErrorCode;
  /** Technical text for IT, shown only behind "Details" (paths redacted). */
  readonly details: string;
  constructor(code: ErrorCode, message: string, details = "") {
    super(message);
    this.name = "IpcError";
    this.code = code;
    this.details = redactPaths(details);
  }
}

/**
 * Technical text with every path-like word replaced by "[path]": a
 * launcher's or the OS's message can name the working area's plaintext
 * copy, which must not reach the screen or a support ticket.
 */
export function redactPaths(s: string): string {
  return s
    .replace(/(["'`])((?:\/|~\/|[A-Za-z]:[\\/]|\\\\|file:)[^"'`]*)\1/g, "$1[path]$1")
    .replace(/(^|[\s(\[=:])(?:\/|~\/|[A-Za-z]:[\\/]|file:)[^\s"'`)\]]*/g, (_m, pre: string) => `${pre}[path]`);
}

function isCode(c: unknown): c is ErrorCode {
  return typeof c === "string" && (ERROR_CODES as readonly string[]).includes(c);
}

/**
 * Turns whatever a rejected invoke produced into an IpcError. Our commands
 * reject with `{code, message}`; Tauri itself and plugins (e.g. a command
 * missing from the capability) reject with a plain string; a bug in JS can
 * throw an Error. Unknown codes become `internal` and keep their message.
 */
export function toIpcError(e: unknown): IpcError {
  if (e instanceof IpcError) return e;
  if (e && typeof e === "object" && !(e instanceof Error)) {
    const o = e as { code?: unknown; message?: unknown; details?: unknown };
    const message = typeof o.message === "string" ? o.message : "";
    const details = typeof o.details === "string" ? o.details : "";
    if (isCode(o.code)) return new IpcError(o.code, message, details);
    // Not one of ours: its text is technical, for "Details" only.
    return new IpcError("internal", "", [typeof o.code === "string" ? o.code : "", message].filter(Boolean).join(": "));
  }
  // Tauri and plugins reject with bare strings ("Launcher … failed with
  // ExitStatus(…)"), a UI bug throws an Error: technical, for "Details".
  if (typeof e === "string") return new IpcError("internal", "", e);
  if (e instanceof Error) return new IpcError("internal", "", e.message);
  return new IpcError("internal", "");
}

/** title: what happened; detail: a sentence saying what to do; technical: for "Details" ("" if none). */
export type ErrorText = { title: string; detail: string; technical: string };

/**
 * What to tell people for an error: a short title per code, and a plain
 * sentence saying what to do — the backend's message where it wrote one
 * for people (it never holds a secret, a file name or a path), else ours.
 * Anything technical goes to `technical`, shown only behind "Details".
 */
export function describeError(err: IpcError): ErrorText {
  const t = describeCode(err);
  return { ...t, technical: err.details };
}

function describeCode(err: IpcError): Omit<ErrorText, "technical"> {
  // A backend message that still looks technical (a path, a Rust debug
  // print) is never shown as the sentence.
  const raw = err.message.trim();
  const d = raw && !looksTechnical(raw) ? asSentence(raw) : "";
  switch (err.code) {
    case "wrong_credential":
      return { title: "Wrong passphrase", detail: "Check that Caps Lock is off and try again." };
    case "locked":
      return { title: "The vault is locked", detail: "Unlock it to continue." };
    case "integrity":
      return {
        title: "Some vault data failed its integrity check",
        detail: d || "The data may be damaged or changed outside Coffer. Run a check from Settings, or tell IT.",
      };
    case "not_found":
      return { title: "Not found", detail: d || "It may have been moved or removed meanwhile. Refresh the list and try again." };
    case "io":
      return { title: "Couldn't read or write a file", detail: d || "Check free disk space and permissions." };
    case "in_use":
      return { title: "Coffer is busy", detail: "Another Coffer task is writing to the vault. Try again in a moment." };
    case "policy":
      return { title: "Not allowed by your organisation", detail: d || "Your organisation's policy doesn't allow this. Ask IT if you need it." };
    case "invalid":
      return { title: "That didn't work", detail: d || "Check what you entered and try again." };
    case "unsafe_folder":
      return {
        title: "Coffer can't protect this folder",
        detail: d || "It holds Coffer's own files. Choose a folder that holds only documents.",
      };
    case "keychain_unavailable":
      return {
        title: "Computer login unlock isn't available",
        detail: "This computer has no usable keychain. Use your passphrase.",
      };
    case "no_app":
      return {
        title: "No app can open this file",
        detail: d || "No app on this computer opens this kind of file. Install one that does, or ask IT; the file stays safe in the vault meanwhile.",
      };
    case "cancelled":
      return { title: "Stopped", detail: d || "It continues next time." };
    case "internal":
    default:
      return { title: "Something went wrong", detail: d || "Try again. If it keeps happening, tell IT and show them the details." };
  }
}

/** A message as a sentence: a capital first letter and a full stop (the core writes some as clauses). */
export function asSentence(s: string): string {
  const t = s.trim();
  if (!t) return t;
  const c = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(c) ? c : `${c}.`;
}

/** Text meant for developers, not people: paths, debug prints, stack-ish words. */
export function looksTechnical(s: string): boolean {
  return /(^|[\s"'(])(\/|~\/|[A-Za-z]:\\)|\[path\]|ExitStatus|unix_wait_status|\bos error\b|\berrno\b|::|Error\s*\{|panicked|\bat line\b/i.test(s);
}

// ---------------------------------------------------------------- commands

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    const err = toIpcError(e);
    for (const h of errorHooks) h(err);
    throw err;
  }
}

const errorHooks = new Set<(e: IpcError) => void>();
/** Every failed command passes through here first (e.g. `locked` → unlock screen). */
export function onAnyError(h: (e: IpcError) => void): () => void {
  errorHooks.add(h);
  return () => errorHooks.delete(h);
}

function progressChannel<P = Progress>(onProgress: (p: P) => void): Channel<P> {
  const ch = new Channel<P>();
  ch.onmessage = onProgress;
  return ch;
}

export const api = {
  appState: () => call<AppState>("app_state"),
  createVault: (passphrase: string, withKeychain: boolean) =>
    call<{ recoveryKey: string; keychainError?: string }>("create_vault", { passphrase, withKeychain }),
  unlock: (passphrase: string) => call<null>("unlock", { passphrase }),
  unlockWithKeychain: () => call<null>("unlock_with_keychain"),
  recover: (recoveryKey: string, newPassphrase: string) =>
    call<null>("recover", { recoveryKey, newPassphrase }),
  lock: () => call<null>("lock"),
  touchActivity: () => call<null>("touch_activity"),
  listFiles: () => call<FileRow[]>("list_files"),
  addPaths: (paths: string[], onProgress: (p: Progress) => void) =>
    call<AddResult>("add_paths", { paths, onProgress: progressChannel(onProgress) }),
  openFile: (id: string) => call<null>("open_file", { id }),
  extractFile: (id: string, destDir: string) => call<string>("extract_file", { id, destDir }),
  removeFile: (path: string) => call<number>("remove_file", { path }),
  protectedFolders: () => call<FolderView[]>("protected_folders"),
  previewProtect: (path: string) => call<{ files: number; bytes: number }>("preview_protect", { path }),
  protectFolder: (path: string, onProgress: (p: Progress) => void) =>
    call<AddResult>("protect_folder", { path, onProgress: progressChannel(onProgress) }),
  unprotectFolder: (path: string) => call<null>("unprotect_folder", { path }),
  getSettings: () => call<Settings>("get_settings"),
  setAutoLock: (minutes: number) => call<Settings>("set_auto_lock", { minutes }),
  setKeychainUnlock: (enabled: boolean, passphrase: string) =>
    call<Settings>("set_keychain_unlock", { enabled, passphrase }),
  regenerateRecoveryKey: (passphrase: string) =>
    call<{ recoveryKey: string }>("regenerate_recovery_key", { passphrase }),
  keyInfo: () => call<KeyInfo>("key_info"),
  changePassphrase: (passphrase: string, newPassphrase: string) =>
    call<null>("change_passphrase", { passphrase, newPassphrase }),
  enrolEscrow: (passphrase: string, publicKeyPath: string) =>
    call<KeyInfo>("enrol_escrow", { passphrase, publicKeyPath }),
  removeSlot: (kind: Exclude<SlotKind, "passphrase">, passphrase: string) =>
    call<KeyInfo>("remove_slot", { kind, passphrase }),
  rotateKeys: (passphrase: string, depth: RotationDepth, onProgress: (p: RotationMessage) => void, choice?: NewPassphraseChoice) =>
    call<RotationResult>("rotate_keys", { passphrase, depth, ...(choice ?? {}), onProgress: progressChannel(onProgress) }),
  resumeRotation: (onProgress: (p: RotationMessage) => void) =>
    call<RotationResult>("resume_rotation", { onProgress: progressChannel(onProgress) }),
  cancelRotation: () => call<null>("cancel_rotation"),
  auditEvents: (query: AuditQuery) => call<AuditView>("audit_events", { query }),
  exportAccessReport: (query: AuditQuery, format: ReportFormat, dest: string) =>
    call<string>("export_access_report", { query, format, dest }),
  exportIncidentReport: (lostAt: string, format: IncidentFormat, dest: string) =>
    call<IncidentSummary>("export_incident_report", { lostAt, format, dest }),
  openReport: (path: string) => call<null>("open_report", { path }),
  posture: () => call<Posture>("posture"),
};

// ---------------------------------------------------------------- pickers

/** Asks for one or more files; null if cancelled. */
export async function pickFiles(title: string): Promise<string[] | null> {
  try {
    const r = await openDialog({ title, multiple: true, directory: false });
    if (r == null) return null;
    return Array.isArray(r) ? r : [r];
  } catch (e) {
    throw toIpcError(e);
  }
}

/** Asks for one folder; null if cancelled. */
export async function pickFolder(title: string): Promise<string | null> {
  try {
    const r = await openDialog({ title, multiple: false, directory: true });
    if (r == null) return null;
    return Array.isArray(r) ? (r[0] ?? null) : r;
  } catch (e) {
    throw toIpcError(e);
  }
}

/** Asks for one existing file; null if cancelled. */
export async function pickFile(title: string): Promise<string | null> {
  try {
    const r = await openDialog({ title, multiple: false, directory: false });
    if (r == null) return null;
    return Array.isArray(r) ? (r[0] ?? null) : r;
  } catch (e) {
    throw toIpcError(e);
  }
}

/** Asks where to save a new file; null if cancelled. */
export async function pickSavePath(title: string, defaultPath: string, filter: { name: string; extensions: string[] }): Promise<string | null> {
  try {
    return (await saveDialog({ title, defaultPath, filters: [filter] })) ?? null;
  } catch (e) {
    throw toIpcError(e);
  }
}

// ---------------------------------------------------------------- events

export type Events = {
  "vault-locked": VaultLocked;
  "files-changed": null;
  "rotation-pending": null;
  "watcher-event": WatcherEvent;
};

export function on<K extends keyof Events>(event: K, handler: (payload: Events[K]) => void): Promise<UnlistenFn> {
  return listen<Events[K]>(event, (e) => handler(e.payload));
}

/** True when running inside Tauri (or a test that mocks it). */
export function hasTauri(): boolean {
  return typeof window !== "undefined" && typeof (window as { __TAURI_INTERNALS__?: unknown }).__TAURI_INTERNALS__ === "object";
}

export type DropEvent =
  | { type: "enter"; paths: string[] }
  | { type: "over" }
  | { type: "drop"; paths: string[] }
  | { type: "leave" };

/**
 * Native drag and drop (Tauri gives real paths). Resolves to null outside
 * Tauri, where the caller falls back to HTML5 drop events.
 */
export async function onNativeDrop(handler: (e: DropEvent) => void): Promise<UnlistenFn | null> {
  const meta = (window as { __TAURI_INTERNALS__?: { metadata?: { currentWebview?: unknown } } }).__TAURI_INTERNALS__
    ?.metadata?.currentWebview;
  if (!meta) return null;
  try {
    return await getCurrentWebview().onDragDropEvent((e) => {
      const p = e.payload;
      if (p.type === "enter") handler({ type: "enter", paths: p.paths });
      else if (p.type === "drop") handler({ type: "drop", paths: p.paths });
      else if (p.type === "over") handler({ type: "over" });
      else handler({ type: "leave" });
    });
  } catch {
    return null;
  }
}
