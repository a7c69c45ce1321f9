import { describe, expect, test } from "vitest";
import { formatCountdown, formatFileDate, formatFullDate, formatMinutes, formatRelative, formatSize, groupRecoveryKey, nsToMs, plural } from "../../src/format";

const ns = (iso: string) => Date.parse(iso) * 1e6;
const NOW = Date.parse("2025-03-14T15:00:00Z");
const o = { now: NOW, timeZone: "UTC", locale: "en-GB" };

describe("formatSize", () => {
  test.each([
    [0, "0 bytes"],
    [1, "1 byte"],
    [812, "812 bytes"],
    [1023, "1,023 bytes"],
    [1024, "1 KB"],
    [1536, "1.5 KB"],
    [10 * 1024 - 1, "10 KB"],
    [482_113, "471 KB"],
    [1024 * 1024 - 1, "1 MB"],
    [3_250_000, "3.1 MB"],
    [5 * 1024 ** 3, "5 GB"],
    [1.5 * 1024 ** 4, "1.5 TB"],
  ])("%d → %s", (n, s) => expect(formatSize(n)).toBe(s));

  test("nonsense is a dash, never NaN", () => {
    expect(formatSize(-1)).toBe("—");
    expect(formatSize(Number.NaN)).toBe("—");
  });
});

describe("dates", () => {
  test("ns to ms keeps millisecond precision for realistic times", () => {
    expect(nsToMs(ns("2025-03-14T10:30:00.123Z"))).toBe(Date.parse("2025-03-14T10:30:00.123Z"));
  });

  test("today, yesterday, this year, earlier", () => {
    expect(formatFileDate(ns("2025-03-14T09:05:00Z"), o)).toBe("Today, 09:05");
    expect(formatFileDate(ns("2025-03-13T23:59:00Z"), o)).toBe("Yesterday, 23:59");
    expect(formatFileDate(ns("2025-01-02T08:00:00Z"), o)).toBe("2 Jan, 08:00");
    expect(formatFileDate(ns("2024-12-31T08:00:00Z"), o)).toBe("31 Dec 2024");
  });

  test("calendar days follow the time zone", () => {
    // 23:30 UTC on the 13th is already the 14th in Berlin.
    const t = ns("2025-03-13T23:30:00Z");
    expect(formatFileDate(t, { ...o, timeZone: "Europe/Berlin" })).toBe("Today, 00:30");
    expect(formatFileDate(t, o)).toBe("Yesterday, 23:30");
  });

  test("missing times", () => {
    expect(formatFileDate(0, o)).toBe("—");
    expect(formatRelative(null, o)).toBe("never");
    expect(formatFullDate(0)).toBe("");
  });

  test("relative", () => {
    expect(formatRelative(ns("2025-03-14T14:59:30Z"), o)).toBe("just now");
    expect(formatRelative(ns("2025-03-14T14:57:00Z"), o)).toBe("3 minutes ago");
    expect(formatRelative(ns("2025-03-14T12:00:00Z"), o)).toBe("3 hours ago");
    expect(formatRelative(ns("2025-03-13T15:00:00Z"), o)).toBe("yesterday");
    expect(formatRelative(ns("2025-03-10T15:00:00Z"), o)).toBe("4 days ago");
    expect(formatRelative(ns("2025-02-01T15:00:00Z"), o)).toBe("1 Feb, 15:00");
  });

  test("full date for tooltips", () => {
    expect(formatFullDate(ns("2025-03-14T09:05:00Z"), { timeZone: "UTC" })).toBe("14 March 2025 at 09:05");
  });
});

describe("words", () => {
  test("plural", () => {
    expect(plural(1, "file", "files")).toBe("1 file");
    expect(plural(0, "file", "files")).toBe("0 files");
    expect(plural(100000, "file", "files")).toBe("100,000 files");
  });
  test("minutes", () => {
    expect(formatMinutes(1)).toBe("1 minute");
    expect(formatMinutes(15)).toBe("15 minutes");
    expect(formatMinutes(60)).toBe("1 hour");
    expect(formatMinutes(90)).toBe("90 minutes");
    expect(formatMinutes(240)).toBe("4 hours");
  });
  test("countdown rounds up and never shows zero while waiting", () => {
    expect(formatCountdown(4.2)).toBe("5 seconds");
    expect(formatCountdown(1)).toBe("1 second");
    expect(formatCountdown(60)).toBe("1 minute");
    expect(formatCountdown(65)).toBe("1 minute 5 seconds");
  });
  test("recovery key groups", () => {
    expect(groupRecoveryKey("abcdefgh-ijklmnop qrstuvwx")).toEqual(["ABCDEFGH", "IJKLMNOP", "QRSTUVWX"]);
    expect(groupRecoveryKey("ABCDEFGHIJ")).toEqual(["ABCDEFGH", "IJ"]);
  });
});
