import { describe, expect, test } from "vitest";
import { chartBars, dayLabel, dayStart, filtersToQuery, hasFilters, niceMax, NO_FILTERS, periodError } from "../../src/audit-model";

// Local midnight, whatever time zone the tests run in.
const local = (y: number, m: number, d: number) => new Date(y, m - 1, d).toISOString();

describe("filters → AuditQuery", () => {
  test("no filters: an empty query (nothing undefined is sent)", () => {
    expect(filtersToQuery(NO_FILTERS)).toEqual({});
    expect(Object.keys(filtersToQuery(NO_FILTERS))).toEqual([]);
    expect(hasFilters(NO_FILTERS)).toBe(false);
  });

  test("the period: from local midnight to the midnight after the last day (to is exclusive)", () => {
    expect(filtersToQuery({ ...NO_FILTERS, from: "2025-03-01", to: "2025-03-14" })).toEqual({ from: local(2025, 3, 1), to: local(2025, 3, 15) });
    // Month and year ends roll over.
    expect(filtersToQuery({ ...NO_FILTERS, to: "2024-12-31" })).toEqual({ to: local(2025, 1, 1) });
    expect(filtersToQuery({ ...NO_FILTERS, to: "2024-02-28" })).toEqual({ to: local(2024, 2, 29) });
  });

  test("action, user and a trimmed file name; blank file is left out", () => {
    expect(filtersToQuery({ ...NO_FILTERS, action: "file_opened", user: "priya", file: "  referral " })).toEqual({ action: "file_opened", user: "priya", file: "referral" });
    expect(filtersToQuery({ ...NO_FILTERS, file: "   " })).toEqual({});
    expect(hasFilters({ ...NO_FILTERS, file: "   " })).toBe(false);
    expect(hasFilters({ ...NO_FILTERS, user: "sam" })).toBe(true);
  });

  test("a malformed day is ignored rather than sent", () => {
    expect(dayStart("14/03/2025")).toBeNull();
    expect(filtersToQuery({ ...NO_FILTERS, from: "yesterday" })).toEqual({});
  });

  test("a period that ends before it starts is an error", () => {
    expect(periodError({ ...NO_FILTERS, from: "2025-03-14", to: "2025-03-01" })).toBe("The end of the period is before its start.");
    expect(periodError({ ...NO_FILTERS, from: "2025-03-14", to: "2025-03-14" })).toBeNull();
    expect(periodError({ ...NO_FILTERS, to: "2025-03-01" })).toBeNull();
  });
});

describe("per-day bars", () => {
  test("days without records are zero bars, in order", () => {
    const bars = chartBars([
      { day: "2025-03-14", count: 4 },
      { day: "2025-03-10", count: 7 },
      { day: "2025-03-12", count: 1 },
    ]);
    expect(bars.map((b) => [b.day, b.count])).toEqual([
      ["2025-03-10", 7],
      ["2025-03-11", 0],
      ["2025-03-12", 1],
      ["2025-03-13", 0],
      ["2025-03-14", 4],
    ]);
    expect(bars[0]).toMatchObject({ label: "10 Mar", week: false });
  });

  test("the same day twice is summed; junk days are dropped", () => {
    expect(chartBars([{ day: "2025-03-10", count: 2 }, { day: "2025-03-10", count: 3 }, { day: "nope", count: 9 }])).toEqual([{ day: "2025-03-10", label: "10 Mar", count: 5, week: false }]);
  });

  test("a chosen period sets the range even where there are no records", () => {
    const bars = chartBars([{ day: "2025-03-03", count: 2 }], { from: "2025-03-01", to: "2025-03-05" });
    expect(bars.map((b) => b.count)).toEqual([0, 0, 2, 0, 0]);
  });

  test("month and year boundaries", () => {
    const bars = chartBars([{ day: "2024-12-30", count: 1 }, { day: "2025-01-02", count: 1 }]);
    expect(bars.map((b) => b.day)).toEqual(["2024-12-30", "2024-12-31", "2025-01-01", "2025-01-02"]);
  });

  test("longer than the limit: weeks from Monday, totals kept", () => {
    const perDay = [];
    for (let d = 1; d <= 31; d++) perDay.push({ day: `2025-03-${String(d).padStart(2, "0")}`, count: 1 });
    for (let d = 1; d <= 30; d++) perDay.push({ day: `2025-04-${String(d).padStart(2, "0")}`, count: 2 });
    const bars = chartBars(perDay, {}, 31);
    expect(bars.every((b) => b.week)).toBe(true);
    // 1 Mar 2025 is a Saturday: the first week starts on Monday 24 Feb.
    expect(bars[0]).toMatchObject({ day: "2025-02-24", count: 2 });
    expect(bars.reduce((n, b) => n + b.count, 0)).toBe(31 + 60);
    expect(bars.at(-1)!.day).toBe("2025-04-28");
  });

  test("nothing, or a reversed period: no bars", () => {
    expect(chartBars([])).toEqual([]);
    expect(chartBars([{ day: "2025-03-03", count: 2 }], { from: "2025-03-05", to: "2025-03-01" })).toEqual([]);
  });

  test("labels and the scale", () => {
    expect(dayLabel("2025-01-02")).toBe("2 Jan");
    expect([0, 1, 3, 10, 33, 120, 501].map(niceMax)).toEqual([1, 1, 5, 10, 50, 200, 1000]);
  });
});
