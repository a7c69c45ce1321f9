import { describe, expect, test } from "vitest";
import { throttle } from "../../src/activity";
import { Backoff, backoffSeconds } from "../../src/backoff";

describe("back-off schedule", () => {
  test("three free attempts, then doubling from 5 s, capped at 5 minutes", () => {
    expect([0, 1, 2].map(backoffSeconds)).toEqual([0, 0, 0]);
    expect([3, 4, 5, 6, 7, 8].map(backoffSeconds)).toEqual([5, 10, 20, 40, 80, 160]);
    expect(backoffSeconds(9)).toBe(300);
    expect(backoffSeconds(50)).toBe(300);
  });

  test("Backoff counts failures, waits, and resets on success", () => {
    let t = 1_000_000;
    const b = new Backoff(() => t);
    expect(b.fail()).toBe(0);
    expect(b.fail()).toBe(0);
    expect(b.remainingMs()).toBe(0);
    expect(b.fail()).toBe(5);
    expect(b.remainingMs()).toBe(5000);
    t += 4000;
    expect(b.remainingMs()).toBe(1000);
    t += 1000;
    expect(b.remainingMs()).toBe(0);
    expect(b.fail()).toBe(10);
    b.succeed();
    expect(b.failures).toBe(0);
    expect(b.remainingMs()).toBe(0);
    expect(b.fail()).toBe(0);
  });
});

describe("activity throttle", () => {
  test("at most once per interval", () => {
    let t = 0;
    let n = 0;
    const touch = throttle(10_000, () => n++, () => t);
    expect(touch()).toBe(true);
    for (let i = 0; i < 100; i++) {
      t += 50;
      touch();
    }
    expect(n).toBe(1);
    t = 10_000;
    expect(touch()).toBe(true);
    expect(n).toBe(2);
    t = 19_999;
    expect(touch()).toBe(false);
  });
});
