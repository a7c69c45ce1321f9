// Keys (passphrase, rotation with progress, cancel and resume,
// re-encryption, unlock methods), Activity (timeline, filters, chain
// verification, reports), the "This device" panel, and Home right after
// the vault is created.

import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { calls, checkpoint, expectClean, launch, openApp, PASS, SAMPLE_FOLDERS, sampleFiles, unlock } from "./helpers";

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

type MockWindow = { __mock: { state: Record<string, unknown>; dialogCalls: Record<string, unknown>[]; queueDialog: (...v: string[]) => void } };

async function openKeys(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Keys", exact: true }).click();
  await page.getByRole("heading", { name: "Keys", level: 1 }).waitFor();
  await page.locator(".facts-key").waitFor();
}

async function openActivity(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Activity", exact: true }).click();
  await page.getByRole("heading", { name: "Activity", level: 1 }).waitFor();
  await page.locator(".grid-audit .grid-body .grid-row").first().waitFor();
}

const NEW_PASS = "harbour violet pencil cloud";
const RESPONSE_DONE_REKEY =
  "Old copies of the vault's settings (backups, synced history) no longer open anything added from now on. Files already in the vault keep their file keys: if their contents may have been copied too, re-encrypt everything.";
const RESPONSE_DONE_REENCRYPT = "Every file is re-encrypted under new keys: no old copy of the vault's settings or files, and no old credential, opens anything in the vault now.";

const slotState = (page: Page, kind: string) => page.locator(`.slot[data-kind="${kind}"] .slot-state`).textContent();
const dismissToasts = async (page: Page) => {
  const dismiss = page.getByRole("button", { name: "Dismiss" });
  while ((await dismiss.count()) > 0) await dismiss.first().click();
};

describe("home: right after creating the vault, and this device", () => {
  test("after create_vault, Home shows the fresh state (watching), not the state from before the vault existed", async () => {
    const s = await openApp(browser, { vaultExists: false, unlocked: false });
    const { page } = s;
    await page.getByRole("heading", { name: "Welcome to Coffer" }).waitFor();
    await page.getByLabel("Passphrase", { exact: true }).fill("maple river lantern orbit");
    await page.getByLabel("Type it again").fill("maple river lantern orbit");
    await page.getByRole("button", { name: "Create vault" }).click();
    await page.getByLabel("I have written down my recovery key").check();
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("heading", { name: "Your vault is unlocked" }).waitFor();
    // Immediately, not after a later refresh: the stale state said "stopped".
    expect(await page.getByText("Folder watching has stopped", { exact: false }).count()).toBe(0);
    expect(await page.getByText("Ready. Protect a folder to start.").isVisible()).toBe(true);
    // app_state was read again after the vault was created.
    const order = (await calls(page)).map((c) => c.cmd).filter((c) => c === "app_state" || c === "create_vault");
    expect(order.slice(0, 3)).toEqual(["app_state", "create_vault", "app_state"]);
    await expect.poll(() => page.locator(".posture-status").allTextContents()).toEqual(["On", "Requirements met", "1 record"]);
    await checkpoint(s, "29-home-after-create");
    await expectClean(s);
    await s.close();
  });

  test("unlock reads the state before Home is shown", async () => {
    const s = await openApp(browser, { files: sampleFiles(), folders: SAMPLE_FOLDERS });
    const { page } = s;
    await unlock(page);
    const cmds = (await calls(page)).map((c) => c.cmd);
    const u = cmds.indexOf("unlock");
    expect(cmds.slice(u + 1)).toContain("app_state");
    expect(cmds.indexOf("app_state", u)).toBeLessThan(cmds.indexOf("protected_folders", u));
    await expectClean(s);
    await s.close();
  });

  test("this device: disk encryption, policy problems, the audit log's shipping", async () => {
    const s = await openApp(browser, {
      files: sampleFiles(),
      folders: SAMPLE_FOLDERS,
      posture: {
        diskEncryption: "off",
        diskEncryptionRequired: true,
        policy: { source: "/etc/coffer/policy.toml", compliant: false, problems: ["Disk encryption is required but off.", "The vault key is 120 days old; the policy allows 90."] },
        sinks: [
          { name: "syslog — siem.clinic.example:6514", pending: 42, reachable: false },
          { name: "File — \\\\nas\\audit\\coffer", pending: 0, reachable: true },
        ],
      },
    });
    const { page } = s;
    await unlock(page);
    const card = page.getByRole("region", { name: "This device" });
    await expect.poll(() => card.locator(".posture-status").allTextContents()).toEqual(["Off — required by your organisation", "2 requirements not met", expect.stringMatching(/ records$/)]);
    expect(await card.getByText("The vault key is 120 days old; the policy allows 90.").isVisible()).toBe(true);
    expect(await card.getByText("Can't be reached").isVisible()).toBe(true);
    expect(await card.getByText("42 waiting").isVisible()).toBe(true);
    expect(await card.getByText("Records wait here and are sent when the connection is back.").isVisible()).toBe(true);
    expect(await calls(page, "posture")).not.toHaveLength(0);
    await card.scrollIntoViewIfNeeded();
    await checkpoint(s, "30-home-this-device");
    await expectClean(s);
    await s.close();
  });
});

describe("keys", () => {
  test("change the passphrase: asks for the current one; the old one stops working", async () => {
    const s = await openApp(browser, { files: sampleFiles(), keychainEnrolled: true, key: { escrow: true, escrowRequired: true, ageDays: 64, periodDays: 90 } });
    const { page } = s;
    await unlock(page);
    await openKeys(page);
    await expect.poll(() => page.locator(".facts-key dd").allTextContents()).toEqual(["1", expect.stringMatching(/ · 64 days old$/), expect.stringMatching(/^In 26 days, /)]);
    expect(await slotState(page, "keychain")).toBe("Set up");
    expect(await slotState(page, "recovery")).toBe("Set up");
    expect(await slotState(page, "escrow")).toBe("Set up");
    // Escrow is required by the organisation: no Remove button, a badge instead.
    expect(await page.getByRole("button", { name: "Remove organisation escrow" }).count()).toBe(0);
    expect(await page.locator('.slot[data-kind="escrow"]').getByText("Required by your organisation").isVisible()).toBe(true);
    await checkpoint(s, "31-keys");

    await page.getByRole("button", { name: "Change passphrase" }).click();
    const dlg = page.getByRole("dialog", { name: "Change your passphrase" });
    await dlg.waitFor();
    await dlg.getByLabel("Your passphrase").fill("not it at all");
    await dlg.getByLabel("New passphrase", { exact: true }).fill("harbour violet pencil cloud");
    await dlg.getByLabel("Type the new passphrase again").fill("harbour violet pencil cloud");
    await dlg.getByRole("button", { name: "Change passphrase" }).click();
    await expect.poll(() => dlg.getByText("Wrong passphrase. Try again.").isVisible()).toBe(true);
    await checkpoint(s, "32-keys-change-passphrase");
    await dlg.getByLabel("Your passphrase").fill(PASS);
    await dlg.getByRole("button", { name: "Change passphrase" }).click();
    await expect.poll(() => page.getByText("Your passphrase is changed").isVisible()).toBe(true);
    expect((await calls(page, "change_passphrase")).map((c) => c.args).at(-1)).toEqual({ passphrase: PASS, newPassphrase: "harbour violet pencil cloud" });

    // The old passphrase no longer unlocks; the new one does.
    await page.getByRole("button", { name: "Lock", exact: true }).click();
    await page.getByRole("heading", { name: "Coffer is locked" }).waitFor();
    await page.getByLabel("Passphrase", { exact: true }).fill(PASS);
    await page.getByRole("button", { name: "Unlock", exact: true }).click();
    await expect.poll(() => page.getByText("Wrong passphrase.", { exact: true }).isVisible()).toBe(true);
    await unlock(page, "harbour violet pencil cloud");
    await expectClean(s);
    await s.close();
  });

  test("rotate the vault key: passphrase, progress with time left, done", async () => {
    const s = await openApp(browser, { files: sampleFiles(), key: { files: 48_210, bytes: 61e9 }, rotationSteps: 10, rotationStepMs: 300 });
    const { page } = s;
    await unlock(page);
    await openKeys(page);
    await page.getByRole("button", { name: "Rotate vault key…" }).click();
    const dlg = page.getByRole("dialog", { name: "Rotate the vault key?" });
    await dlg.waitFor();
    await expect.poll(() => dlg.getByText("48,210 files — about 25 seconds.").isVisible()).toBe(true);
    await dlg.getByLabel("Your passphrase").fill(PASS);
    await dlg.getByRole("button", { name: "Rotate key" }).click();
    await expect.poll(() => dlg.count()).toBe(0);
    const panel = page.locator(".rotation-panel");
    await panel.waitFor();
    await expect.poll(() => panel.locator(".progress-count").textContent()).toMatch(/^[1-9][\d,]* of 48,210 files$/);
    await expect.poll(() => panel.locator(".rotation-eta").textContent()).toMatch(/left$/);
    expect(await page.getByRole("button", { name: "Rotate vault key…" }).isDisabled()).toBe(true);
    await checkpoint(s, "33-keys-rotate-progress");
    await expect.poll(() => page.getByText("The vault key is updated").isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await panel.count()).toBe(0);
    await expect.poll(() => page.locator(".facts-key dd").first().textContent()).toBe("2");
    expect(await page.locator(".facts-key dd").nth(1).textContent()).toMatch(/ · less than a day old$/);
    const rk = await calls(page, "rotate_keys");
    expect(rk).toHaveLength(1);
    expect(rk[0]!.args).toEqual({ passphrase: PASS, depth: "rewrap", onProgress: expect.stringMatching(/^__CHANNEL__:\d+$/) });
    await checkpoint(s, "34-keys-rotated");
    await expectClean(s);
    await s.close();
  });

  test("cancel a rotation mid-way: stopped, pending; after the next unlock it resumes by itself (shown on Home)", async () => {
    const s = await openApp(browser, { files: sampleFiles(), key: { files: 12_000, bytes: 9e9 }, rotationSteps: 12, rotationStepMs: 250 });
    const { page } = s;
    await unlock(page);
    await openKeys(page);
    await page.getByRole("button", { name: "Rotate vault key…" }).click();
    const dlg = page.getByRole("dialog", { name: "Rotate the vault key?" });
    await dlg.getByLabel("Your passphrase").fill(PASS);
    await dlg.getByRole("button", { name: "Rotate key" }).click();
    const panel = page.locator(".rotation-panel");
    await expect.poll(() => panel.locator(".progress-count").textContent()).toMatch(/^(3|4),000 of 12,000 files$/);
    await page.getByRole("button", { name: "Cancel the key update" }).click();
    await expect.poll(() => page.getByText("Stopped — it will continue next time").isVisible()).toBe(true);
    expect(await calls(page, "cancel_rotation")).toHaveLength(1);
    // Pending: both rotations wait for it; the panel offers to continue now.
    await expect.poll(() => page.getByRole("button", { name: "Rotate vault key…" }).isDisabled()).toBe(true);
    expect(await page.getByRole("button", { name: "Re-encrypt everything…" }).isDisabled()).toBe(true);
    expect(await page.getByText("A key update is paused. Continue it first.").isVisible()).toBe(true);
    expect(await page.locator(".pending-detail").textContent()).toMatch(/It stopped at \d,000 of 12,000 files\./);
    const st = await page.evaluate(() => (window as unknown as MockWindow).__mock.state as { key: { pending: unknown; version: number } });
    expect(st.key.pending).toMatchObject({ depth: "rewrap", targetVersion: 2 });
    await checkpoint(s, "35-keys-rotation-stopped");

    // Lock, unlock: the pending rotation continues without asking.
    await page.getByRole("button", { name: "Lock", exact: true }).click();
    await unlock(page);
    const home = page.locator(".page-home .rotation-panel");
    await home.waitFor();
    await expect.poll(() => home.locator("strong").textContent()).toBe("Continuing the vault key update");
    await expect.poll(() => calls(page, "resume_rotation").then((c) => c.length)).toBe(1);
    expect((await calls(page, "resume_rotation"))[0]!.args).toEqual({ onProgress: expect.stringMatching(/^__CHANNEL__:\d+$/) });
    await checkpoint(s, "36-home-rotation-resumed");
    await expect.poll(() => page.getByText("The vault key is updated").isVisible(), { timeout: 15_000 }).toBe(true);
    // One rotate_keys (the first, cancelled), one resume — never a second start.
    expect(await calls(page, "rotate_keys")).toHaveLength(1);
    expect(await calls(page, "resume_rotation")).toHaveLength(1);
    await expectClean(s);
    await s.close();
  });

  test("re-encrypt everything: a clear warning with the time it takes, a new passphrase, and the new recovery key as soon as it exists", async () => {
    const s = await openApp(browser, { files: sampleFiles(), key: { files: 48_210, bytes: 54e9 }, rotationSteps: 8, rotationStepMs: 200 });
    const { page } = s;
    await unlock(page);
    await openKeys(page);
    await expect.poll(() => page.getByText("This rewrites 48,210 files (50 GB) and takes about 6 minutes.").isVisible()).toBe(true);
    expect(await page.getByText("nothing old opens anything", { exact: false }).isVisible()).toBe(true);
    await page.getByRole("button", { name: "Re-encrypt everything…" }).click();
    const dlg = page.getByRole("dialog", { name: "Re-encrypt everything?" });
    await dlg.waitFor();
    expect(await dlg.getByText("Only do this after a suspected compromise", { exact: false }).isVisible()).toBe(true);
    expect(await dlg.getByText("This takes about 6 minutes (at about 150 MB a second).").isVisible()).toBe(true);
    expect(await dlg.getByText("get a new recovery key, shown as soon as it is ready, before the files are rewritten", { exact: false }).isVisible()).toBe(true);
    await dlg.getByLabel("Your passphrase").fill(PASS);
    // A new passphrase is asked for unless the current one is kept.
    await dlg.getByRole("button", { name: "Re-encrypt everything" }).click();
    await expect.poll(() => dlg.getByText("Choose a passphrase of at least 10 characters", { exact: false }).isVisible()).toBe(true);
    expect(await calls(page, "rotate_keys")).toHaveLength(0);
    await dlg.getByLabel("New passphrase", { exact: true }).fill(NEW_PASS);
    await dlg.getByLabel("Type the new passphrase again").fill(NEW_PASS);
    await checkpoint(s, "37-keys-reencrypt-warning");
    await dlg.getByRole("button", { name: "Re-encrypt everything" }).click();
    // The new recovery key the moment it exists, with the progress under it.
    const show = page.getByRole("dialog", { name: "Write down your new recovery key" });
    await show.waitFor({ timeout: 15_000 });
    await expect.poll(() => show.locator(".recovery-chars").first().textContent()).toBe("QRSTUVWX");
    expect(await show.getByText("Your old recovery key no longer works.", { exact: false }).isVisible()).toBe(true);
    const panel = show.locator(".rotation-panel");
    await expect.poll(() => panel.locator("strong").textContent()).toBe("Re-encrypting every file");
    await expect.poll(() => panel.locator(".progress-count").textContent()).toMatch(/ of 48,210 files · [\d.]+ GB of 50 GB$/);
    await expect.poll(() => panel.locator(".rotation-eta").textContent()).toMatch(/^(About \d+ minutes?|Less than a minute) left$/);
    await page.keyboard.press("Escape");
    expect(await show.isVisible()).toBe(true);
    expect(await show.getByRole("button", { name: "Done" }).isDisabled()).toBe(true);
    await checkpoint(s, "38-keys-reencrypt-progress");
    await expect.poll(() => show.getByText(RESPONSE_DONE_REENCRYPT).isVisible(), { timeout: 15_000 }).toBe(true);
    await checkpoint(s, "39-keys-reencrypt-recovery-key");
    await show.getByLabel("I have written down my new recovery key").check();
    await show.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => show.count()).toBe(0);
    // Gone from the page once confirmed.
    await expect.poll(() => page.locator(".recovery-chars").count()).toBe(0);
    expect((await calls(page, "rotate_keys"))[0]!.args).toEqual({ passphrase: PASS, depth: "reencrypt", newPassphrase: NEW_PASS, onProgress: expect.stringMatching(/^__CHANNEL__:\d+$/) });
    await expect.poll(() => page.getByText("Every file is re-encrypted", { exact: true }).isVisible()).toBe(true);
    await expectClean(s);
    await s.close();
  });

  test("someone may know my passphrase: found next to it, says what it protects, new credentials at once, then what is protected", async () => {
    const s = await openApp(browser, { files: sampleFiles(), keychainEnrolled: true, key: { files: 12_000, bytes: 9e9 }, rotationSteps: 8, rotationStepMs: 250 });
    const { page } = s;
    await unlock(page);
    await openKeys(page);
    // What each response protects, beside it.
    const row = page.locator('.slot[data-kind="passphrase"]');
    expect(await row.locator(".slot-note").textContent()).toBe("Changing it: the old passphrase stops working with this copy of the vault, but not with older copies (backups).");
    expect(await page.locator(".card-body-foot .hint").textContent()).toMatch(/Scheduled hygiene, not a revocation/);
    expect(await page.getByText("Old copies of the vault's settings (backups, synced history) no longer open anything added from now on.", { exact: false }).first().isVisible()).toBe(true);

    await row.getByRole("button", { name: "I think someone knows my passphrase or recovery key" }).click();
    const dlg = page.getByRole("dialog", { name: "Someone may know your passphrase or recovery key" });
    await dlg.waitFor();
    expect(await dlg.getByText("The old passphrase and recovery key stop working.", { exact: false }).isVisible()).toBe(true);
    expect(await dlg.getByText("12,000 files — about 10 seconds.", { exact: false }).isVisible()).toBe(true);
    await dlg.getByLabel("Your passphrase").fill(PASS);
    // The passphrase in use may be the one that is known: refused as the new one.
    await dlg.getByLabel("New passphrase", { exact: true }).fill(PASS);
    await dlg.getByLabel("Type the new passphrase again").fill(PASS);
    await dlg.getByRole("button", { name: "Replace keys and credentials" }).click();
    await expect.poll(() => dlg.getByText("That's the passphrase in use now, which someone may know.", { exact: false }).isVisible()).toBe(true);
    expect(await calls(page, "rotate_keys")).toHaveLength(0);
    await checkpoint(s, "39a-keys-exposed");
    await dlg.getByLabel("New passphrase", { exact: true }).fill(NEW_PASS);
    await dlg.getByLabel("Type the new passphrase again").fill(NEW_PASS);
    await dlg.getByRole("button", { name: "Replace keys and credentials" }).click();

    const show = page.getByRole("dialog", { name: "Write down your new recovery key" });
    await show.waitFor({ timeout: 15_000 });
    await expect.poll(() => show.locator(".recovery-chars").first().textContent()).toBe("QRSTUVWX");
    expect(await show.getByText("Unlock with your new passphrase from now on.", { exact: false }).isVisible()).toBe(true);
    await expect.poll(() => show.locator(".rotation-panel strong").textContent()).toBe("Replacing the vault's keys");
    await checkpoint(s, "39b-keys-exposed-recovery-key");
    await expect.poll(() => show.getByText(RESPONSE_DONE_REKEY).isVisible(), { timeout: 15_000 }).toBe(true);
    await show.getByLabel("I have written down my new recovery key").check();
    await show.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => show.count()).toBe(0);
    await expect.poll(() => page.getByText("The vault's keys and credentials are replaced").isVisible()).toBe(true);
    const rk = await calls(page, "rotate_keys");
    expect(rk).toHaveLength(1);
    expect(rk[0]!.args).toEqual({ passphrase: PASS, depth: "rekey", newPassphrase: NEW_PASS, onProgress: expect.stringMatching(/^__CHANNEL__:\d+$/) });
    await expect.poll(() => page.locator(".facts-key dd").first().textContent()).toBe("2");

    // The old passphrase no longer unlocks; the new one does.
    await page.getByRole("button", { name: "Lock", exact: true }).click();
    await page.getByRole("heading", { name: "Coffer is locked" }).waitFor();
    await page.getByLabel("Passphrase", { exact: true }).fill(PASS);
    await page.getByRole("button", { name: "Unlock", exact: true }).click();
    await expect.poll(() => page.getByText("Wrong passphrase.", { exact: true }).isVisible()).toBe(true);
    await unlock(page, NEW_PASS);
    await expectClean(s);
    await s.close();
  });

  test("only the recovery key was exposed: the passphrase is kept; stopped mid-way, the new key was already shown and the rest resumes", async () => {
    const s = await openApp(browser, { files: sampleFiles(), keychainEnrolled: true, keychainFailsOnRotation: true, key: { files: 12_000, bytes: 9e9 }, rotationSteps: 12, rotationStepMs: 300 });
    const { page } = s;
    await unlock(page);
    await openKeys(page);
    await page.getByRole("button", { name: "Replace keys and credentials…" }).click();
    const dlg = page.getByRole("dialog", { name: "Someone may know your passphrase or recovery key" });
    await dlg.getByLabel("Your passphrase").fill(PASS);
    await dlg.getByLabel("Only my recovery key was exposed — keep my passphrase").check();
    expect(await dlg.getByLabel("New passphrase", { exact: true }).isVisible()).toBe(false);
    await dlg.getByRole("button", { name: "Replace keys and credentials" }).click();

    const show = page.getByRole("dialog", { name: "Write down your new recovery key" });
    await show.waitFor({ timeout: 15_000 });
    expect(await show.getByText("Your passphrase stays as it is.", { exact: false }).isVisible()).toBe(true);
    // The keychain could not keep its new secret: told at once, the rest goes on.
    await expect.poll(() => page.getByText("Unlocking with this computer's keychain is off").isVisible()).toBe(true);
    const panel = show.locator(".rotation-panel");
    await expect.poll(() => panel.locator(".progress-count").textContent()).toMatch(/^[1-9][\d,]* of 12,000 files$/);
    await show.getByRole("button", { name: "Cancel the key update" }).click();
    await expect.poll(() => show.getByText("Stopped — it will continue next time").isVisible()).toBe(true);
    expect(await show.locator(".pending-detail").textContent()).toMatch(/The new passphrase and recovery key already work\./);
    // The new recovery key stays on screen until it is written down.
    await expect.poll(() => show.locator(".recovery-chars").first().textContent()).toBe("QRSTUVWX");
    await checkpoint(s, "39c-keys-exposed-stopped");
    await show.getByLabel("I have written down my new recovery key").check();
    await show.getByRole("button", { name: "Done" }).click();
    expect((await calls(page, "rotate_keys"))[0]!.args).toEqual({ passphrase: PASS, depth: "rekey", keepPassphrase: true, onProgress: expect.stringMatching(/^__CHANNEL__:\d+$/) });

    // The kept passphrase unlocks; the rest continues by itself.
    await page.getByRole("button", { name: "Lock", exact: true }).click();
    await unlock(page, PASS);
    const home = page.locator(".page-home .rotation-panel");
    await expect.poll(() => home.locator("strong").textContent()).toBe("Continuing to replace the vault's keys");
    await expect.poll(() => page.getByText("The vault's keys and credentials are replaced").isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await calls(page, "rotate_keys")).toHaveLength(1);
    expect(await calls(page, "resume_rotation")).toHaveLength(1);
    await expectClean(s);
    await s.close();
  });

  test("remove and add the organisation escrow; a policy-required slot can't be removed", async () => {
    const s = await openApp(browser, { files: sampleFiles(), key: { escrow: true, recoveryRequired: true }, dialogs: ["/home/sam/Downloads/clinic-escrow.pub"] });
    const { page } = s;
    await unlock(page);
    await openKeys(page);
    expect(await page.getByRole("button", { name: "Remove recovery key" }).count()).toBe(0);
    expect(await page.locator('.slot[data-kind="recovery"]').getByText("Required by your organisation").isVisible()).toBe(true);

    await page.getByRole("button", { name: "Remove organisation escrow" }).click();
    const rm = page.getByRole("dialog", { name: "Remove organisation escrow?" });
    await rm.waitFor();
    await rm.getByLabel("Your passphrase").fill(PASS);
    await checkpoint(s, "40-keys-remove-escrow");
    await rm.getByRole("button", { name: "Remove" }).click();
    await expect.poll(() => slotState(page, "escrow")).toBe("Not set up");
    expect((await calls(page, "remove_slot")).map((c) => c.args)).toEqual([{ kind: "escrow", passphrase: PASS }]);
    await dismissToasts(page);

    await page.getByRole("button", { name: "Add organisation escrow" }).click();
    const add = page.getByRole("dialog", { name: "Add organisation escrow?" });
    await add.waitFor();
    expect(await add.getByText("/home/sam/Downloads/clinic-escrow.pub").isVisible()).toBe(true);
    const picked = await page.evaluate(() => (window as unknown as MockWindow).__mock.dialogCalls);
    expect(picked).toEqual([{ title: "Choose the organisation's escrow public key", multiple: false, directory: false }]);
    await add.getByLabel("Your passphrase").fill(PASS);
    await add.getByRole("button", { name: "Add escrow" }).click();
    await expect.poll(() => slotState(page, "escrow")).toBe("Set up");
    expect((await calls(page, "enrol_escrow")).map((c) => c.args)).toEqual([{ passphrase: PASS, publicKeyPath: "/home/sam/Downloads/clinic-escrow.pub" }]);
    await expect.poll(() => page.getByText("Organisation escrow is set up").isVisible()).toBe(true);
    await checkpoint(s, "41-keys-escrow-added");
    await expectClean(s);
    await s.close();
  });

  test("computer login: turn on and remove from Keys, each with the passphrase", async () => {
    const s = await openApp(browser, { keychainEnrolled: false });
    const { page } = s;
    await unlock(page);
    await openKeys(page);
    await page.getByRole("button", { name: "Turn on computer login" }).click();
    const on = page.getByRole("dialog", { name: "Unlock with your computer login?" });
    await on.getByLabel("Your passphrase").fill(PASS);
    await on.getByRole("button", { name: "Turn on" }).click();
    await expect.poll(() => slotState(page, "keychain")).toBe("Set up");
    expect((await calls(page, "set_keychain_unlock")).map((c) => c.args)).toEqual([{ enabled: true, passphrase: PASS }]);
    await page.getByRole("button", { name: "Remove computer login" }).click();
    const off = page.getByRole("dialog", { name: "Stop unlocking with your computer login?" });
    await off.getByLabel("Your passphrase").fill(PASS);
    await off.getByRole("button", { name: "Remove" }).click();
    await expect.poll(() => slotState(page, "keychain")).toBe("Not set up");
    expect((await calls(page, "remove_slot")).map((c) => c.args)).toEqual([{ kind: "keychain", passphrase: PASS }]);
    await expectClean(s);
    await s.close();
  });
});

describe("activity", () => {
  test("timeline: verified chain, chart, filters by period, what happened, user and file", async () => {
    const s = await openApp(browser, { files: sampleFiles(), audit: { count: 360, days: 21 } });
    const { page } = s;
    await unlock(page);
    await openActivity(page);
    await expect.poll(() => page.locator(".chain-title").textContent()).toBe("Verified: all 361 records in the log are intact");
    expect(await page.locator(".chain").getAttribute("class")).toContain("chain-ok");
    // One bar per day, weekends included (as zero).
    const bars = await page.locator(".chart-col").count();
    expect(bars).toBeGreaterThanOrEqual(18);
    expect(bars).toBeLessThanOrEqual(22);
    expect(await page.locator(".chart-col-zero").count()).toBeGreaterThan(0);
    // File names are shown (the vault is unlocked), newest first.
    await expect.poll(() => page.locator(".grid-audit .col-file .name").count()).toBeGreaterThan(0);
    expect(await page.locator(".list-summary").textContent()).toMatch(/^\d+ events$/);
    // No date field looks like an active filter: the period is a choice.
    expect(await page.getByLabel("Period").inputValue()).toBe("");
    expect(await page.getByLabel("From", { exact: true }).isVisible()).toBe(false);
    // Names people recognise: the account and the computer's name, not its id.
    const who = await page.locator(".grid-audit .grid-body .col-user").first().textContent();
    expect(who).toMatch(/^(sam|priya|dr\.okafor)reception-pc$/);
    expect(await page.locator(".grid-audit .grid-body").textContent()).not.toContain("7f3a9c01e2d4b5a6");
    // No internal record kinds in the filter: what an auditor asks about.
    const shows = await page.getByLabel("Show", { exact: true }).locator("option").allTextContents();
    expect(shows).toEqual(["Everything", "Unlocks and locks", "Files opened or copied out", "Files added or protected", "Files or folders removed", "Passphrase and key changes", "Warnings only", "Reports and settings"]);
    await checkpoint(s, "42-activity");

    await page.getByLabel("User", { exact: true }).selectOption("priya");
    await expect.poll(() => calls(page, "audit_events").then((c) => c.at(-1)!.args)).toEqual({ query: { user: "priya" } });
    await expect.poll(() => page.locator(".grid-audit .grid-body .who-user").allTextContents().then((u) => [...new Set(u)])).toEqual(["priya"]);
    await page.getByLabel("Show", { exact: true }).selectOption("opened");
    await expect.poll(() => page.locator(".grid-audit .grid-body .action-label").allTextContents().then((u) => [...new Set(u)].sort())).toEqual(["Copy saved outside the vault", "File opened"]);
    // Applied on screen: the query is unchanged.
    expect((await calls(page, "audit_events")).at(-1)!.args).toEqual({ query: { user: "priya" } });
    await page.getByLabel("File name").fill("referral");
    await expect.poll(() => calls(page, "audit_events").then((c) => c.at(-1)!.args)).toEqual({ query: { user: "priya", file: "referral" } });
    await expect.poll(() => page.locator(".grid-audit .grid-body .col-file").allTextContents().then((u) => u.length > 0 && u.every((n) => /referral/i.test(n)))).toBe(true);
    await expect.poll(() => page.locator(".list-summary").textContent()).toMatch(/^\d+ events? match(es)?$/);

    // Choosing dates shows the fields filled with real dates; "to" is
    // inclusive on screen, exclusive in the query (next local midnight).
    const day = (offset: number) => page.evaluate((o) => {
      const d = new Date(Date.now() - o * 86_400_000);
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    }, offset);
    await page.getByLabel("File name").fill("");
    await page.getByLabel("Period").selectOption("custom");
    expect(await page.getByLabel("From", { exact: true }).inputValue()).toBe(await day(29));
    expect(await page.getByLabel("To", { exact: true }).inputValue()).toBe(await day(0));
    const from = await day(6);
    const to = await day(2);
    await page.getByLabel("From", { exact: true }).fill(from);
    await page.getByLabel("To", { exact: true }).fill(to);
    const expected = await page.evaluate(([f, t]) => {
      const [fy, fm, fd] = f!.split("-").map(Number);
      const [ty, tm, td] = t!.split("-").map(Number);
      return { from: new Date(fy!, fm! - 1, fd!).toISOString(), to: new Date(ty!, tm! - 1, td! + 1).toISOString() };
    }, [from, to]);
    await expect.poll(() => calls(page, "audit_events").then((c) => c.at(-1)!.args)).toEqual({ query: { user: "priya", ...expected } });
    await expect.poll(() => page.locator(".chart-col").count()).toBe(5);
    await checkpoint(s, "43-activity-filtered");

    // An event's details: host name first, the id beside it, nothing cut off.
    await page.getByRole("grid").focus();
    await page.keyboard.press("Enter");
    const rec = page.getByRole("dialog");
    await rec.waitFor();
    expect(await rec.getByText("reception-pc", { exact: true }).isVisible()).toBe(true);
    expect(await rec.getByText("7f3a9c01e2d4b5a6", { exact: true }).isVisible()).toBe(true);
    await rec.getByRole("button", { name: "Close" }).click();

    await page.getByRole("button", { name: "Clear filters" }).first().click();
    await expect.poll(() => calls(page, "audit_events").then((c) => c.at(-1)!.args)).toEqual({ query: {} });
    await expectClean(s);
    await s.close();
  });

  test("an auditor's reading: protect + watcher is one event, status folded, the command line named", async () => {
    const at = (min: number, sec = 0) => new Date(Date.now() - 3_600_000 + min * 60_000 + sec * 1000).toISOString();
    const r = (o: Record<string, unknown>) => ({ user: "sam", label: "x", detail: "", ...o });
    const records = [
      r({ time: at(0), action: "vault_created" }),
      r({ time: at(1), action: "unlock", facts: { method: "passphrase" } }),
      r({ time: at(2), action: "status", detail: "key version 1, 0 files" }),
      r({ time: at(3), action: "protect" }),
      r({ time: at(3, 1), action: "plaintext_found", facts: { count: 2 } }),
      r({ seq: 6, time: at(3, 2), action: "file_added", facts: { by: "app" }, fileId: "a1", fileName: "Scans/already-here.txt" }),
      r({ seq: 6, time: at(3, 2), action: "file_added", facts: { by: "app" }, fileId: "a2", fileName: "Scans/intake.pdf" }),
      r({ seq: 7, time: at(3, 9), action: "file_added", facts: { by: "watcher" }, fileId: "a3", fileName: "Scans/letter.txt" }),
      r({ seq: 8, time: at(5), action: "unlock", facts: { method: "passphrase" } }),
      r({ seq: 9, time: at(5, 1), action: "lock", facts: { reason: "process_end" } }),
    ].map((x, i) => ({ seq: i + 1, ...x }));
    const s = await openApp(browser, { files: sampleFiles(), audit: { records } });
    const { page } = s;
    await unlock(page);
    await openActivity(page);
    const titles = () => page.locator(".grid-audit .grid-body .action-label").allTextContents();
    // Newest first; the mock's own unlock is the newest.
    await expect.poll(titles).toEqual(["Unlocked", "Command line finished", "Unlocked", "Folder protected: Scans", "Unlocked", "Vault created"]);
    expect(await page.locator(".grid-audit .grid-body .row-alert").count()).toBe(0);
    const detail = (i: number) => page.locator(".grid-audit .grid-body .cell-detail").nth(i).textContent();
    expect(await detail(1)).toBe("A coffer command ended and forgot its keys; the app is not affected. By the command line.");
    expect(await detail(2)).toBe("Unlocked with the passphrase. By the command line.");
    expect(await detail(3)).toBe("3 files in it encrypted into the vault; new files are encrypted as they arrive. By the Coffer app.");
    await expect.poll(() => page.locator(".list-summary").textContent()).toBe("6 events · 1 status record hidden");
    await checkpoint(s, "48-activity-folded");
    // The details are whole: every line fits its cell.
    const cut = await page.evaluate(() => [...document.querySelectorAll<HTMLElement>(".grid-audit .grid-body .cell-detail")].filter((e) => e.scrollHeight > e.clientHeight + 1).map((e) => e.textContent));
    expect(cut).toEqual([]);
    // Status records on request, for IT.
    await page.getByLabel("Include status records (for IT)").check();
    await expect.poll(titles).toContain("Status snapshot");
    await expect.poll(() => page.locator(".list-summary").textContent()).toBe("7 events");
    // The folded event lists each file and record.
    await page.locator(".grid-audit .grid-body .grid-row").filter({ hasText: "Folder protected: Scans" }).dblclick();
    const rec = page.getByRole("dialog", { name: "Folder protected: Scans" });
    await rec.waitFor();
    expect(await rec.locator(".record-files li").allTextContents()).toEqual(["Scans/already-here.txt", "Scans/intake.pdf", "Scans/letter.txt"]);
    expect(await rec.getByText("4, 5, 6, 7", { exact: true }).isVisible()).toBe(true);
    await rec.getByRole("button", { name: "Close" }).click();
    await expectClean(s);
    await s.close();
  });

  test("thousands of records stay fast: only the rows in view are in the page", async () => {
    const s = await openApp(browser, { audit: { count: 6000, days: 60 } });
    const { page } = s;
    await unlock(page);
    await openActivity(page);
    await expect.poll(() => page.locator(".list-summary").textContent()).toMatch(/^[\d,]+ events shown · the list stops here; choose a shorter period to see the rest$/);
    expect(await page.locator(".grid-audit .grid-body .grid-row").count()).toBeLessThan(60);
    // 60 days is shown by day; the grid scrolls to the oldest shown.
    await page.getByRole("grid").focus();
    await page.keyboard.press("End");
    const n = await page.locator(".grid-audit").getAttribute("aria-rowcount");
    await expect.poll(() => page.locator(".grid-audit .grid-row.is-active").getAttribute("aria-rowindex")).toBe(n);
    expect(await page.locator(".grid-audit .grid-body .grid-row").count()).toBeLessThan(60);
    await expectClean(s);
    await s.close();
  });

  test("a broken chain is shown prominently with what to do", async () => {
    const s = await openApp(browser, { files: sampleFiles(), audit: { count: 240, days: 14, brokenAt: 187 } });
    const { page } = s;
    await unlock(page);
    await openActivity(page);
    const chain = page.getByRole("alert").filter({ hasText: "Broken at record 187" });
    await chain.waitFor();
    expect(await chain.getByText("Record 187 doesn't match the record before it", { exact: false }).isVisible()).toBe(true);
    expect(await chain.getByText("Records up to 186 are intact", { exact: false }).isVisible()).toBe(true);
    expect(await chain.getByText("Export an access report now and contact IT", { exact: false }).isVisible()).toBe(true);
    await checkpoint(s, "44-activity-broken-chain");
    await expectClean(s);
    await s.close();
  });

  test("export an access report of the filtered records: format, save dialog, destination", async () => {
    const s = await openApp(browser, { files: sampleFiles(), dialogs: ["/home/sam/Documents/access-priya.csv"] });
    const { page } = s;
    await unlock(page);
    await openActivity(page);
    await page.getByLabel("User", { exact: true }).selectOption("priya");
    await expect.poll(() => page.locator(".list-summary").textContent()).toMatch(/match/);
    await page.getByRole("button", { name: "Export access report…" }).click();
    const dlg = page.getByRole("dialog", { name: "Export an access report" });
    await dlg.waitFor();
    expect(await dlg.getByText(/^The \d+ records in the chosen period, user and file\.$/).isVisible()).toBe(true);
    await dlg.getByLabel("Format").selectOption("csv");
    await checkpoint(s, "45-activity-export");
    await dlg.getByRole("button", { name: "Choose where to save…" }).click();
    await expect.poll(() => page.getByText("Access report saved").isVisible()).toBe(true);
    const ex = await calls(page, "export_access_report");
    expect(ex.map((c) => c.args)).toEqual([{ query: { user: "priya" }, format: "csv", dest: "/home/sam/Documents/access-priya.csv" }]);
    const saved = await page.evaluate(() => (window as unknown as MockWindow).__mock.dialogCalls);
    expect(saved).toEqual([
      { save: true, title: "Save the access report", defaultPath: expect.stringMatching(/^coffer-access-report-\d{4}-\d{2}-\d{2}\.csv$/), filters: [{ name: "CSV spreadsheet", extensions: ["csv"] }] },
    ]);
    // Cancelling the save dialog keeps the export dialog open and sends nothing.
    await page.getByRole("button", { name: "Export access report…" }).click();
    await dlg.getByRole("button", { name: "Choose where to save…" }).click();
    await page.waitForTimeout(150);
    expect(await dlg.isVisible()).toBe(true);
    expect(await calls(page, "export_access_report")).toHaveLength(1);
    await dlg.getByRole("button", { name: "Cancel" }).click();
    await expectClean(s);
    await s.close();
  });

  test("incident report: when it was lost, format, save, then the verdict", async () => {
    const s = await openApp(browser, { files: sampleFiles(), dialogs: ["/home/sam/Documents/incident.pdf"] });
    const { page } = s;
    await unlock(page);
    await openActivity(page);
    await page.getByRole("button", { name: "Incident report…" }).click();
    const dlg = page.getByRole("dialog", { name: "Was the data on this computer safe?" });
    await dlg.waitFor();
    expect(await dlg.getByText(/HIPAA's “safe harbor” rule, losing patient data that was properly encrypted/).isVisible()).toBe(true);
    // Lost yesterday at 19:30, after the last lock of the day.
    const lost = await page.evaluate(() => {
      const d = new Date(Date.now() - 86_400_000);
      const p = (n: number) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T19:30`;
    });
    await dlg.getByLabel("When was the computer lost or stolen?").fill(lost);
    await dlg.getByLabel("Format").selectOption("pdf");
    await checkpoint(s, "46-activity-incident");
    await dlg.getByRole("button", { name: "Choose where to save…" }).click();
    const res = page.getByRole("dialog", { name: "Incident report saved" });
    await res.waitFor();
    const args = (await calls(page, "export_incident_report"))[0]!.args;
    const expectedLostAt = await page.evaluate((v) => new Date(v).toISOString(), lost);
    expect(args).toEqual({ lostAt: expectedLostAt, format: "pdf", dest: "/home/sam/Documents/incident.pdf" });
    // Plain words first, the report's wording under them, then what to do.
    await expect.poll(() => res.locator(".verdict-answer").textContent()).toMatch(/^(Yes — the files were locked|No — the vault was unlocked)/);
    await expect.poll(() => res.locator(".verdict-text").textContent()).toMatch(/^Safe harbor (holds|does NOT hold)/);
    expect(await res.locator(".next-steps li").count()).toBe(3);
    expect(await res.getByText("Saved as /home/sam/Documents/incident.pdf").isVisible()).toBe(true);
    await checkpoint(s, "47-activity-incident-verdict");
    // "Open report" opens the saved file and keeps the next steps on screen.
    await res.getByRole("button", { name: "Open report" }).click();
    await expect.poll(() => page.evaluate(() => (window as unknown as MockWindow).__mock.state.openedReports)).toEqual(["/home/sam/Documents/incident.pdf"]);
    expect(await res.isVisible()).toBe(true);
    await res.getByRole("button", { name: "Done" }).click();
    await expectClean(s);
    await s.close();
  });
});
