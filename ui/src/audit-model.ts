// The Activity screen's pure parts: filters to an AuditQuery, and the
// per-day counts laid out as chart bars (gaps filled, long periods in weeks).

import type { AuditQuery } from "./ipc";

/**
 * `category` (what an auditor asks about: unlocks, file opens, ...) is
 * applied to the events on screen; the rest goes to the backend query.
 */
export type AuditFilters = { from: string; to: string; action: string; user: string; file: string; category: string };

export const NO_FILTERS: AuditFilters = { from: "", to: "", action: "", user: "", file: "", category: "" };

/** The period choices; "custom" shows two date fields filled with real dates. */
export const PERIODS: { value: string; label: string }[] = [
  { value: "", label: "All time" },
  { value: "today", label: "Today" },
  { value: "7d", label: "Last 7 days" },
  { value: "30d", label: "Last 30 days" },
  { value: "year", label: "This year" },
  { value: "custom", label: "Choose dates…" },
];

function ymd(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** A period choice as local YYYY-MM-DD days (both included); "" for all time. */
export function periodRange(period: string, now: Date): { from: string; to: string } {
  const today = ymd(now);
  const back = (days: number) => ymd(new Date(now.getFullYear(), now.getMonth(), now.getDate() - days));
  switch (period) {
    case "today":
      return { from: today, to: today };
    case "7d":
      return { from: back(6), to: today };
    case "30d":
    case "custom":
      return { from: back(29), to: today };
    case "year":
      return { from: `${now.getFullYear()}-01-01`, to: today };
    default:
      return { from: "", to: "" };
  }
}

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Local midnight of a YYYY-MM-DD day as RFC 3339 (UTC), or null if not a day. */
export function dayStart(day: string, addDays = 0): string | null {
  const m = DAY_RE.exec(day);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + addDays);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/**
 * The query for the filters: empty ones are left out, the "to" day is
 * included (the query's `to` is exclusive, so it is the next midnight).
 */
export function filtersToQuery(f: AuditFilters): AuditQuery {
  const q: AuditQuery = {};
  const from = f.from ? dayStart(f.from) : null;
  const to = f.to ? dayStart(f.to, 1) : null;
  if (from) q.from = from;
  if (to) q.to = to;
  if (f.action) q.action = f.action;
  if (f.user) q.user = f.user;
  const file = f.file.trim();
  if (file) q.file = file;
  return q;
}

export function hasFilters(f: AuditFilters): boolean {
  return !!(f.from || f.to || f.action || f.user || f.file.trim() || f.category);
}

/** What is wrong with the period, if anything: its end before its start. */
export function periodError(f: AuditFilters): string | null {
  if (f.from && f.to && f.to < f.from) return "The end of the period is before its start.";
  return null;
}

export type Bar = { day: string; label: string; count: number; week: boolean };

function utcDay(day: string): number {
  const m = DAY_RE.exec(day);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** "14 Mar" for a YYYY-MM-DD day. */
export function dayLabel(day: string, locale = "en-GB"): string {
  const ms = utcDay(day);
  if (Number.isNaN(ms)) return day;
  return new Intl.DateTimeFormat(locale, { timeZone: "UTC", day: "numeric", month: "short" }).format(ms);
}

/**
 * Bars for the chart: one per day from the first to the last day (or the
 * filter's period when set), days without records as zero. Longer than
 * `maxBars` days, the days are summed into weeks starting on Monday.
 */
export function chartBars(perDay: { day: string; count: number }[], period: { from?: string; to?: string } = {}, maxBars = 62): Bar[] {
  const counts = new Map<string, number>();
  for (const p of perDay) if (DAY_RE.test(p.day)) counts.set(p.day, (counts.get(p.day) ?? 0) + p.count);
  const days = [...counts.keys()].sort();
  const first = period.from && DAY_RE.test(period.from) ? period.from : days[0];
  const last = period.to && DAY_RE.test(period.to) ? period.to : days[days.length - 1];
  if (!first || !last) return [];
  const start = utcDay(first);
  const end = utcDay(last);
  if (end < start) return [];
  const span = Math.round((end - start) / 86_400_000) + 1;
  if (span <= maxBars) {
    const out: Bar[] = [];
    for (let t = start; t <= end; t += 86_400_000) {
      const d = isoDay(t);
      out.push({ day: d, label: dayLabel(d), count: counts.get(d) ?? 0, week: false });
    }
    return out;
  }
  // Weeks: Monday-based buckets covering the span.
  const dow = (new Date(start).getUTCDay() + 6) % 7;
  const out: Bar[] = [];
  for (let w = start - dow * 86_400_000; w <= end; w += 7 * 86_400_000) {
    let n = 0;
    for (let i = 0; i < 7; i++) n += counts.get(isoDay(w + i * 86_400_000)) ?? 0;
    const d = isoDay(w);
    out.push({ day: d, label: dayLabel(d), count: n, week: true });
  }
  return out;
}

/** A nice maximum for the chart's scale: 1, 2, 5 × 10ⁿ at or above the largest bar. */
export function niceMax(n: number): number {
  if (n <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}
