// What the Keys screen says about the vault key: its schedule, the ways to
// unlock, how long a rotation will take, what each response to a leaked
// secret protects, and the check of a new passphrase. Pure functions,
// clocks passed in.

import { formatDuration, formatFileDate, nsToMs, plural } from "./format";
import type { KeyInfo, RotationDepth, SlotKind } from "./ipc";
import { MIN_LENGTH } from "./strength";

/** Re-encryption speed used for estimates (a laptop SSD, AES-GCM): ~150 MB/s. */
export const REENCRYPT_BYTES_PER_SEC = 150 * 1024 * 1024;
/** A rewrap touches only the small key records: ~2,000 files a second. */
export const REWRAP_FILES_PER_SEC = 2000;

/** How long a rotation of this depth is likely to take, in milliseconds. */
export function estimateRotationMs(depth: RotationDepth, files: number, bytes: number): number {
  const f = Math.max(0, files);
  // A rekey moves every file's key like a rewrap; the files stay as they are.
  if (depth !== "reencrypt") return (f / REWRAP_FILES_PER_SEC) * 1000;
  // Re-encryption reads and writes every byte.
  return (Math.max(0, bytes) / REENCRYPT_BYTES_PER_SEC) * 1000;
}

/** "about 6 minutes" for the warning text. */
export function estimateText(depth: RotationDepth, files: number, bytes: number): string {
  return formatDuration(estimateRotationMs(depth, files, bytes));
}

export type Schedule = { text: string; tone: "ok" | "due" | "none" };

/** The next scheduled rotation, from the policy's period. */
export function scheduleText(k: Pick<KeyInfo, "rotationDueNs" | "rotationPeriodDays">, now: number): Schedule {
  if (k.rotationDueNs == null || k.rotationPeriodDays == null) return { text: "Not scheduled — your organisation sets no period", tone: "none" };
  const dueMs = nsToMs(k.rotationDueNs);
  const days = Math.round((dueMs - now) / 86_400_000);
  const when = formatFileDate(k.rotationDueNs, { now });
  if (dueMs <= now) return { text: `Due now (every ${plural(k.rotationPeriodDays, "day", "days")})`, tone: "due" };
  if (days <= 1) return { text: `Tomorrow (every ${plural(k.rotationPeriodDays, "day", "days")})`, tone: "ok" };
  return { text: `In ${plural(days, "day", "days")}, ${when.replace(/,.*$/, "")}`, tone: "ok" };
}

/** "64 days old", "less than a day old". */
export function ageText(days: number): string {
  if (days <= 0) return "less than a day old";
  return `${plural(days, "day", "days")} old`;
}

export const SLOT_TEXT: Record<SlotKind, { name: string; about: string; icon: string }> = {
  passphrase: { name: "Passphrase", about: "What you type to unlock.", icon: "key" },
  keychain: { name: "Computer login", about: "Unlocks while you are signed in to this computer.", icon: "user" },
  recovery: { name: "Recovery key", about: "The key on paper, if you forget your passphrase.", icon: "shield" },
  escrow: { name: "Organisation escrow", about: "Lets IT recover the vault with the organisation's key.", icon: "building" },
};

/** The order methods are listed in, whether or not they are enrolled. */
export const SLOT_ORDER: SlotKind[] = ["passphrase", "keychain", "recovery", "escrow"];

/**
 * What each response protects, in plain words (the Keys screen says them
 * beside each action). An old copy of the vault's settings (a backup, a
 * synced folder's history) still opens with the credentials it accepted
 * unless the vault's keys themselves are replaced.
 */
export const PROTECTS = {
  passphrase: "The old passphrase stops working with this copy of the vault, but not with older copies (backups).",
  rewrap: "Scheduled hygiene, not a revocation: a passphrase or recovery key someone may know still opens older copies of the vault's settings.",
  rekey:
    "A new passphrase, a new recovery key and new vault keys. Old copies of the vault's settings (backups, synced history) no longer open anything added from now on.",
  reencrypt: "Every file is encrypted again under new keys: nothing old opens anything, not even a copy of the vault taken before.",
} as const;

/** What the exposed-credential and compromise responses say once they finish. */
export const RESPONSE_DONE: Record<"rekey" | "reencrypt", string> = {
  rekey:
    "Old copies of the vault's settings (backups, synced history) no longer open anything added from now on. Files already in the vault keep their file keys: if their contents may have been copied too, re-encrypt everything.",
  reencrypt: "Every file is re-encrypted under new keys: no old copy of the vault's settings or files, and no old credential, opens anything in the vault now.",
};

export type NewPassphraseProblem = { field: "next" | "again"; message: string };

/**
 * The new passphrase a response to a leaked secret enrols, checked before
 * anything is sent: long and strong enough, typed twice the same, and not
 * the one in use (which may be known) — unless the person keeps it.
 */
export function checkNewPassphrase(o: { current: string; next: string; again: string; keep: boolean; strong: boolean }): NewPassphraseProblem | null {
  if (o.keep) return null;
  if ([...o.next].length < MIN_LENGTH || !o.strong) {
    return { field: "next", message: `Choose a passphrase of at least ${MIN_LENGTH} characters that is hard to guess.` };
  }
  if (o.again !== o.next) return { field: "again", message: "The two passphrases don't match." };
  if (o.next === o.current) {
    return { field: "next", message: "That's the passphrase in use now, which someone may know. Choose a new one — or tick “keep my passphrase” if only your recovery key was exposed." };
  }
  return null;
}
