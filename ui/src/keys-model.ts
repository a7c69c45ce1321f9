// What the Keys screen says about the vault key: its schedule, the ways to
// unlock, and how long a rotation will take. Pure functions, clocks passed in.

import { formatDuration, formatFileDate, nsToMs, plural } from "./format";
import type { KeyInfo, RotationDepth, SlotKind } from "./ipc";

/** Re-encryption speed used for estimates (a laptop SSD, AES-GCM): ~150 MB/s. */
export const REENCRYPT_BYTES_PER_SEC = 150 * 1024 * 1024;
/** A rewrap touches only the small key records: ~2,000 files a second. */
export const REWRAP_FILES_PER_SEC = 2000;

/** How long a rotation of this depth is likely to take, in milliseconds. */
export function estimateRotationMs(depth: RotationDepth, files: number, bytes: number): number {
  const f = Math.max(0, files);
  if (depth === "rewrap") return (f / REWRAP_FILES_PER_SEC) * 1000;
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
