import { describe, expect, test } from "vitest";
import { formatDay, formatDuration, formatEta } from "../../src/format";
import { ageText, checkNewPassphrase, estimateRotationMs, estimateText, PROTECTS, REENCRYPT_BYTES_PER_SEC, RESPONSE_DONE, scheduleText } from "../../src/keys-model";
import { asSentence } from "../../src/ipc";

const NOW = Date.parse("2025-03-14T15:00:00Z");
const DAY_MS = 86_400_000;

describe("formatDuration (estimates read as people say them)", () => {
  test.each([
    [0, "a few seconds"],
    [4_000, "a few seconds"],
    [24_100, "about 25 seconds"],
    [51_000, "about 55 seconds"],
    [57_000, "about 1 minute"],
    [75_000, "about 2 minutes"],
    [343_000, "about 6 minutes"],
    [59 * 60_000, "about 59 minutes"],
    [61 * 60_000, "about 1 hour 10 minutes"],
    [2 * 3_600_000, "about 2 hours"],
  ])("%d ms → %s", (ms, s) => expect(formatDuration(ms)).toBe(s));

  test("nonsense is vague, never NaN", () => {
    expect(formatDuration(Number.NaN)).toBe("a while");
    expect(formatDuration(-5)).toBe("a while");
  });
});

describe("formatEta (time left under a progress bar)", () => {
  test.each([
    [null, "Working out how long it will take…"],
    [Number.NaN, "Working out how long it will take…"],
    [0, "Less than a minute left"],
    [59_000, "Less than a minute left"],
    [3 * 60_000, "About 3 minutes left"],
    [95 * 60_000, "About 1 hour 40 minutes left"],
  ])("%s → %s", (ms, s) => expect(formatEta(ms)).toBe(s));
});

describe("rotation estimates", () => {
  test("a rewrap goes by the number of files; bytes don't matter", () => {
    expect(estimateRotationMs("rewrap", 48_210, 54e9)).toBeCloseTo(24_105);
    expect(estimateText("rewrap", 48_210, 1)).toBe("about 25 seconds");
    expect(estimateText("rewrap", 15, 13e6)).toBe("a few seconds");
  });

  test("a re-encryption goes by bytes at ~150 MB/s", () => {
    expect(estimateRotationMs("reencrypt", 0, REENCRYPT_BYTES_PER_SEC * 10)).toBe(10_000);
    expect(estimateText("reencrypt", 48_210, 54e9)).toBe("about 6 minutes");
    expect(estimateText("reencrypt", 1, 2e12)).toBe("about 3 hours 40 minutes");
  });

  test("negative inputs count as nothing", () => {
    expect(estimateRotationMs("reencrypt", -1, -1)).toBe(0);
  });
});

describe("the key's schedule and age", () => {
  const at = (ms: number) => ms * 1e6;
  test("no period set by policy", () => {
    expect(scheduleText({ rotationDueNs: null, rotationPeriodDays: null }, NOW)).toEqual({ text: "Not scheduled — your organisation sets no period", tone: "none" });
  });
  test("in some days, with the date", () => {
    expect(scheduleText({ rotationDueNs: at(NOW + 26 * DAY_MS), rotationPeriodDays: 90 }, NOW)).toEqual({ text: "In 26 days, 9 Apr", tone: "ok" });
  });
  test("tomorrow", () => {
    expect(scheduleText({ rotationDueNs: at(NOW + DAY_MS), rotationPeriodDays: 30 }, NOW).text).toBe("Tomorrow (every 30 days)");
  });
  test("overdue reads as due now", () => {
    expect(scheduleText({ rotationDueNs: at(NOW - 3 * DAY_MS), rotationPeriodDays: 90 }, NOW)).toEqual({ text: "Due now (every 90 days)", tone: "due" });
  });
  test("age", () => {
    expect(ageText(0)).toBe("less than a day old");
    expect(ageText(1)).toBe("1 day old");
    expect(ageText(64)).toBe("64 days old");
  });
  test("a calendar day", () => {
    expect(formatDay(NOW * 1e6, { timeZone: "UTC" })).toBe("14 Mar 2025");
    expect(formatDay(0)).toBe("—");
  });
});

describe("the responses to a secret that may be known", () => {
  const strong = "maple river lantern orbit";
  const base = { current: "the passphrase in use", next: strong, again: strong, keep: false, strong: true };

  test("a new, strong passphrase typed twice passes", () => {
    expect(checkNewPassphrase(base)).toBeNull();
  });

  test("too short or weak, typed differently, or the one in use: each at its field", () => {
    expect(checkNewPassphrase({ ...base, next: "short", again: "short" })).toMatchObject({ field: "next", message: expect.stringMatching(/at least 10 characters/) });
    expect(checkNewPassphrase({ ...base, strong: false })).toMatchObject({ field: "next" });
    expect(checkNewPassphrase({ ...base, again: "maple river lantern orbiT" })).toEqual({ field: "again", message: "The two passphrases don't match." });
    const same = checkNewPassphrase({ ...base, current: strong });
    expect(same).toMatchObject({ field: "next", message: expect.stringMatching(/someone may know/) });
    expect(same!.message).toMatch(/keep my passphrase/);
  });

  test("keeping the passphrase needs no new one", () => {
    expect(checkNewPassphrase({ ...base, next: "", again: "", strong: false, keep: true })).toBeNull();
  });

  test("a rekey is timed like a rewrap: the files aren't rewritten", () => {
    expect(estimateRotationMs("rekey", 48_210, 61e9)).toBe(estimateRotationMs("rewrap", 48_210, 61e9));
    expect(estimateText("rekey", 48_210, 61e9)).toBe("about 25 seconds");
  });

  test("each response says what it protects, in the words of the brief", () => {
    expect(PROTECTS.passphrase).toBe("The old passphrase stops working with this copy of the vault, but not with older copies (backups).");
    expect(PROTECTS.rewrap).toMatch(/^Scheduled hygiene, not a revocation/);
    expect(PROTECTS.reencrypt).toMatch(/nothing old opens anything/);
    expect(RESPONSE_DONE.rekey).toBe(
      "Old copies of the vault's settings (backups, synced history) no longer open anything added from now on. Files already in the vault keep their file keys: if their contents may have been copied too, re-encrypt everything.",
    );
  });

  test("a backend clause reads as a sentence", () => {
    expect(asSentence("the new passphrase is the one in use now")).toBe("The new passphrase is the one in use now.");
    expect(asSentence("Already fine.")).toBe("Already fine.");
    expect(asSentence("")).toBe("");
  });
});
