// Files screen flows: browse, search, sort, 100,000 rows, add (with
// progress), drag and drop, open, save a copy, remove.

import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { calls, checkpoint, expectClean, launch, openApp, SAMPLE_FOLDERS, sampleFiles, unlock } from "./helpers";

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

const names = (page: Page) => page.locator(".grid-body .grid-row .name").allTextContents();
/** Visible row names in DOM order sorted by their row index. */
async function orderedNames(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>(".grid-body .grid-row")]
      .sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index))
      .map((r) => r.querySelector(".name")?.textContent ?? ""),
  );
}

async function openFiles(page: Page): Promise<void> {
  await unlock(page);
  await page.getByRole("button", { name: "Files", exact: true }).click();
  await page.getByRole("heading", { name: "Files", exact: true }).waitFor();
  await page.locator(".grid-body .grid-row").first().waitFor();
}

describe("files", () => {
  test("browse folders, search, and sort by name, size and date", async () => {
    const s = await openApp(browser, { files: sampleFiles(), folders: SAMPLE_FOLDERS });
    const { page } = s;
    await openFiles(page);
    await expect.poll(() => page.locator(".page-sub").textContent()).toMatch(/^15 files · 13 MB in the vault$/);
    // Top level: folders first, then files.
    expect(await orderedNames(page)).toEqual(["Exports", "Letters", "Scans", "Clinic handbook.pdf"]);
    await checkpoint(s, "10-files-top");

    // Into Scans by keyboard: focus the list, move, Enter.
    await page.getByRole("grid").focus();
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator(".crumb-current").textContent()).toBe("Scans");
    expect((await orderedNames(page))[0]).toBe("Archive");
    expect(await orderedNames(page)).toContain("2025-03-14 Referral — J. Okafor.pdf");

    // Sort by size, largest first; click again for smallest first.
    await page.getByRole("button", { name: "Size" }).click();
    await expect.poll(() => page.locator('[role="columnheader"][aria-sort="descending"]').textContent()).toMatch(/Size/);
    let order = await orderedNames(page);
    expect(order.slice(0, 2)).toEqual(["Archive", "2025-03-10 Insurance card — P. Novak.jpg"]);
    await page.getByRole("button", { name: "Size" }).click();
    order = await orderedNames(page);
    expect(order[1]).toBe("2025-02-20 X-ray report — T. Nguyen.pdf");
    // Date: newest first.
    await page.getByRole("button", { name: "Modified" }).click();
    order = await orderedNames(page);
    expect(order[1]).toBe("2025-03-14 Referral — J. Okafor.pdf");
    expect(order.at(-1)).toBe("2025-02-20 X-ray report — T. Nguyen.pdf");

    // Search covers the folder and everything below it, shows where each hit lives.
    await page.getByRole("searchbox", { name: "Search files" }).fill("referral");
    await expect.poll(() => names(page).then((n) => n.sort())).toEqual(["2024-11-02 Referral — K. Mensah.pdf", "2025-03-14 Referral — J. Okafor.pdf"]);
    expect(await page.locator(".grid-body .name-sub").allTextContents()).toContain("Scans/Archive");
    await checkpoint(s, "11-files-search");
    await page.getByRole("searchbox", { name: "Search files" }).fill("nothing like this");
    await expect.poll(() => page.getByText("No files match “nothing like this”").isVisible()).toBe(true);
    await page.getByRole("searchbox", { name: "Search files" }).press("Escape");
    await expect.poll(() => orderedNames(page).then((n) => n.length)).toBe(7);
    // Back to the top with the breadcrumb.
    // (still sorted by date, newest first; the folder we came from is selected)
    await page.getByRole("button", { name: "All files" }).click();
    await expect.poll(() => orderedNames(page)).toEqual(["Scans", "Exports", "Letters", "Clinic handbook.pdf"]);
    expect(await page.locator(".grid-row.is-active .name").textContent()).toBe("Scans");
    await expectClean(s);
    await s.close();
  });

  test("100,000 files: only a window of rows in the DOM, the end is reachable, sorting stays quick", async () => {
    const s = await openApp(browser, { files: { count: 100_000, folder: "Scans" }, folders: [SAMPLE_FOLDERS[0]] });
    const { page } = s;
    await unlock(page);
    await page.getByRole("button", { name: "Files", exact: true }).click();
    await page.getByRole("gridcell", { name: /^Scans/ }).dblclick();
    await expect.poll(() => page.locator(".crumb-current").textContent()).toBe("Scans");
    await expect.poll(() => page.getByRole("grid").getAttribute("aria-rowcount")).toBe("100001");
    const domRows = () => page.locator(".grid-body .grid-row").count();
    expect(await domRows()).toBeLessThan(60);
    expect((await orderedNames(page))[0]).toBe("scan-000001.pdf");

    // Scroll to the very end with the scrollbar.
    await page.getByRole("grid").evaluate((g) => (g.scrollTop = g.scrollHeight));
    await expect.poll(() => orderedNames(page).then((n) => n.at(-1))).toBe("scan-100000.pdf");
    expect(await domRows()).toBeLessThan(60);
    await expect.poll(() => page.getByText("scan-100000.pdf").isVisible()).toBe(true);
    await checkpoint(s, "12-files-100k-end");

    // Keyboard: Home goes back to the top, End to the bottom.
    await page.getByRole("grid").focus();
    await page.keyboard.press("Home");
    await expect.poll(() => page.getByText("scan-000001.pdf").isVisible()).toBe(true);
    await page.keyboard.press("End");
    await expect.poll(() => page.getByText("scan-100000.pdf").isVisible()).toBe(true);
    expect(await page.getByRole("grid").getAttribute("aria-activedescendant")).toMatch(/-99999$/);

    // Re-sorting 100,000 rows and scrolling stay responsive.
    const t0 = Date.now();
    await page.getByRole("button", { name: "Size" }).click();
    await expect.poll(() => page.locator('[role="columnheader"][aria-sort="descending"]').count()).toBe(1);
    const sortMs = Date.now() - t0;
    expect(sortMs).toBeLessThan(1500);
    const frame = await page.evaluate(async () => {
      const g = document.querySelector<HTMLElement>('[role="grid"]')!;
      const times: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t = performance.now();
        g.scrollTop = (g.scrollHeight * i) / 30;
        await new Promise((r) => requestAnimationFrame(() => r(null)));
        times.push(performance.now() - t);
      }
      return Math.max(...times);
    });
    expect(frame).toBeLessThan(250);
    expect(await domRows()).toBeLessThan(60);

    // Search across 100,000 names.
    await page.getByRole("searchbox", { name: "Search files" }).fill("099999");
    await expect.poll(() => names(page)).toEqual(["scan-099999.pdf"]);
    await expectClean(s);
    await s.close();
  });

  test("add files with the picker shows progress, then the result", async () => {
    const s = await openApp(browser, {
      files: sampleFiles(),
      folders: SAMPLE_FOLDERS,
      progressStepMs: 250,
      disk: { "/home/sam/Desktop/New scans": { files: 40, bytes: 40 * 300_000 } },
      dialogs: [["/home/sam/Desktop/intake form.pdf", "/home/sam/Desktop/New scans"]],
    });
    const { page } = s;
    await openFiles(page);
    await page.getByRole("button", { name: "Add files" }).click();
    const bar = page.locator("progress");
    await bar.waitFor();
    await expect.poll(() => page.locator(".progress-count").textContent()).toMatch(/of 41 files/);
    await checkpoint(s, "13-add-files-progress");
    await expect.poll(() => page.getByText("Added 41 files to the vault").isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => bar.count()).toBe(0);
    const add = await calls(page, "add_paths");
    expect(add).toHaveLength(1);
    expect(add[0]!.args.paths).toEqual(["/home/sam/Desktop/intake form.pdf", "/home/sam/Desktop/New scans"]);
    expect(add[0]!.args.onProgress).toMatch(/^__CHANNEL__:\d+$/);
    const pick = await page.evaluate(() => (window as unknown as { __mock: { dialogCalls: unknown[] } }).__mock.dialogCalls);
    expect(pick).toEqual([{ title: "Add files to the vault", multiple: true, directory: false }]);
    // The list refreshed: the new folder is there.
    await expect.poll(() => orderedNames(page)).toContain("New scans");
    await checkpoint(s, "14-add-files-done");
    await expectClean(s);
    await s.close();
  });

  test("drag and drop from the desktop adds the dropped paths", async () => {
    const s = await openApp(browser, { files: sampleFiles() });
    const { page } = s;
    await openFiles(page);
    await expect.poll(() => page.evaluate(() => (window as unknown as { __mock: { listenerCount: (e: string) => number } }).__mock.listenerCount("tauri://drag-drop"))).toBe(1);
    await page.evaluate(() => {
      const m = (window as unknown as { __mock: { emit: (e: string, p: unknown) => void } }).__mock;
      m.emit("tauri://drag-enter", { paths: ["/home/sam/Desktop/scan.pdf"], position: { x: 500, y: 400 } });
    });
    await page.locator(".drop-overlay").waitFor();
    await checkpoint(s, "15-drag-over");
    await page.evaluate(() => (window as unknown as { __mock: { dragDrop: (p: string[]) => void } }).__mock.dragDrop(["/home/sam/Desktop/scan.pdf"]));
    await expect.poll(() => page.getByText("Added 1 file to the vault").isVisible()).toBe(true);
    expect((await calls(page, "add_paths"))[0]!.args.paths).toEqual(["/home/sam/Desktop/scan.pdf"]);
    expect(await page.locator(".drop-overlay").isHidden()).toBe(true);
    // Leaving the Files screen stops listening.
    await page.getByRole("button", { name: "Home" }).click();
    await expect.poll(() => page.evaluate(() => (window as unknown as { __mock: { listenerCount: (e: string) => number } }).__mock.listenerCount("tauri://drag-drop"))).toBe(0);
    await expectClean(s);
    await s.close();
  });

  test("open a file (double-click and Enter), save a copy, remove with confirmation", async () => {
    const s = await openApp(browser, { files: sampleFiles(), dialogs: ["/home/sam/Desktop"] });
    const { page } = s;
    await openFiles(page);
    const handbook = page.getByRole("row", { name: /Clinic handbook\.pdf/ });
    await handbook.dblclick();
    await expect.poll(() => page.getByText("Opened “Clinic handbook.pdf”").isVisible()).toBe(true);
    const rows = await page.evaluate(() => (window as unknown as { __mock: { state: { files: { id: string; path: string }[] } } }).__mock.state.files);
    const id = rows.find((r) => r.path === "Clinic handbook.pdf")!.id;
    expect((await calls(page, "open_file")).map((c) => c.args)).toEqual([{ id }]);
    await checkpoint(s, "16-file-opened");

    // Enter on the selected row opens too.
    await page.getByRole("grid").focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => calls(page, "open_file").then((c) => c.length)).toBe(2);

    // Save a copy to a chosen folder.
    await page.getByRole("button", { name: "Save a copy of Clinic handbook.pdf" }).click();
    await expect.poll(() => page.getByText("Saved a copy of “Clinic handbook.pdf”").isVisible()).toBe(true);
    expect((await calls(page, "extract_file")).map((c) => c.args)).toEqual([{ id, destDir: "/home/sam/Desktop" }]);

    // Remove: asks first; Cancel keeps it; Remove removes it.
    await page.getByRole("button", { name: "Remove Clinic handbook.pdf" }).click();
    const dlg = page.getByRole("dialog", { name: "Remove “Clinic handbook.pdf”?" });
    await dlg.waitFor();
    // Focus starts on Cancel, the safe choice.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Cancel");
    await checkpoint(s, "17-remove-confirm");
    await page.keyboard.press("Escape");
    await expect.poll(() => dlg.count()).toBe(0);
    expect(await calls(page, "remove_file")).toHaveLength(0);
    await page.getByRole("grid").focus();
    await page.keyboard.press("Delete");
    await dlg.waitFor();
    await dlg.getByRole("button", { name: "Remove" }).click();
    await expect.poll(() => page.getByText("Removed “Clinic handbook.pdf”").isVisible()).toBe(true);
    expect((await calls(page, "remove_file")).map((c) => c.args)).toEqual([{ path: "Clinic handbook.pdf" }]);
    await expect.poll(() => orderedNames(page)).not.toContain("Clinic handbook.pdf");
    await expectClean(s);
    await s.close();
  });

  test("errors read as plain sentences; a locked error goes to the unlock screen", async () => {
    const s = await openApp(browser, { files: sampleFiles() });
    const { page } = s;
    await openFiles(page);
    await page.evaluate(() => (window as unknown as { __mock: { failNext: (c: string, code: string, m: string) => void } }).__mock.failNext("open_file", "io", "The disk is full. Free some space and try again; nothing was lost."));
    await page.getByRole("row", { name: /Clinic handbook\.pdf/ }).dblclick();
    await expect.poll(() => page.getByText("The disk is full. Free some space and try again; nothing was lost.").isVisible()).toBe(true);
    // No default app: a sentence, the launcher's words only behind "Details", never the working area's path.
    const launcher = 'Launcher "gio" "open" "[path]" failed with ExitStatus(unix_wait_status(512))';
    await page.evaluate((d) => (window as unknown as { __mock: { failNext: (c: string, code: string, m: string, d: string) => void } }).__mock.failNext("open_file", "no_app", "No app on this computer opens this kind of file. Install one that does, or ask IT; the file stays safe in the vault meanwhile.", d), launcher);
    await page.getByRole("row", { name: /Clinic handbook\.pdf/ }).dblclick();
    const t = page.locator(".toast-error").filter({ hasText: "Couldn't open “Clinic handbook.pdf”" });
    await t.waitFor();
    // (The disk-full toast above has the same title: it is replaced, wait for the new one.)
    await expect.poll(() => t.getByText("No app on this computer opens this kind of file.", { exact: false }).isVisible()).toBe(true);
    expect(await t.getByText(launcher).isVisible()).toBe(false);
    await t.getByText("Details", { exact: true }).click();
    expect(await t.getByText(launcher).isVisible()).toBe(true);
    await checkpoint(s, "17-open-no-app");
    // A plugin's bare string (not our {code, message}) is never the sentence either.
    await page.evaluate(() => (window as unknown as { __mock: { state: { failNext: Record<string, unknown> } } }).__mock.state.failNext.open_file = 'Launcher "gio" "open" "/tmp/coffer-work-1/x.pdf" failed');
    await page.getByRole("row", { name: /Clinic handbook\.pdf/ }).dblclick();
    await expect.poll(() => page.locator(".toast-error .toast-detail").last().textContent()).toBe("Try again. If it keeps happening, tell IT and show them the details.");
    expect(await page.locator(".toast-stack").textContent()).not.toContain("/tmp/coffer-work");
    expect(await page.locator(".toast-stack").textContent()).not.toContain("coffer-work-1");
    await page.evaluate(() => (window as unknown as { __mock: { failNext: (c: string, code: string, m: string) => void } }).__mock.failNext("open_file", "integrity", "The file failed its integrity check. Restore it from a backup."));
    await page.getByRole("row", { name: /Clinic handbook\.pdf/ }).dblclick();
    await page.locator(".banner-error").waitFor();
    await checkpoint(s, "18-errors");
    // The backend locked meanwhile (no event received): the next call says `locked`.
    await page.evaluate(() => {
      (window as unknown as { __mock: { state: { unlocked: boolean } } }).__mock.state.unlocked = false;
    });
    await page.getByRole("row", { name: /Clinic handbook\.pdf/ }).dblclick();
    await page.getByRole("heading", { name: "Coffer is locked" }).waitFor();
    await expectClean(s);
    await s.close();
  });
});
