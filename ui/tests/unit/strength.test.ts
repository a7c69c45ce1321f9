import { describe, expect, test } from "vitest";
import { autoLockChoices, effectiveAutoLock } from "../../src/choices";
import { passphraseStrength } from "../../src/strength";

describe("passphrase strength hint", () => {
  test("too short is never acceptable", () => {
    const s = passphraseStrength("Tr0ub4d&");
    expect(s.label).toBe("Too short");
    expect(s.acceptable).toBe(false);
  });
  test("common words and repetition are weak", () => {
    expect(passphraseStrength("password123").acceptable).toBe(false);
    expect(passphraseStrength("aaaaaaaaaaaa").acceptable).toBe(false);
    expect(passphraseStrength("abcdefghijkl").acceptable).toBe(false);
  });
  test("a few random words are good or strong", () => {
    expect(passphraseStrength("maple river lantern orbit").score).toBeGreaterThanOrEqual(3);
    expect(passphraseStrength("correct horse battery staple").acceptable).toBe(true);
    expect(passphraseStrength("Blue-Otter-Climbs-7-Hills!").label).toBe("Strong");
  });
  test("longer is never weaker", () => {
    let prev = 0;
    for (const p of ["maple rive", "maple river", "maple river lantern", "maple river lantern orbit"]) {
      const s = passphraseStrength(p).score;
      expect(s).toBeGreaterThanOrEqual(prev);
      prev = s;
    }
  });
});

describe("auto-lock choices", () => {
  test("unmanaged: the standard list plus an unusual current value", () => {
    expect(autoLockChoices(10, null)).toEqual([1, 2, 5, 10, 15, 30, 60, 120, 240]);
    expect(autoLockChoices(7, null)).toContain(7);
  });
  test("managed: clamped to the maximum, which is always offered", () => {
    expect(autoLockChoices(30, 15)).toEqual([1, 2, 5, 10, 15]);
    expect(autoLockChoices(5, 20)).toEqual([1, 2, 5, 10, 15, 20]);
    expect(effectiveAutoLock(30, 15)).toBe(15);
    expect(effectiveAutoLock(5, 15)).toBe(5);
    expect(effectiveAutoLock(30, null)).toBe(30);
  });
});
