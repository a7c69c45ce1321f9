// Shared plumbing for the browser flows: one Chromium per test file, a
// fresh context per test with the mocked backend injected, axe checks,
// screenshots, and a check that nothing broke the CSP or threw.

import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { expect, inject } from "vitest";

const require = createRequire(import.meta.url);
const UI = resolve(import.meta.dirname, "..");
export const SHOTS = resolve(UI, "test-results/screenshots");
const MOCK = resolve(import.meta.dirname, "tauri-mock.js");
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export const PASS = "correct horse battery staple";

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}

export type MockConfig = Record<string, unknown>;

export type Session = {
  page: Page;
  problems: string[];
  close: () => Promise<void>;
};

/** A new window on the app with the backend mock configured by `cfg`. */
export async function openApp(browser: Browser, cfg: MockConfig = {}): Promise<Session> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 }, deviceScaleFactor: 1, locale: "en-GB", timezoneId: "Europe/London" });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  await page.addInitScript((c) => {
    (window as unknown as { __COFFER_MOCK_CONFIG__: unknown }).__COFFER_MOCK_CONFIG__ = c;
    document.addEventListener("securitypolicyviolation", (e) => {
      const w = window as unknown as { __csp?: string[] };
      (w.__csp ??= []).push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  }, cfg);
  await page.addInitScript({ path: MOCK });
  await page.goto(inject("baseURL"));
  return {
    page,
    problems,
    close: async () => {
      await context.close();
    },
  };
}

/** Fails on CSP violations, page errors, console errors, or contract drift. */
export async function expectClean(s: Session): Promise<void> {
  const csp = await s.page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []);
  const contract = await s.page.evaluate(() => (window as unknown as { __mock: { contractErrors: string[] } }).__mock.contractErrors);
  expect(csp, "CSP violations").toEqual([]);
  expect(contract, "IPC contract errors").toEqual([]);
  expect(s.problems, "page problems").toEqual([]);
}

/** axe-core on the current screen: no serious or critical violations. */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  // evaluate() is not subject to the page's CSP (an injected <script> would be).
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: unknown, o: unknown) => Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  const minor = result.filter((v) => !(v.impact === "serious" || v.impact === "critical"));
  if (minor.length > 0 && process.env.AXE_VERBOSE) console.log(`[axe ${label}] minor:`, JSON.stringify(minor, null, 1));
  expect(bad, `axe serious/critical violations on ${label}`).toEqual([]);
}

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  // Let transitions settle so screenshots are stable.
  await page.waitForTimeout(450);
  await page.screenshot({ path: resolve(SHOTS, `${name}.png`) });
}

/** Screenshot + axe: every flow ends with this on its final screen. */
export async function checkpoint(s: Session, name: string): Promise<void> {
  await shot(s.page, name);
  await expectAccessible(s.page, name);
}

export type Call = { cmd: string; args: Record<string, unknown> };

export function calls(page: Page, cmd?: string): Promise<Call[]> {
  return page.evaluate((c) => {
    const all = (window as unknown as { __mock: { calls: Call[] } }).__mock.calls;
    return c ? all.filter((x) => x.cmd === c) : all;
  }, cmd);
}

export async function unlock(page: Page, pass = PASS): Promise<void> {
  await page.getByLabel("Passphrase", { exact: true }).fill(pass);
  await page.getByRole("button", { name: "Unlock", exact: true }).click();
  await page.getByRole("heading", { name: "Your vault is unlocked" }).waitFor();
}

/** A small, realistic vault for browsing. */
export function sampleFiles(): Record<string, unknown>[] {
  const day = 86_400e9;
  // Relative to now, so the list reads "Today", "Yesterday", … in screenshots.
  const t = (Math.floor(Date.now() / 60_000) * 60_000 - 2 * 3_600_000) * 1e6;
  const f = (path: string, size: number, ageDays: number, versions = 1) => ({ path, size, mtimeNs: t - ageDays * day, addedNs: t - ageDays * day, versions });
  return [
    f("Scans/2025-03-14 Referral — J. Okafor.pdf", 482_113, 0),
    f("Scans/2025-03-13 Lab results — M. Haddad.pdf", 1_204_551, 1),
    f("Scans/2025-03-12 Consent form — A. Silva.pdf", 233_870, 2, 2),
    f("Scans/2025-03-10 Insurance card — P. Novak.jpg", 3_412_005, 4),
    f("Scans/2025-02-28 Discharge summary — L. Brennan.pdf", 718_004, 14),
    f("Scans/2025-02-20 X-ray report — T. Nguyen.pdf", 96_431, 22, 3),
    f("Scans/Archive/2024-11-02 Referral — K. Mensah.pdf", 501_223, 132),
    f("Scans/Archive/2024-10-19 Lab results — R. Costa.pdf", 1_090_002, 146),
    f("Exports/Appointments March.csv", 48_210, 1),
    f("Exports/Billing Q1.xlsx", 211_908, 3),
    f("Exports/Patient list.xlsx", 132_777, 9, 4),
    f("Letters/Letter to Dr. Fischer.docx", 28_114, 2),
    f("Letters/Follow-up — S. Ahmed.docx", 31_006, 6),
    f("Letters/Sick note template.docx", 19_220, 40),
    f("Clinic handbook.pdf", 5_812_334, 60),
  ];
}

export const SAMPLE_FOLDERS = [
  { path: "/home/sam/Scans", name: "Scans" },
  { path: "/home/sam/Documents/Exports", name: "Exports", mandatory: true },
];
