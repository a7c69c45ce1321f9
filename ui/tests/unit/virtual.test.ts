import { describe, expect, test } from "vitest";
import { moveIndex, pageSize, revealScrollTop, visibleRange } from "../../src/virtual";

describe("visibleRange", () => {
  test("top of the list", () => {
    expect(visibleRange(0, 480, 48, 100_000, 6)).toEqual({ start: 0, end: 16 });
  });
  test("middle: viewport plus overscan on both sides", () => {
    // rows 1000..1010 visible, 6 either side
    expect(visibleRange(48_000, 480, 48, 100_000, 6)).toEqual({ start: 994, end: 1016 });
  });
  test("partially visible rows count", () => {
    expect(visibleRange(24, 48, 48, 10, 0)).toEqual({ start: 0, end: 2 });
  });
  test("the end is clamped", () => {
    expect(visibleRange(48 * 99_990, 480, 48, 100_000, 6)).toEqual({ start: 99_984, end: 100_000 });
    expect(visibleRange(10_000_000, 480, 48, 100, 6)).toEqual({ start: 100, end: 100 });
  });
  test("empty and degenerate", () => {
    expect(visibleRange(0, 480, 48, 0)).toEqual({ start: 0, end: 0 });
    expect(visibleRange(-50, 480, 48, 3, 0)).toEqual({ start: 0, end: 3 });
    expect(visibleRange(0, 480, 0, 3)).toEqual({ start: 0, end: 0 });
  });
  test("the DOM window stays small whatever the list size", () => {
    for (const n of [10, 1000, 100_000, 1_000_000]) {
      const r = visibleRange(48 * Math.floor(n / 2), 600, 48, n, 8);
      expect(r.end - r.start).toBeLessThanOrEqual(Math.ceil(600 / 48) + 1 + 16);
    }
  });
});

describe("reveal and keys", () => {
  test("reveal scrolls the least", () => {
    expect(revealScrollTop(5, 0, 480, 48)).toBe(0); // already visible
    expect(revealScrollTop(20, 0, 480, 48)).toBe(21 * 48 - 480); // below: align bottom
    expect(revealScrollTop(2, 480, 480, 48)).toBe(96); // above: align top
  });
  test("page size", () => {
    expect(pageSize(480, 48)).toBe(9);
    expect(pageSize(20, 48)).toBe(1);
  });
  test("moveIndex", () => {
    expect(moveIndex(-1, "ArrowDown", 10, 5)).toBe(0);
    expect(moveIndex(-1, "ArrowUp", 10, 5)).toBe(0);
    expect(moveIndex(9, "ArrowDown", 10, 5)).toBe(9);
    expect(moveIndex(0, "ArrowUp", 10, 5)).toBe(0);
    expect(moveIndex(3, "PageDown", 10, 5)).toBe(8);
    expect(moveIndex(8, "PageDown", 10, 5)).toBe(9);
    expect(moveIndex(3, "PageUp", 10, 5)).toBe(0);
    expect(moveIndex(3, "Home", 10, 5)).toBe(0);
    expect(moveIndex(3, "End", 10, 5)).toBe(9);
    expect(moveIndex(3, "x", 10, 5)).toBe(3);
    expect(moveIndex(3, "End", 0, 5)).toBe(-1);
  });
});
