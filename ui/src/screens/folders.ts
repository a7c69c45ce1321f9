// Protected folders: where staff keep working. Adding one encrypts what is
// already there (after saying exactly how many files) and watches it.

import type { VaultContext, View } from "../view";
import { confirm, showModal } from "../components/dialog";
import { progressPanel } from "../components/progress";
import { toast, toastError } from "../components/toast";
import { h, icon } from "../dom";
import { formatRelative, formatSize, plural } from "../format";
import { api, pickFolder, type FolderView } from "../ipc";

/** The sentence shown before protecting a folder. */
export function previewSentence(files: number, bytes: number): string {
  if (files === 0) return "This folder is empty. Files saved here from now on will be encrypted automatically.";
  const size = formatSize(bytes);
  return files === 1
    ? `The 1 file already here (${size}) will be encrypted and removed from this folder.`
    : `The ${files.toLocaleString("en-GB")} files already here (${size}) will be encrypted and removed from this folder.`;
}

function folderName(path: string): string {
  const parts = path.replace(/[\\/]+$/, "").split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

let pickOnOpen = false;

/** The next Protected folders screen opens the folder picker at once (Home's "Protect a folder"). */
export function pickFolderOnOpen(): void {
  pickOnOpen = true;
}

export function foldersView(app: VaultContext): View {
  let folders: FolderView[] | null = null;
  let busy = false;
  let destroyed = false;

  const addBtn = h("button", { class: "btn btn-primary", attrs: { type: "button" } }, icon("plus"), h("span", { text: "Protect a folder" }));
  const header = h(
    "header",
    { class: "page-head" },
    h(
      "div",
      null,
      h("h1", { class: "page-title", text: "Protected folders" }),
      h("p", { class: "page-sub", text: "Files saved in these folders are encrypted into the vault automatically, even while Coffer is locked." }),
    ),
    h("div", { class: "page-actions" }, addBtn),
  );
  const progressSlot = h("div", { class: "progress-slot" });
  const list = h("div", { class: "folder-list-wrap" });
  const el = h("div", { class: "page page-folders" }, header, progressSlot, list);

  function render(): void {
    if (folders === null) {
      list.replaceChildren(h("p", { class: "muted", text: "Loading…" }));
      return;
    }
    if (folders.length === 0) {
      const b = h("button", { class: "btn btn-primary", attrs: { type: "button", disabled: busy } }, icon("plus"), h("span", { text: "Protect a folder" }));
      b.addEventListener("click", () => void add());
      list.replaceChildren(
        h(
          "div",
          { class: "empty" },
          icon("folder-lock", "icon icon-xl empty-icon"),
          h("p", { class: "empty-title", text: "No protected folders yet" }),
          h("p", { class: "empty-text", text: "Choose the folder where you save scans and exports. Coffer encrypts what's there and everything saved there later." }),
          b,
        ),
      );
      return;
    }
    const unlocked = app.state?.unlocked ?? true;
    list.replaceChildren(
      h(
        "ul",
        { class: "folder-list", attrs: { "aria-label": "Protected folders" } },
        folders.map((f) => {
          let right: HTMLElement;
          if (f.mandatory) {
            right = h("span", { class: "badge badge-org" }, icon("building", "icon icon-xs"), h("span", { text: "Required by your organisation" }));
          } else {
            // Nothing else changes while a protect runs.
            right = h("button", { class: "btn btn-secondary btn-sm", text: "Stop protecting…", attrs: { type: "button", "aria-label": `Stop protecting ${f.name}`, disabled: busy } });
            right.addEventListener("click", () => void remove(f));
          }
          return h(
            "li",
            { class: "folder-card" },
            h("div", { class: "folder-card-icon" }, icon("folder-lock", "icon icon-lg")),
            h(
              "div",
              { class: "folder-card-text" },
              h("h2", { class: "folder-card-name", text: f.name }),
              h("p", { class: "folder-card-path", text: f.path, attrs: { title: f.path } }),
              h(
                "p",
                { class: "folder-card-meta" },
                unlocked ? h("span", { text: `${plural(f.files, "file", "files")} in the vault` }) : null,
                unlocked ? h("span", { class: "meta-sep", text: "·", attrs: { "aria-hidden": "true" } }) : null,
                h("span", { text: f.lastActivityNs ? `Last activity ${formatRelative(f.lastActivityNs, { now: Date.now() })}` : "No activity yet" }),
              ),
            ),
            h("div", { class: "folder-card-side" }, right),
          );
        }),
      ),
    );
  }

  async function load(): Promise<void> {
    try {
      const r = await api.protectedFolders();
      if (destroyed) return;
      folders = r;
    } catch (e) {
      if (destroyed) return;
      folders = folders ?? [];
      toastError(null, e);
    }
    render();
  }

  async function add(): Promise<void> {
    if (busy) return;
    let path: string | null;
    try {
      path = await pickFolder("Choose a folder to protect");
    } catch (e) {
      toastError(null, e);
      return;
    }
    if (!path) return;
    let preview: { files: number; bytes: number };
    try {
      preview = await api.previewProtect(path);
    } catch (e) {
      toastError(`Couldn't look inside “${folderName(path)}”`, e);
      return;
    }
    const name = folderName(path);
    const ok = await confirm({
      title: `Protect “${name}”?`,
      message: [
        h("p", { class: "preview-sentence", text: previewSentence(preview.files, preview.bytes) }),
        h("p", { class: "muted dialog-path", text: path }),
        h("p", {
          text: "From now on, anything saved in this folder is encrypted as soon as it's closed. You can open the files from Coffer at any time.",
        }),
      ],
      confirmLabel: "Protect folder",
    });
    if (!ok) return;
    setBusy(true);
    const panel = progressPanel(`Protecting “${name}”`);
    progressSlot.replaceChildren(panel.el);
    try {
      const r = await api.protectFolder(path, (p) => panel.update(p));
      const detail =
        r.failed.length > 0
          ? `${plural(r.failed.length, "file", "files")} couldn't be encrypted yet; Coffer will keep trying.`
          : r.added > 0
            ? `${plural(r.added, "file", "files")} encrypted.`
            : "New files saved there will be encrypted automatically.";
      toast(`“${name}” is now protected`, "success", detail);
      if (r.failed.length > 0) {
        void showModal({
          title: `${plural(r.failed.length, "file", "files")} couldn't be encrypted yet`,
          content: [
            h("p", { text: "These files are still in the folder. Close any app that has them open; Coffer will try again." }),
            h("ul", { class: "failed-list" }, r.failed.slice(0, 20).map((f) => h("li", null, h("span", { class: "failed-path", text: f.path }), h("span", { class: "failed-msg", text: f.message })))),
          ],
          actions: [{ label: "OK", value: "ok", kind: "primary" }],
        });
      }
    } catch (e) {
      toastError(`Couldn't protect “${name}”`, e);
    } finally {
      setBusy(false);
      panel.remove();
      await load();
      void app.refreshState().catch(() => {});
    }
  }

  function setBusy(b: boolean): void {
    busy = b;
    addBtn.disabled = b;
    el.setAttribute("aria-busy", String(b));
    for (const btn of list.querySelectorAll<HTMLButtonElement>("button")) btn.disabled = b;
  }

  async function remove(f: FolderView): Promise<void> {
    if (busy) return;
    const ok = await confirm({
      title: `Stop protecting “${f.name}”?`,
      message: [
        "Files already in the vault stay in the vault.",
        "New files saved in this folder will no longer be encrypted.",
      ],
      confirmLabel: "Stop protecting",
      danger: true,
      onConfirm: async (ui) => {
        ui.setBusy(true, "Stopping…");
        await api.unprotectFolder(f.path);
      },
    });
    if (ok) {
      toast(`“${f.name}” is no longer protected`, "info", "Files already in the vault are still there.");
      await load();
      void app.refreshState().catch(() => {});
      addBtn.focus();
    }
  }

  addBtn.addEventListener("click", () => void add());
  render();
  void load();
  if (pickOnOpen) {
    pickOnOpen = false;
    void add();
  }

  return {
    el,
    title: "Protected folders",
    filesChanged: () => void load(),
    destroy: () => {
      destroyed = true;
    },
  };
}
