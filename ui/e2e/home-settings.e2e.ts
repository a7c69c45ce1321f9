// Home (status, warnings, watcher), protected folders, settings.

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

describe("home, folders, settings", () => {
  test("home shows folders with counts, the watcher, warnings, and live watcher events", async () => {
    const s = await openApp(browser, {
      files: sampleFiles(),
      folders: SAMPLE_FOLDERS,
      warnings: [{ code: "disk_encryption_off", message: "Full-disk encryption is off on this computer. Ask IT to turn it on." }],
      watcher: { running: true, pending: 0, lastEventNs: (Date.now() - 4 * 60_000) * 1e6 },
    });
    const { page } = s;
    await unlock(page);
    await expect.poll(() => page.getByText("Needs your attention").isVisible()).toBe(true);
    await expect.poll(() => page.getByText("Disk encryption is off", { exact: true }).isVisible()).toBe(true);
    await expect.poll(() => page.locator(".folder-mini-count").allTextContents()).toEqual(["8 files", "3 files"]);
    await expect.poll(() => page.getByText("Coffer locks itself after 10 minutes without activity.", { exact: false }).isVisible()).toBe(true);
    await checkpoint(s, "19-home");

    await page.evaluate(() => (window as unknown as { __mock: { watcherEncrypted: (n: number) => void } }).__mock.watcherEncrypted(3));
    await expect.poll(() => page.locator(".activity-text").allTextContents()).toEqual(["Encrypted 3 new files"]);
    await expect.poll(() => page.locator(".folder-mini-count").allTextContents()).toEqual(["11 files", "3 files"]);
    await checkpoint(s, "20-home-watcher-event");
    await expectClean(s);
    await s.close();
  });

  test("protect a folder: the preview sentence, then progress; required folders can't be removed", async () => {
    const s = await openApp(browser, {
      files: sampleFiles(),
      folders: SAMPLE_FOLDERS,
      progressStepMs: 120,
      disk: { "/home/sam/Documents/Referrals": { files: 42, bytes: 3_250_000 } },
      dialogs: ["/home/sam/Documents/Referrals"],
    });
    const { page } = s;
    await unlock(page);
    await page.getByRole("button", { name: "Protected folders" }).click();
    await page.getByRole("heading", { name: "Protected folders", level: 1 }).waitFor();
    // The mandatory folder: a badge, no remove button.
    await expect.poll(() => page.getByText("Required by your organisation").isVisible()).toBe(true);
    expect(await page.getByRole("button", { name: "Stop protecting Exports" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Stop protecting Scans" }).count()).toBe(1);
    await checkpoint(s, "21-folders");

    await page.getByRole("button", { name: "Protect a folder" }).click();
    const dlg = page.getByRole("dialog", { name: "Protect “Referrals”?" });
    await dlg.waitFor();
    await expect.poll(() => dlg.getByText("The 42 files already here (3.1 MB) will be encrypted and removed from this folder.").isVisible()).toBe(true);
    expect((await calls(page, "preview_protect")).map((c) => c.args)).toEqual([{ path: "/home/sam/Documents/Referrals" }]);
    expect(await calls(page, "protect_folder")).toHaveLength(0);
    await checkpoint(s, "22-protect-preview");
    await dlg.getByRole("button", { name: "Protect folder" }).click();
    await page.locator("progress").waitFor();
    // While it runs, nothing else on the screen can start.
    expect(await page.getByRole("button", { name: "Protect a folder" }).isDisabled()).toBe(true);
    expect(await page.getByRole("button", { name: "Stop protecting Scans" }).isDisabled()).toBe(true);
    await expect.poll(() => page.getByText("“Referrals” is now protected").isVisible(), { timeout: 10_000 }).toBe(true);
    const pc = await calls(page, "protect_folder");
    expect(pc[0]!.args.path).toBe("/home/sam/Documents/Referrals");
    await expect.poll(() => page.locator(".folder-card-name").allTextContents()).toEqual(["Scans", "Exports", "Referrals"]);
    await expect.poll(() => page.getByText("42 files in the vault").isVisible()).toBe(true);

    // Stop protecting a non-mandatory folder.
    await page.getByRole("button", { name: "Stop protecting Scans" }).click();
    const stop = page.getByRole("dialog", { name: "Stop protecting “Scans”?" });
    await stop.waitFor();
    await checkpoint(s, "23-unprotect-confirm");
    await stop.getByRole("button", { name: "Stop protecting" }).click();
    await expect.poll(() => page.locator(".folder-card-name").allTextContents()).toEqual(["Exports", "Referrals"]);
    expect((await calls(page, "unprotect_folder")).map((c) => c.args)).toEqual([{ path: "/home/sam/Scans" }]);
    await expectClean(s);
    await s.close();
  });

  test("Home's “Protect a folder” opens the folder picker at once", async () => {
    const s = await openApp(browser, { files: sampleFiles(), folders: [], disk: { "/home/sam/Scans": { files: 3, bytes: 90_000 } }, dialogs: ["/home/sam/Scans"] });
    const { page } = s;
    await unlock(page);
    await page.getByRole("button", { name: "Protect a folder" }).click();
    // The picker's answer leads straight to the preview: no second click.
    const dlg = page.getByRole("dialog", { name: "Protect “Scans”?" });
    await dlg.waitFor();
    expect(await page.getByRole("heading", { name: "Protected folders", level: 1 }).isVisible()).toBe(true);
    await dlg.getByRole("button", { name: "Cancel" }).click();
    await expectClean(s);
    await s.close();
  });

  test("a toast stays with its screen: going to another screen clears it", async () => {
    const s = await openApp(browser, { files: sampleFiles(), folders: SAMPLE_FOLDERS });
    const { page } = s;
    await unlock(page);
    await page.getByRole("button", { name: "Settings" }).click();
    const sel = page.getByLabel("Lock automatically after");
    await expect.poll(() => sel.isEnabled()).toBe(true);
    await sel.selectOption("5");
    await page.locator(".toast").first().waitFor();
    await page.getByRole("button", { name: "Files", exact: true }).click();
    await page.getByRole("heading", { name: "Files", level: 1 }).waitFor();
    expect(await page.locator(".toast").count()).toBe(0);
    await expectClean(s);
    await s.close();
  });

  test("settings managed by policy are shown disabled", async () => {
    const s = await openApp(browser, {
      autoLockMinutes: 30,
      keychainEnrolled: false,
      managed: { autoLockMax: 15, keychainForbidden: true, byPolicy: "/etc/coffer/policy.toml" },
    });
    const { page } = s;
    await unlock(page);
    await page.getByRole("button", { name: "Settings" }).click();
    const sel = page.getByLabel("Lock automatically after");
    // Clamped to the organisation's maximum, and not changeable.
    await expect.poll(() => sel.inputValue()).toBe("15");
    expect(await sel.isDisabled()).toBe(true);
    const options = await sel.locator("option").allTextContents();
    expect(options.at(-1)).toBe("15 minutes");
    expect(options).not.toContain("30 minutes");
    await expect.poll(() => page.getByText("Managed by your organisation").isVisible()).toBe(true);
    const kc = page.getByRole("switch", { name: "Unlock with my computer login" });
    expect(await kc.isDisabled()).toBe(true);
    await expect.poll(() => page.getByText("Not allowed by your organisation").isVisible()).toBe(true);
    await page.getByText("Technical details").click();
    await expect.poll(() => page.getByText("/etc/coffer/policy.toml").isVisible()).toBe(true);
    await page.locator(".details dl").scrollIntoViewIfNeeded();
    await checkpoint(s, "24-settings-managed");
    expect(await calls(page, "set_auto_lock")).toHaveLength(0);
    await expectClean(s);
    await s.close();
  });

  test("settings: auto-lock, computer-login unlock (asks for the passphrase), new recovery key, about", async () => {
    const s = await openApp(browser, {});
    const { page } = s;
    await unlock(page);
    await page.getByRole("button", { name: "Settings" }).click();
    const sel = page.getByLabel("Lock automatically after");
    await expect.poll(() => sel.isEnabled()).toBe(true);
    await sel.selectOption("5");
    await expect.poll(() => calls(page, "set_auto_lock").then((c) => c.map((x) => x.args))).toEqual([{ minutes: 5 }]);
    await checkpoint(s, "25-settings");

    // Turning on computer-login unlock asks for the passphrase; a wrong one is explained in place.
    const kc = page.getByRole("switch", { name: "Unlock with my computer login" });
    await kc.click();
    const dlg = page.getByRole("dialog", { name: "Unlock with your computer login?" });
    await dlg.waitFor();
    expect(await kc.isChecked()).toBe(false);
    await dlg.getByLabel("Your passphrase").fill("nope");
    await dlg.getByRole("button", { name: "Turn on" }).click();
    await expect.poll(() => dlg.getByText("Wrong passphrase. Try again.").isVisible()).toBe(true);
    await checkpoint(s, "26-settings-keychain-passphrase");
    await dlg.getByLabel("Your passphrase").fill(PASS);
    await dlg.getByRole("button", { name: "Turn on" }).click();
    await expect.poll(() => kc.isChecked()).toBe(true);
    expect((await calls(page, "set_keychain_unlock")).map((c) => c.args).at(-1)).toEqual({ enabled: true, passphrase: PASS });

    // New recovery key: passphrase, then the key shown once with a confirmation.
    await page.getByRole("button", { name: "Make a new recovery key…" }).click();
    const ask = page.getByRole("dialog", { name: "Make a new recovery key?" });
    await ask.getByLabel("Your passphrase").fill(PASS);
    await ask.getByRole("button", { name: "Make new key" }).click();
    const show = page.getByRole("dialog", { name: "Write down your new recovery key" });
    await show.waitFor();
    await expect.poll(() => show.locator(".recovery-chars").first().textContent()).toBe("MNOPQRST");
    const done = show.getByRole("button", { name: "Done" });
    expect(await done.isDisabled()).toBe(true);
    // Escape does not lose the key.
    await page.keyboard.press("Escape");
    expect(await show.isVisible()).toBe(true);
    await checkpoint(s, "27-settings-new-recovery-key");
    await show.getByLabel("I have written down my new recovery key").check();
    await done.click();
    await expect.poll(() => show.count()).toBe(0);
    expect((await calls(page, "regenerate_recovery_key")).map((c) => c.args)).toEqual([{ passphrase: PASS }]);

    // About: cryptography only here, behind "Technical details".
    expect(await page.getByText("AES-256-GCM", { exact: false }).isVisible()).toBe(false);
    // Toasts are dismissed one at a time: each click re-renders the stack.
    const dismiss = page.getByRole("button", { name: "Dismiss" });
    while ((await dismiss.count()) > 0) await dismiss.first().click();
    await page.getByText("Technical details").click();
    await expect.poll(() => page.getByText("Argon2id, 256 MiB, 3 passes, 4 lanes").isVisible()).toBe(true);
    await expect.poll(() => page.getByText("AES-256-GCM, 64 KiB chunks, a random key per file").isVisible()).toBe(true);
    await page.locator(".details dl").scrollIntoViewIfNeeded();
    await checkpoint(s, "28-settings-about");
    await expectClean(s);
    await s.close();
  });
});
