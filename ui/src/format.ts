// How sizes, dates and counts read on screen. Pure functions: every clock,
// locale and time zone comes in as a parameter so tests pin them.

const UNITS = ["bytes", "KB", "MB", "GB", "TB", "PB"] as const;

/**
 * File sizes the way Windows Explorer and most file managers show them:
 * 1024-based, one decimal below 10, whole numbers above ("1 byte", "812
 * bytes", "1.5 KB", "23 MB").
 */
export function formatSize(bytes: number, locale = "en-GB"): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  if (bytes < 1024) {
    const n = Math.round(bytes);
    return `${n.toLocaleString(locale)} ${n === 1 ? "byte" : "bytes"}`;
  }
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  // 1023.96 KB would round to "1,024 KB": show it as the next unit instead.
  if (v >= 999.95 && u < UNITS.length - 1 && Math.round(v) >= 1024) {
    v /= 1024;
    u++;
  }
  const digits = v < 10 ? 1 : 0;
  const text = v.toLocaleString(locale, { minimumFractionDigits: 0, maximumFractionDigits: digits });
  return `${text} ${UNITS[u]}`;
}

/** Nanoseconds since the epoch (IPC times) to milliseconds (JS Date). */
export function nsToMs(ns: number): number {
  return Math.floor(ns / 1e6);
}

export type DateOpts = { now: number; locale?: string; timeZone?: string };

function dayKey(ms: number, timeZone: string | undefined): string {
  // YYYY-MM-DD from the parts, a stable key for "which calendar day" (a
  // locale's layout is not: WebKitGTK formats en-CA as M/D/YYYY).
  const p = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(ms).map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day}`;
}

/**
 * A file's date in a list: "Today, 14:32", "Yesterday, 09:10", "12 Mar,
 * 14:32" within the year, "12 Mar 2023" before it.
 */
export function formatFileDate(ns: number, o: DateOpts): string {
  const ms = nsToMs(ns);
  if (!Number.isFinite(ms) || ms <= 0) return "—";
  const locale = o.locale ?? "en-GB";
  const tz = o.timeZone;
  const time = new Intl.DateTimeFormat(locale, { timeZone: tz, hour: "2-digit", minute: "2-digit" }).format(ms);
  const today = dayKey(o.now, tz);
  const yesterday = dayKey(o.now - 86_400_000, tz);
  const d = dayKey(ms, tz);
  if (d === today) return `Today, ${time}`;
  if (d === yesterday) return `Yesterday, ${time}`;
  const sameYear = d.slice(0, 4) === today.slice(0, 4);
  if (sameYear) {
    const day = new Intl.DateTimeFormat(locale, { timeZone: tz, day: "numeric", month: "short" }).format(ms);
    return `${day}, ${time}`;
  }
  return new Intl.DateTimeFormat(locale, { timeZone: tz, day: "numeric", month: "short", year: "numeric" }).format(ms);
}

/** A calendar day: "14 Mar 2025". */
export function formatDay(ns: number, o: { locale?: string; timeZone?: string } = {}): string {
  const ms = nsToMs(ns);
  if (!Number.isFinite(ms) || ms <= 0) return "—";
  return new Intl.DateTimeFormat(o.locale ?? "en-GB", { timeZone: o.timeZone, day: "numeric", month: "short", year: "numeric" }).format(ms);
}

/** A full, unambiguous date and time, for tooltips and screen readers. */
export function formatFullDate(ns: number, o: { locale?: string; timeZone?: string } = {}): string {
  const ms = nsToMs(ns);
  if (!Number.isFinite(ms) || ms <= 0) return "";
  return new Intl.DateTimeFormat(o.locale ?? "en-GB", {
    timeZone: o.timeZone,
    dateStyle: "long",
    timeStyle: "short",
  }).format(ms);
}

/** "just now", "3 minutes ago", "yesterday", "5 days ago", then a date. */
export function formatRelative(ns: number | null, o: DateOpts): string {
  if (ns == null) return "never";
  const ms = nsToMs(ns);
  if (!Number.isFinite(ms) || ms <= 0) return "never";
  const diff = o.now - ms;
  const locale = o.locale ?? "en-GB";
  if (diff < 45_000) return "just now";
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  const min = Math.round(diff / 60_000);
  if (min < 60) return rtf.format(-min, "minute");
  const hours = Math.round(diff / 3_600_000);
  if (hours < 24) return rtf.format(-hours, "hour");
  const days = Math.round(diff / 86_400_000);
  if (days < 7) return rtf.format(-days, "day");
  return formatFileDate(ns, o);
}

/** "1 file", "12,345 files". */
export function plural(n: number, one: string, many: string, locale = "en-GB"): string {
  return `${n.toLocaleString(locale)} ${n === 1 ? one : many}`;
}

/** Minutes as people say them: "1 minute", "30 minutes", "1 hour", "2 hours". */
export function formatMinutes(m: number): string {
  if (m >= 60 && m % 60 === 0) return plural(m / 60, "hour", "hours");
  return plural(m, "minute", "minutes");
}

/** Seconds left in a countdown: "8 seconds", "1 minute 5 seconds". */
export function formatCountdown(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return plural(s, "second", "seconds");
  const m = Math.floor(s / 60);
  const r = s % 60;
  return r === 0 ? plural(m, "minute", "minutes") : `${plural(m, "minute", "minutes")} ${plural(r, "second", "seconds")}`;
}

/** The recovery key in groups, for reading aloud and writing down. */
export function groupRecoveryKey(key: string): string[] {
  const clean = key.replace(/[\s-]/g, "").toUpperCase();
  const groups: string[] = [];
  for (let i = 0; i < clean.length; i += 8) groups.push(clean.slice(i, i + 8));
  return groups;
}

/**
 * A duration as people estimate it: "a few seconds", "about 40 seconds",
 * "about 3 minutes", "about 1 hour 20 minutes". Rounded up, never precise.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "a while";
  const s = Math.ceil(ms / 1000);
  if (s <= 5) return "a few seconds";
  if (s < 55) return `about ${plural(Math.ceil(s / 5) * 5, "second", "seconds")}`;
  const m = Math.max(1, Math.ceil((s - 10) / 60));
  if (m < 60) return `about ${plural(m, "minute", "minutes")}`;
  // Above an hour, to the nearest 10 minutes.
  const tens = Math.ceil(m / 10) * 10;
  const hours = Math.floor(tens / 60);
  const rest = tens % 60;
  return rest === 0 ? `about ${plural(hours, "hour", "hours")}` : `about ${plural(hours, "hour", "hours")} ${plural(rest, "minute", "minutes")}`;
}

/** Time left in a progress bar: "Less than a minute left", "About 3 minutes left". */
export function formatEta(ms: number | null): string {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return "Working out how long it will take…";
  if (ms < 60_000) return "Less than a minute left";
  const d = formatDuration(ms);
  return `${d.charAt(0).toUpperCase()}${d.slice(1)} left`;
}
