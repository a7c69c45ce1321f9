// The app shell: which screen shows, the sidebar, and the reactions to
// backend events. Screens are plain functions returning a View; each gets
// the App only through the narrow context it needs (see view.ts).

import { ACTIVITY_EVENTS, ACTIVITY_INTERVAL_MS, throttle } from "./activity";
import { Backoff } from "./backoff";
import { closeAllDialogs } from "./components/dialog";
import { errorDetails } from "./components/error-details";
import { clearToasts, mountToasts, toast, toastError } from "./components/toast";
import { h, icon } from "./dom";
import { formatCountdown, formatMinutes, formatSize, plural } from "./format";
import {
  api,
  describeError,
  hasTauri,
  IpcError,
  on,
  onAnyError,
  toIpcError,
  type AppState,
  type LockReason,
  type RotationResult,
  type WatcherEvent,
} from "./ipc";
import { RESPONSE_DONE } from "./keys-model";
import { Rotation } from "./rotation";
import { activityView } from "./screens/audit";
import { filesView } from "./screens/files";
import { foldersView } from "./screens/folders";
import { homeView } from "./screens/home";
import { keysView } from "./screens/keys";
import { settingsView } from "./screens/settings";
import { recoverView, setupView, showNewRecoveryKey, unlockView } from "./screens/unlock";
import type { GateContext, Route, VaultContext, View, WatcherLogEntry } from "./view";

const NAV: { route: Route; label: string; icon: string }[] = [
  { route: "home", label: "Home", icon: "home" },
  { route: "files", label: "Files", icon: "files" },
  { route: "folders", label: "Protected folders", icon: "folder-lock" },
  { route: "activity", label: "Activity", icon: "activity" },
  { route: "keys", label: "Keys", icon: "key" },
  { route: "settings", label: "Settings", icon: "settings" },
];

const LOCK_NOTICE: Record<LockReason, (s: AppState | null) => string | undefined> = {
  manual: () => undefined,
  auto: (s) =>
    s ? `Locked automatically after ${s.autoLockSeconds != null ? formatCountdown(s.autoLockSeconds) : formatMinutes(s.autoLockMinutes)} without activity.` : "Locked automatically after a while without activity.",
  suspend: () => "Locked because the computer went to sleep.",
  screen_lock: () => "Locked because the screen was locked.",
  quit: () => undefined,
};

export class App implements VaultContext, GateContext {
  readonly root: HTMLElement;
  state: AppState | null = null;
  readonly backoff = new Backoff();
  readonly watcherLog: WatcherLogEntry[] = [];
  readonly rotation = new Rotation({
    done: (r) => this.onRotationDone(r),
    failed: (e) => toastError("The key update stopped", e),
    keychainFailed: (why) =>
      toast("Unlocking with this computer's keychain is off", "error", `${why} Your new passphrase and recovery key work; turn keychain unlock on again in Settings.`, 15000),
    recoveryKey: (key) =>
      void showNewRecoveryKey(key, "Your old recovery key no longer works. Keep this one on paper somewhere safe, away from this computer. Coffer shows it only once."),
  });
  private view: View | null = null;
  private route: Route = "home";
  private shell: { el: HTMLElement; main: HTMLElement; nav: Map<Route, HTMLButtonElement>; banner: HTMLElement } | null = null;
  private filesTimer: ReturnType<typeof setTimeout> | null = null;
  private stateTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(root: HTMLElement) {
    this.root = root;
  }

  get unlocked(): boolean {
    return this.shell !== null;
  }

  async start(): Promise<void> {
    mountToasts(document.body);
    this.installActivity();
    this.installShortcuts();
    onAnyError((e) => this.onError(e));
    if (hasTauri()) {
      await Promise.all([
        on("vault-locked", (p) => this.onLocked(p?.reason ?? "manual")),
        on("files-changed", () => this.scheduleFilesChanged()),
        on("watcher-event", (p) => this.onWatcherEvent(p)),
        on("rotation-pending", () => {
          if (this.unlocked) void this.checkPendingRotation();
        }),
      ]);
    }
    await this.boot();
  }

  /** Reads the state and shows the screen that fits it. */
  async boot(): Promise<void> {
    let s: AppState;
    try {
      s = await this.refreshState();
    } catch (e) {
      this.showFatal(toIpcError(e));
      return;
    }
    if (!s.vaultExists) this.showGate(setupView(this));
    else if (!s.unlocked) this.showUnlock();
    else this.enterVault("home");
  }

  async refreshState(): Promise<AppState> {
    const s = await api.appState();
    this.state = s;
    this.view?.stateChanged?.();
    return s;
  }

  /** Refreshes state soon, coalescing bursts of events. */
  scheduleState(): void {
    if (this.stateTimer) return;
    this.stateTimer = setTimeout(() => {
      this.stateTimer = null;
      this.refreshState().catch(() => {});
    }, 300);
  }

  // ------------------------------------------------------------ gate screens

  showUnlock(notice?: string): void {
    this.showGate(unlockView(this, notice));
  }

  showRecover(): void {
    this.showGate(recoverView(this));
  }

  showSetup(): void {
    this.showGate(setupView(this));
  }

  /** Full-window screens shown while locked (setup, unlock, recovery). */
  showGate(v: View): void {
    this.teardown();
    this.shell = null;
    const main = h("main", { class: "gate", attrs: { tabindex: "-1" } }, v.el);
    this.root.replaceChildren(main);
    this.mount(v);
  }

  private showFatal(err: IpcError): void {
    const t = describeError(err);
    const retry = h("button", { class: "btn btn-primary", text: "Try again", attrs: { type: "button" } });
    retry.addEventListener("click", () => void this.boot());
    const el = h(
      "section",
      { class: "gate-card" },
      h("div", { class: "gate-icon gate-icon-warn" }, icon("warning", "icon icon-lg")),
      h("h1", { class: "gate-title", text: "Coffer couldn't start", attrs: { tabindex: "-1" } }),
      h("p", { class: "gate-lead", text: `${t.title}. ${t.detail}` }),
      errorDetails(t.technical),
      h("div", { class: "gate-actions" }, retry),
    );
    this.showGate({ el, title: "Coffer" });
  }

  // ------------------------------------------------------------ unlocked

  /**
   * After unlock, recovery or creation: read the state first, so the first
   * screen never shows what was true while locked (or before the vault
   * existed, when nothing was being watched).
   */
  async enterVaultFresh(route: Route = "home"): Promise<void> {
    try {
      await this.refreshState();
    } catch {
      /* the screens refresh again on their own */
    }
    this.enterVault(route);
  }

  /** After unlock or creation: the sidebar shell with a screen in it. */
  enterVault(route: Route = "home"): void {
    this.backoff.succeed();
    this.teardown();
    const nav = new Map<Route, HTMLButtonElement>();
    const navList = h("ul", { class: "nav-list" });
    for (const n of NAV) {
      const b = h("button", { class: "nav-item", attrs: { type: "button" } }, icon(n.icon), h("span", { text: n.label }));
      // A toast is about the screen it came from: it must not sit over the
      // next screen's data.
      b.addEventListener("click", () => {
        if (n.route !== this.route) clearToasts();
        this.navigate(n.route);
      });
      nav.set(n.route, b);
      navList.appendChild(h("li", null, b));
    }
    const lockBtn = h("button", { class: "btn btn-secondary btn-block sidebar-lock", attrs: { type: "button" } }, icon("lock"), h("span", { text: "Lock" }));
    lockBtn.addEventListener("click", () => void this.lockNow());
    const sidebar = h(
      "nav",
      { class: "sidebar", attrs: { "aria-label": "Coffer" } },
      h("div", { class: "brand" }, h("span", { class: "brand-mark" }, icon("shield")), h("span", { class: "brand-name", text: "Coffer" })),
      navList,
      h("div", { class: "sidebar-foot" }, h("p", { class: "sidebar-status" }, h("span", { class: "dot dot-ok", attrs: { "aria-hidden": "true" } }), h("span", { text: "Unlocked" })), lockBtn),
    );
    const banner = h("div", { class: "banner-slot" });
    const main = h("main", { class: "main", id: "main", attrs: { tabindex: "-1" } });
    const el = h("div", { class: "shell" }, sidebar, h("div", { class: "content" }, banner, main));
    this.shell = { el, main, nav, banner };
    this.root.replaceChildren(el);
    this.navigate(route, true);
    void this.checkPendingRotation();
  }

  navigate(route: Route, force = false): void {
    if (!this.shell) return;
    if (!force && route === this.route && this.view) {
      this.focusView(this.view);
      return;
    }
    this.teardown();
    this.route = route;
    for (const [r, b] of this.shell.nav) {
      if (r === route) b.setAttribute("aria-current", "page");
      else b.removeAttribute("aria-current");
    }
    const v =
      route === "home"
        ? homeView(this)
        : route === "files"
          ? filesView(this)
          : route === "folders"
            ? foldersView(this)
            : route === "activity"
              ? activityView(this)
              : route === "keys"
                ? keysView(this)
                : settingsView(this);
    this.shell.main.replaceChildren(v.el);
    this.shell.main.scrollTop = 0;
    this.mount(v);
  }

  private mount(v: View): void {
    this.view = v;
    document.title = v.title === "Coffer" ? "Coffer" : `${v.title} — Coffer`;
    this.focusView(v);
  }

  private focusView(v: View): void {
    const t = v.focusTarget?.() ?? v.el.querySelector<HTMLElement>("h1");
    if (t) {
      if (!t.hasAttribute("tabindex") && !/^(INPUT|BUTTON|SELECT|TEXTAREA|A)$/.test(t.tagName)) t.setAttribute("tabindex", "-1");
      t.focus({ preventScroll: false });
    }
  }

  private teardown(): void {
    if (this.view) {
      try {
        this.view.destroy?.();
      } catch {
        /* a failing destroy must not block navigation */
      }
      this.view = null;
    }
  }

  async lockNow(): Promise<void> {
    try {
      await api.lock();
    } catch (e) {
      toastError(null, e);
      return;
    }
    // The backend also emits vault-locked; going there now makes the
    // button feel instant and does not depend on the event.
    this.onLocked("manual");
  }

  /** Keys are gone: forget everything shown, go to the unlock screen. */
  onLocked(reason: LockReason): void {
    const wasUnlocked = this.unlocked;
    if (this.state) this.state = { ...this.state, unlocked: false };
    // Already on a locked screen (e.g. our own lockNow, then the event).
    if (!wasUnlocked) return;
    closeAllDialogs();
    clearToasts();
    this.watcherLog.length = 0;
    this.rotation.reset();
    this.showUnlock(LOCK_NOTICE[reason](this.state));
    this.scheduleState();
  }

  banner(kind: "error" | "warning", title: string, detail: string): void {
    if (!this.shell) {
      toast(title, "error", detail);
      return;
    }
    const close = h("button", { class: "btn btn-ghost btn-sm", text: "Dismiss", attrs: { type: "button" } });
    const b = h(
      "div",
      { class: ["banner", `banner-${kind}`], attrs: { role: "alert" } },
      icon("warning"),
      h("div", { class: "banner-text" }, h("strong", { text: title }), h("span", { text: detail })),
      close,
    );
    close.addEventListener("click", () => b.remove());
    this.shell.banner.replaceChildren(b);
  }

  // ------------------------------------------------------------ key rotation

  /**
   * An interrupted rotation (found at unlock, or announced by the
   * `rotation-pending` event) continues by itself: it needs no passphrase.
   */
  async checkPendingRotation(): Promise<void> {
    if (this.rotation.running) return;
    try {
      const k = await api.keyInfo();
      if (!this.unlocked || this.rotation.running) return;
      this.rotation.noteKeyInfo(k);
      if (k.pending) this.resumeRotation();
    } catch {
      /* key_info failing must not block the vault; the Keys screen says why */
    }
  }

  resumeRotation(): void {
    const r = this.rotation.resume();
    r?.started.catch((e) => toastError("Couldn't continue the key update", e));
  }

  private onRotationDone(r: RotationResult): void {
    const what = r.depth === "reencrypt" ? `Re-encrypted ${plural(r.files, "file", "files")} (${formatSize(r.bytes)})` : `Updated the keys of ${plural(r.files, "file", "files")}`;
    const old = r.destroyedVersions.length > 0 ? ` The old key (version ${r.destroyedVersions.join(", ")}) was destroyed.` : "";
    const title = r.depth === "reencrypt" ? "Every file is re-encrypted" : r.depth === "rekey" ? "The vault's keys and credentials are replaced" : "The vault key is updated";
    const protects = r.depth === "rewrap" ? "" : ` ${RESPONSE_DONE[r.depth]}`;
    toast(title, "success", `${what}; key version ${r.keyVersion}.${old}${protects}`, r.depth === "rewrap" ? 9000 : 15000);
    void this.refreshState().catch(() => {});
    this.view?.keysChanged?.();
  }

  // ------------------------------------------------------------ events

  private onError(e: IpcError): void {
    if (e.code === "locked" && this.unlocked) {
      this.onLocked("auto");
    } else if (e.code === "integrity") {
      const t = describeError(e);
      this.banner("error", t.title, t.detail);
    }
  }

  private scheduleFilesChanged(): void {
    if (!this.unlocked) return;
    if (this.filesTimer) clearTimeout(this.filesTimer);
    this.filesTimer = setTimeout(() => {
      this.filesTimer = null;
      if (!this.unlocked) return;
      this.view?.filesChanged?.();
      this.scheduleState();
    }, 250);
  }

  private onWatcherEvent(e: WatcherEvent): void {
    if (!e) return;
    const now = Date.now();
    const last = this.watcherLog[0];
    // Bursts of single-file events read as one line: "Encrypted 120 files".
    if (last && last.kind === e.kind && e.kind !== "warning" && now - last.atMs < 10_000) {
      last.count += e.count;
      last.atMs = now;
    } else {
      this.watcherLog.unshift({ ...e, atMs: now });
      this.watcherLog.length = Math.min(this.watcherLog.length, 20);
    }
    this.view?.watcherEvent?.(e);
    this.scheduleState();
  }

  private installActivity(): void {
    const touch = throttle(ACTIVITY_INTERVAL_MS, () => {
      api.touchActivity().catch(() => {});
    });
    const handler = () => {
      if (this.unlocked) touch();
    };
    for (const ev of ACTIVITY_EVENTS) document.addEventListener(ev, handler, { capture: true, passive: true });
  }

  private installShortcuts(): void {
    document.addEventListener("keydown", (e) => {
      if (!this.unlocked) return;
      const mod = e.ctrlKey || e.metaKey;
      if (mod && !e.shiftKey && !e.altKey && e.key.toLowerCase() === "l") {
        e.preventDefault();
        void this.lockNow();
      }
    });
  }
}
