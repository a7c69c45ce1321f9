// Home: is everything safe, what needs attention, what the watcher did.

import type { VaultContext, View } from "../view";
import { rotationPanel } from "../components/rotation-panel";
import { h, icon } from "../dom";
import { formatMinutes, formatRelative, plural } from "../format";
import { api, type AppState, type FolderView, type Posture, type WarningCode } from "../ipc";
import { pickFolderOnOpen } from "./folders";

const WARNING_TITLES: Record<WarningCode, string> = {
  plaintext_found: "Files waiting to be encrypted",
  plaintext_waiting: "Some files in protected folders are not encrypted",
  rotation_due: "A scheduled key update is due",
  disk_encryption_off: "Disk encryption is off",
  policy_not_met: "Your organisation's requirements aren't met",
  encrypt_failed: "Some files couldn't be encrypted yet",
};

const WARNING_ACTION: Record<WarningCode, string> = {
  plaintext_found: "Close any app that still has them open; Coffer encrypts them as soon as they are saved and closed.",
  plaintext_waiting: "The details say why each kind waits. Files with other names (hard links) are never protected: copy them into the folder instead.",
  rotation_due: "Update the vault key on the Keys screen, or contact IT.",
  disk_encryption_off: "Ask IT to turn on disk encryption for this computer.",
  policy_not_met: "Contact IT.",
  encrypt_failed: "Coffer keeps trying. If this stays, check free disk space or contact IT.",
};

type Tone = "ok" | "warn" | "none";

function postureItem(title: string, tone: Tone, headline: string, ...body: (Node | null)[]): HTMLElement {
  return h(
    "div",
    { class: "posture-item" },
    h("h3", { class: "posture-title", text: title }),
    h(
      "p",
      { class: ["posture-status", `posture-${tone}`] },
      h("span", { class: ["dot", tone === "ok" ? "dot-ok" : tone === "warn" ? "dot-warn" : "dot-none"], attrs: { "aria-hidden": "true" } }),
      h("span", { text: headline }),
    ),
    ...body,
  );
}

/** The "This device" panel: disk encryption, policy, where the log goes. */
export function postureBody(p: Posture): HTMLElement {
  const disk =
    p.diskEncryption === "on"
      ? postureItem("Disk encryption", "ok", "On", h("p", { class: "posture-note", text: "The whole disk is encrypted, including Coffer's working area." }))
      : p.diskEncryption === "off"
        ? postureItem(
            "Disk encryption",
            "warn",
            p.diskEncryptionRequired ? "Off — required by your organisation" : "Off",
            h("p", { class: "posture-note", text: "Ask IT to turn on disk encryption for this computer." }),
          )
        : postureItem("Disk encryption", "none", "Unknown", h("p", { class: "posture-note", text: "Coffer couldn't check this computer's disk encryption." }));
  const pol = p.policy;
  const policy =
    pol.source == null
      ? postureItem("Organisation policy", "none", "No policy", h("p", { class: "posture-note", text: "This computer has no organisation policy." }))
      : pol.compliant
        ? postureItem("Organisation policy", "ok", "Requirements met", h("p", { class: "posture-note posture-path", text: pol.source, attrs: { title: pol.source } }))
        : postureItem(
            "Organisation policy",
            "warn",
            `${plural(pol.problems.length, "requirement", "requirements")} not met`,
            h("ul", { class: "posture-problems" }, pol.problems.map((x) => h("li", { text: x }))),
          );
  const sinks = p.sinks;
  const unreachable = sinks.filter((s) => s.reachable === false).length;
  const waiting = sinks.reduce((n, s) => n + s.pending, 0);
  const log = postureItem(
    "Activity log",
    unreachable > 0 ? "warn" : "ok",
    plural(p.auditRecords, "record", "records"),
    sinks.length === 0
      ? h("p", { class: "posture-note", text: "Kept on this computer only." })
      : h(
          "ul",
          { class: "sink-list" },
          sinks.map((s) =>
            h(
              "li",
              { class: "sink" },
              h("p", { class: "sink-name", text: s.name, attrs: { title: s.name } }),
              h(
                "p",
                { class: "sink-meta" },
                h("span", { text: s.lastShippedSeq != null ? `Sent up to record ${s.lastShippedSeq.toLocaleString("en-GB")}` : "Nothing sent yet" }),
                h("span", { class: "meta-sep", text: "·", attrs: { "aria-hidden": "true" } }),
                h("span", { text: s.pending > 0 ? `${s.pending.toLocaleString("en-GB")} waiting` : "Up to date" }),
                h("span", { class: "meta-sep", text: "·", attrs: { "aria-hidden": "true" } }),
                h("span", {
                  class: s.reachable === false ? "sink-down" : s.reachable ? "sink-up" : "",
                  text: s.reachable === false ? "Can't be reached" : s.reachable ? "Reachable" : "Not checked yet",
                }),
              ),
            ),
          ),
        ),
    unreachable > 0 && waiting > 0 ? h("p", { class: "posture-note", text: "Records wait here and are sent when the connection is back." }) : null,
  );
  return h("div", { class: "posture-grid" }, disk, policy, log);
}

export function homeView(app: VaultContext): View {
  let folders: FolderView[] | null = null;
  let posture: Posture | null = null;
  let postureFailed = false;
  const now = () => Date.now();

  const lockBtn = h("button", { class: "btn btn-primary btn-lg btn-lock", attrs: { type: "button" } }, icon("lock"), h("span", { text: "Lock now" }));
  lockBtn.addEventListener("click", () => void app.lockNow());

  const autoLockText = h("p", { class: "hero-sub" });
  const hero = h(
    "section",
    { class: "hero", attrs: { "aria-labelledby": "home-title" } },
    h("div", { class: "hero-icon" }, icon("shield-check", "icon icon-xl")),
    h("div", { class: "hero-text" }, h("h1", { id: "home-title", class: "hero-title", text: "Your vault is unlocked" }), autoLockText),
    lockBtn,
  );

  const warningsBox = h("section", { class: "section", attrs: { "aria-labelledby": "warn-title", hidden: true } });
  const foldersBody = h("div", { class: "card-body" });
  const manage = h("button", { class: "btn btn-ghost btn-sm", text: "Manage", attrs: { type: "button" } });
  manage.addEventListener("click", () => app.navigate("folders"));
  const foldersCard = h(
    "section",
    { class: "card", attrs: { "aria-labelledby": "home-folders-title" } },
    h("div", { class: "card-head" }, h("h2", { id: "home-folders-title", class: "card-title", text: "Protected folders" }), manage),
    foldersBody,
  );
  const watcherBody = h("div", { class: "card-body" });
  const activity = h("ul", { class: "activity", attrs: { "aria-label": "Recent activity" } });
  const watcherCard = h(
    "section",
    { class: "card", attrs: { "aria-labelledby": "home-watch-title" } },
    h("div", { class: "card-head" }, h("h2", { id: "home-watch-title", class: "card-title", text: "Folder watching" })),
    watcherBody,
    activity,
  );
  const live = h("p", { class: "sr-only", attrs: { "aria-live": "polite" } });
  const rotation = rotationPanel(app);
  const postureBodyEl = h("div", { class: "card-body" });
  const postureCard = h(
    "section",
    { class: "card", attrs: { "aria-labelledby": "home-device-title" } },
    h("div", { class: "card-head" }, h("h2", { id: "home-device-title", class: "card-title", text: "This device" })),
    postureBodyEl,
  );

  const el = h("div", { class: "page page-home" }, hero, rotation.el, warningsBox, h("div", { class: "grid-2" }, foldersCard, watcherCard), postureCard, live);

  function renderState(s: AppState | null): void {
    if (!s) return;
    autoLockText.textContent = `Files can be opened. Coffer locks itself after ${formatMinutes(s.autoLockMinutes)} without activity.`;

    if (s.warnings.length === 0) {
      warningsBox.hidden = true;
      warningsBox.replaceChildren();
    } else {
      warningsBox.hidden = false;
      warningsBox.replaceChildren(
        h("h2", { id: "warn-title", class: "section-title", text: "Needs your attention" }),
        h(
          "ul",
          { class: "warnings" },
          s.warnings.map((w) =>
            h(
              "li",
              { class: ["warning", `warning-${w.code}`] },
              icon("warning", "icon warning-icon"),
              h(
                "div",
                { class: "warning-text" },
                h("p", { class: "warning-title", text: WARNING_TITLES[w.code] ?? "Needs attention" }),
                h("p", { class: "warning-message", text: w.message }),
                // The backend's message may already say what to do.
                /\b(ask|contact) it\b/i.test(w.message) ? null : h("p", { class: "warning-action", text: WARNING_ACTION[w.code] ?? "" }),
              ),
            ),
          ),
        ),
      );
    }

    const w = s.watcher;
    const rows: [string, string][] = [
      ["Status", w.running ? "Watching" : "Not running"],
      ["Folders", String(w.folders)],
      ["Waiting to be encrypted", plural(w.pending, "file", "files")],
      ["Last activity", formatRelative(w.lastEventNs, { now: now() })],
    ];
    watcherBody.replaceChildren(
      h(
        "p",
        { class: ["status-line", w.running ? "status-ok" : "status-warn"] },
        h("span", { class: ["dot", w.running ? "dot-ok" : "dot-warn"], attrs: { "aria-hidden": "true" } }),
        h("span", {
          text: w.running
            ? w.folders > 0
              ? "New files in protected folders are encrypted automatically."
              : "Ready. Protect a folder to start."
            : "Folder watching has stopped. New files are not being encrypted.",
        }),
      ),
      h("dl", { class: "facts" }, rows.slice(2).map(([k, v]) => h("div", { class: "fact" }, h("dt", { text: k }), h("dd", { text: v })))),
    );
    renderActivity();
  }

  function renderActivity(): void {
    const items = app.watcherLog.slice(0, 4);
    activity.hidden = items.length === 0;
    activity.replaceChildren(
      ...items.map((e) => {
        const text =
          e.kind === "encrypted"
            ? `Encrypted ${plural(e.count, "new file", "new files")}`
            : e.kind === "failed"
              ? `${plural(e.count, "file", "files")} couldn't be encrypted yet`
              : e.message || "Watcher warning";
        return h(
          "li",
          { class: ["activity-item", `activity-${e.kind}`] },
          icon(e.kind === "encrypted" ? "check-circle" : "warning", "icon icon-sm"),
          h("span", { class: "activity-text", text }),
          h("span", { class: "activity-time", text: formatRelative(e.atMs * 1e6, { now: now() }) }),
        );
      }),
    );
  }

  function renderFolders(): void {
    if (folders === null) {
      foldersBody.replaceChildren(h("p", { class: "muted", text: "Loading…" }));
      return;
    }
    if (folders.length === 0) {
      const add = h("button", { class: "btn btn-secondary", attrs: { type: "button" } }, icon("plus"), h("span", { text: "Protect a folder" }));
      add.addEventListener("click", () => {
        pickFolderOnOpen();
        app.navigate("folders");
      });
      foldersBody.replaceChildren(
        h("div", { class: "empty empty-sm" }, h("p", { text: "No protected folders yet. Protect the folder where you save scans and exports, and Coffer keeps it encrypted." }), add),
      );
      return;
    }
    foldersBody.replaceChildren(
      h(
        "ul",
        { class: "folder-mini" },
        folders.map((f) =>
          h(
            "li",
            { class: "folder-mini-item" },
            icon("folder", "icon folder-mini-icon"),
            h("div", { class: "folder-mini-text" }, h("p", { class: "folder-mini-name", text: f.name }), h("p", { class: "folder-mini-path", text: f.path, attrs: { title: f.path } })),
            h(
              "div",
              { class: "folder-mini-meta" },
              h("p", { class: "folder-mini-count", text: plural(f.files, "file", "files") }),
              h("p", { class: "folder-mini-when", text: f.lastActivityNs ? formatRelative(f.lastActivityNs, { now: now() }) : "No activity yet" }),
            ),
          ),
        ),
      ),
    );
  }

  function renderPosture(): void {
    if (!posture) {
      postureBodyEl.replaceChildren(h("p", { class: "muted", text: postureFailed ? "Coffer couldn't check this computer just now." : "Loading…" }));
      return;
    }
    postureBodyEl.replaceChildren(postureBody(posture));
  }

  async function loadPosture(): Promise<void> {
    try {
      posture = await api.posture();
      postureFailed = false;
    } catch {
      postureFailed = true;
    }
    renderPosture();
  }

  async function loadFolders(): Promise<void> {
    try {
      folders = await api.protectedFolders();
    } catch {
      folders = folders ?? [];
    }
    renderFolders();
  }

  renderState(app.state);
  renderFolders();
  renderPosture();
  void loadFolders();
  void loadPosture();
  const clock = setInterval(() => {
    renderState(app.state);
    renderFolders();
    void loadPosture();
  }, 30_000);

  return {
    el,
    title: "Home",
    stateChanged: () => renderState(app.state),
    filesChanged: () => void loadFolders(),
    watcherEvent: (e) => {
      renderActivity();
      const last = app.watcherLog[0];
      if (e.kind === "encrypted" && last) live.textContent = `Encrypted ${plural(last.count, "new file", "new files")}.`;
    },
    keysChanged: () => void loadPosture(),
    destroy: () => {
      clearInterval(clock);
      rotation.destroy();
    },
  };
}
