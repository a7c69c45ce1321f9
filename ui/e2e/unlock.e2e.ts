// Flows on the locked side: first run, unlock, wrong passphrase with
// back-off, recovery, computer-login unlock, manual lock and auto-lock.

import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { calls, checkpoint, expectClean, launch, openApp, PASS, SAMPLE_FOLDERS, sampleFiles, unlock } from "./helpers";

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

describe("locked side", () => {
  test("first run: create the vault, see the recovery key once, confirm it", async () => {
    const s = await openApp(browser, { vaultExists: false, unlocked: false });
    const { page } = s;
    await page.getByRole("heading", { name: "Welcome to Coffer" }).waitFor();
    await checkpoint(s, "01-first-run");

    // Too short, then mismatch: clear messages, nothing sent. The card
    // does not move when the error appears, and the advice is not repeated.
    const cardTop = () => page.locator(".gate-card").evaluate((e) => Math.round(e.getBoundingClientRect().top));
    const top0 = await cardTop();
    await page.getByLabel("Passphrase", { exact: true }).fill("short");
    // Enter submits.
    await page.getByLabel("Passphrase", { exact: true }).press("Enter");
    await expect.poll(() => page.getByText("Use at least 10 characters.", { exact: true }).isVisible()).toBe(true);
    expect(await page.getByText(/Use at least 10 characters/).filter({ visible: true }).count()).toBe(1);
    expect(await cardTop()).toBe(top0);
    await page.getByLabel("Passphrase", { exact: true }).fill("maple river lantern orbit");
    await expect.poll(() => page.locator(".strength-label").textContent()).toMatch(/Good|Strong/);
    await page.getByLabel("Type it again").fill("maple river lantern orbi");
    await page.getByRole("button", { name: "Create vault" }).click();
    await expect.poll(() => page.getByText("The two passphrases don't match.").isVisible()).toBe(true);
    expect(await calls(page, "create_vault")).toHaveLength(0);

    await page.getByLabel("Type it again").fill("maple river lantern orbit");
    await page.getByLabel("Also unlock with my computer login").check();
    await checkpoint(s, "02-first-run-filled");
    await page.getByLabel("Type it again").press("Enter");

    await page.getByRole("heading", { name: "Write down your recovery key" }).waitFor();
    const created = await calls(page, "create_vault");
    expect(created).toEqual([{ cmd: "create_vault", args: { passphrase: "maple river lantern orbit", withKeychain: true }, at: expect.any(Number) }]);
    await expect.poll(() => page.locator(".recovery-chars").allTextContents()).toEqual(["ABCDEFGH", "IJKLMNOP", "QRSTUVWX", "YZ234567", "ABCDEFGH", "IJKLMNOP", "QRSTUVWX"]);
    const cont = page.getByRole("button", { name: "Continue" });
    expect(await cont.isDisabled()).toBe(true);
    await checkpoint(s, "03-recovery-key");
    await page.getByLabel("I have written down my recovery key").check();
    expect(await cont.isDisabled()).toBe(false);
    await cont.click();
    await page.getByRole("heading", { name: "Your vault is unlocked" }).waitFor();
    // The key is gone from the page once confirmed.
    expect(await page.locator(".recovery-chars").count()).toBe(0);
    await expectClean(s);
    await s.close();
  });

  test("first run with a keychain that fails: the recovery key is still shown, with a notice", async () => {
    const s = await openApp(browser, { vaultExists: false, unlocked: false, keychainWorks: false });
    const { page } = s;
    await page.getByRole("heading", { name: "Welcome to Coffer" }).waitFor();
    await page.getByLabel("Passphrase", { exact: true }).fill("maple river lantern orbit");
    await page.getByLabel("Type it again").fill("maple river lantern orbit");
    await page.getByLabel("Also unlock with my computer login").check();
    await page.getByRole("button", { name: "Create vault" }).click();
    await page.getByRole("heading", { name: "Write down your recovery key" }).waitFor();
    await expect.poll(() => page.locator(".recovery-chars").count()).toBe(7);
    await expect.poll(() => page.getByText("Unlocking with this computer's keychain is not set up").isVisible()).toBe(true);
    await s.close();
  });

  test("unlock with the passphrase", async () => {
    const s = await openApp(browser, { files: sampleFiles(), folders: SAMPLE_FOLDERS });
    const { page } = s;
    await page.getByRole("heading", { name: "Coffer is locked" }).waitFor();
    // The passphrase field has focus: staff can just type.
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type)).toBe("password");
    await expect.poll(() => page.getByText(/keeps encrypting new files in your 2 protected folders/).isVisible()).toBe(true);
    expect(await page.getByRole("button", { name: "Unlock with my computer login" }).count()).toBe(0);
    await checkpoint(s, "04-unlock");
    await page.keyboard.type(PASS);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Your vault is unlocked" }).waitFor();
    expect((await calls(page, "unlock")).map((c) => c.args)).toEqual([{ passphrase: PASS }]);
    await expectClean(s);
    await s.close();
  });

  test("wrong passphrase: clear message, then an increasing back-off", async () => {
    const s = await openApp(browser, {});
    const { page } = s;
    const field = page.getByLabel("Passphrase", { exact: true });
    const button = page.getByRole("button", { name: "Unlock", exact: true });
    for (let i = 1; i <= 2; i++) {
      await field.fill(`wrong guess ${i}`);
      await button.click();
      await expect.poll(() => page.getByRole("alert").filter({ hasText: "Wrong passphrase." }).isVisible()).toBe(true);
      await expect.poll(() => button.isEnabled()).toBe(true);
    }
    await field.fill("wrong guess 3");
    await button.click();
    // The button itself counts down and is disabled meanwhile.
    const waiting = page.locator("button.is-waiting");
    await expect.poll(() => waiting.textContent()).toMatch(/^Try again in [45] seconds$/);
    expect(await waiting.isDisabled()).toBe(true);
    await expect.poll(() => page.getByRole("alert").filter({ hasText: "Too many attempts" }).isVisible()).toBe(true);
    await checkpoint(s, "05-wrong-passphrase-backoff");
    // Enter does nothing while waiting.
    await field.press("Enter");
    expect(await calls(page, "unlock")).toHaveLength(3);
    // After 5 s it is allowed again; the next failure waits longer.
    await expect.poll(() => button.isEnabled(), { timeout: 8000 }).toBe(true);
    await field.fill("wrong guess 4");
    await button.click();
    await expect.poll(() => waiting.textContent()).toMatch(/^Try again in (9|10) seconds$/);
    expect(await waiting.isDisabled()).toBe(true);
    await expectClean(s);
    await s.close();
  });

  test("forgot passphrase: recovery key and a new passphrase", async () => {
    const s = await openApp(browser, {});
    const { page } = s;
    await page.getByRole("button", { name: "Forgot passphrase?" }).click();
    await page.getByRole("heading", { name: "Use your recovery key" }).waitFor();
    // A typo is caught and explained (no back-off: it is not a guess).
    await page.getByRole("textbox", { name: "Recovery key" }).fill("ABCDEFGH-IJKLMNOP");
    await page.getByLabel("New passphrase", { exact: true }).fill("willow harbour copper violet");
    await page.getByLabel("Type the new passphrase again").fill("willow harbour copper violet");
    await page.getByRole("button", { name: "Unlock and save new passphrase" }).click();
    await expect.poll(() => page.getByText(/That recovery key has a typo/).isVisible()).toBe(true);
    await checkpoint(s, "06-recover");
    await page.getByRole("textbox", { name: "Recovery key" }).fill("abcdefgh ijklmnop qrstuvwx yz234567 abcdefgh ijklmnop qrstuvwx");
    await page.getByRole("button", { name: "Unlock and save new passphrase" }).click();
    await page.getByRole("heading", { name: "Your vault is unlocked" }).waitFor();
    const rec = await calls(page, "recover");
    expect(rec.at(-1)?.args).toEqual({ recoveryKey: "abcdefgh ijklmnop qrstuvwx yz234567 abcdefgh ijklmnop qrstuvwx", newPassphrase: "willow harbour copper violet" });
    await expectClean(s);
    await s.close();
  });

  test("unlock with the computer login when enrolled and allowed", async () => {
    const s = await openApp(browser, { keychainEnrolled: true });
    const { page } = s;
    const kc = page.getByRole("button", { name: "Unlock with my computer login" });
    await kc.waitFor();
    await checkpoint(s, "07-unlock-keychain");
    await kc.click();
    await page.getByRole("heading", { name: "Your vault is unlocked" }).waitFor();
    expect(await calls(page, "unlock_with_keychain")).toHaveLength(1);
    await expectClean(s);
    await s.close();

    // Enrolled but forbidden by policy: no button.
    const s2 = await openApp(browser, { keychainEnrolled: true, managed: { keychainForbidden: true, autoLockMax: null, byPolicy: "/etc/coffer/policy.toml" } });
    await s2.page.getByRole("heading", { name: "Coffer is locked" }).waitFor();
    expect(await s2.page.getByRole("button", { name: "Unlock with my computer login" }).count()).toBe(0);
    await s2.close();
  });

  test("lock now returns to the unlock screen and forgets what was shown", async () => {
    const s = await openApp(browser, { files: sampleFiles(), folders: SAMPLE_FOLDERS });
    const { page } = s;
    await unlock(page);
    await page.getByRole("button", { name: "Files" }).click();
    await page.getByRole("gridcell", { name: /Clinic handbook/ }).waitFor();
    await page.getByRole("button", { name: "Home" }).click();
    await page.getByRole("button", { name: "Lock now" }).click();
    await page.getByRole("heading", { name: "Coffer is locked" }).waitFor();
    expect(await calls(page, "lock")).toHaveLength(1);
    expect(await page.getByText("Clinic handbook").count()).toBe(0);
    expect(await page.title()).toBe("Locked — Coffer");
    await checkpoint(s, "08-locked-after-lock-now");
    // Ctrl+L locks from anywhere.
    await unlock(page);
    await page.keyboard.press("Control+l");
    await page.getByRole("heading", { name: "Coffer is locked" }).waitFor();
    await expectClean(s);
    await s.close();
  });

  test("auto-lock: a vault-locked event from the backend shows the unlock screen with the reason", async () => {
    const s = await openApp(browser, { files: sampleFiles(), folders: SAMPLE_FOLDERS, autoLockMinutes: 5 });
    const { page } = s;
    await unlock(page);
    await page.getByRole("button", { name: "Files" }).click();
    await page.getByRole("gridcell", { name: /Clinic handbook/ }).waitFor();
    // A dialog open at the time must not survive the lock.
    await page.getByRole("gridcell", { name: /Clinic handbook/ }).click();
    await page.getByRole("button", { name: /^Remove/ }).click();
    await page.getByRole("dialog").waitFor();
    await page.evaluate(() => (window as unknown as { __mock: { autoLock: () => void } }).__mock.autoLock());
    await page.getByRole("heading", { name: "Coffer is locked" }).waitFor();
    await expect.poll(() => page.getByText("Locked automatically after 5 minutes without activity.").isVisible()).toBe(true);
    expect(await page.getByRole("dialog").count()).toBe(0);
    expect(await page.getByText("Clinic handbook").count()).toBe(0);
    await checkpoint(s, "09-auto-locked");
    await expectClean(s);
    await s.close();
  });

  test("the auto-lock notice states the timeout in force, not the setting", async () => {
    // Setting 10 minutes, but a shorter timeout applies (a policy cap or the test override).
    const s = await openApp(browser, { files: sampleFiles(), autoLockMinutes: 10, autoLockSeconds: 12 });
    const { page } = s;
    await unlock(page);
    await page.evaluate(() => (window as unknown as { __mock: { autoLock: () => void } }).__mock.autoLock());
    await page.getByRole("heading", { name: "Coffer is locked" }).waitFor();
    await expect.poll(() => page.getByText("Locked automatically after 12 seconds without activity.").isVisible()).toBe(true);
    expect(await page.getByText("10 minutes").count()).toBe(0);
    await expectClean(s);
    await s.close();
  });

  test("user input tells the backend about activity at most every 10 s", async () => {
    const s = await openApp(browser, { files: sampleFiles() });
    const { page } = s;
    await unlock(page);
    const before = (await calls(page, "touch_activity")).length;
    for (let i = 0; i < 20; i++) await page.mouse.click(600, 400);
    for (let i = 0; i < 20; i++) await page.keyboard.press("Shift");
    const after = (await calls(page, "touch_activity")).length;
    expect(after - before).toBeLessThanOrEqual(1);
    expect(after).toBeGreaterThanOrEqual(1);
    await expectClean(s);
    await s.close();
  });
});
