// Files: browse the vault by folder, search, sort, open, save a copy,
// remove, and add files (buttons, pickers, drag and drop).

import type { VaultContext, View } from "../view";
import { confirm, showModal } from "../components/dialog";
import { progressPanel } from "../components/progress";
import { toast, toastError } from "../components/toast";
import { VirtualGrid } from "../components/vgrid";
import { errorDetails } from "../components/error-details";
import { h, icon } from "../dom";
import { formatFileDate, formatFullDate, formatSize, plural } from "../format";
import { buildModel, crumbs, nextSort, view, type Item, type Model, type Sort, type SortKey } from "../files-model";
import { api, describeError, onNativeDrop, pickFiles, pickFolder, toIpcError, type AddResult, type DropEvent } from "../ipc";

export const ROW_HEIGHT = 48;

export function filesView(_app: VaultContext): View {
  let model: Model | null = null;
  let folder = "";
  let query = "";
  let sort: Sort = { key: "name", dir: "asc" };
  let loading = true;
  let adding = false;
  let searchTimer: ReturnType<typeof setTimeout> | null = null;
  let unlistenDrop: (() => void) | null = null;
  let destroyed = false;
  const now = Date.now();

  // ---- header
  const summary = h("p", { class: "page-sub", text: "Loading…" });
  const addFilesBtn = h("button", { class: "btn btn-primary", attrs: { type: "button" } }, icon("plus"), h("span", { text: "Add files" }));
  const addFolderBtn = h("button", { class: "btn btn-secondary", attrs: { type: "button" } }, icon("folder"), h("span", { text: "Add a folder" }));
  const header = h(
    "header",
    { class: "page-head" },
    h("div", null, h("h1", { class: "page-title", text: "Files" }), summary),
    h("div", { class: "page-actions" }, addFolderBtn, addFilesBtn),
  );

  // ---- toolbar
  const searchInput = h("input", {
    class: "input search-input",
    attrs: { type: "search", "aria-label": "Search files", placeholder: "Search by name", autocomplete: "off", spellcheck: "false" },
  });
  const search = h("div", { class: "search" }, icon("search", "icon icon-sm search-icon"), searchInput);
  const openBtn = h("button", { class: "btn btn-secondary btn-sm", attrs: { type: "button" } }, icon("open", "icon icon-sm"), h("span", { text: "Open" }));
  const extractBtn = h("button", { class: "btn btn-secondary btn-sm", attrs: { type: "button" } }, icon("download", "icon icon-sm"), h("span", { text: "Save a copy…" }));
  const removeBtn = h("button", { class: "btn btn-secondary btn-sm btn-danger-quiet", attrs: { type: "button" } }, icon("trash", "icon icon-sm"), h("span", { text: "Remove…" }));
  const actions = h("div", { class: "row-actions", attrs: { role: "toolbar", "aria-label": "Selected file" } }, openBtn, extractBtn, removeBtn);
  const breadcrumb = h("nav", { class: "breadcrumb", attrs: { "aria-label": "Folder" } });
  const toolbar = h("div", { class: "toolbar" }, search, actions);

  // ---- list
  const grid = new VirtualGrid<Item>({
    label: "Files in the vault",
    rowHeight: ROW_HEIGHT,
    columns: [
      { key: "name", label: "Name", sortable: true, class: "col-name" },
      { key: "size", label: "Size", sortable: true, class: "col-size" },
      { key: "date", label: "Modified", sortable: true, class: "col-date" },
    ],
    rowClass: (it) => (it.kind === "folder" ? "row-folder" : "row-file"),
    renderCells: (it) => renderCells(it),
    onActivate: (it) => void activate(it),
    onSort: (key) => {
      sort = nextSort(sort, key as SortKey);
      recompute(false);
    },
    onActiveChange: () => updateActions(),
    onKey: (e, it) => {
      if ((e.key === "Delete" || (e.key === "Backspace" && e.metaKey)) && it?.kind === "file") {
        void removeItem(it);
        return true;
      }
      if ((e.key === "Backspace" && !e.metaKey) || (e.key === "ArrowUp" && e.altKey) || (e.key === "ArrowLeft" && !query)) {
        if (folder !== "" && !query) {
          goFolder(parentOf(folder), folder);
          return true;
        }
      }
      if (e.key === "ArrowRight" && it?.kind === "folder" && !query) {
        goFolder(it.path);
        return true;
      }
      return false;
    },
  });

  const emptyBox = h("div", { class: "empty", attrs: { hidden: true } });
  const progressSlot = h("div", { class: "progress-slot" });
  const dropOverlay = h(
    "div",
    { class: "drop-overlay", attrs: { hidden: true, "aria-hidden": "true" } },
    h("div", { class: "drop-box" }, icon("upload", "icon icon-xl"), h("p", { class: "drop-title", text: "Drop to add to the vault" }), h("p", { class: "drop-sub", text: "Files and folders are encrypted and kept in Coffer." })),
  );
  const listWrap = h("div", { class: "list-wrap" }, grid.el, emptyBox, dropOverlay);
  const live = h("p", { class: "sr-only", attrs: { "aria-live": "polite" } });

  const el = h("div", { class: "page page-files" }, header, progressSlot, h("div", { class: "nav-row" }, breadcrumb), toolbar, listWrap, live);

  // ---- rendering

  function renderCells(it: Item): HTMLElement[] {
    if (it.kind === "folder") {
      return [
        h("div", null, icon("folder", "icon row-icon row-icon-folder"), h("div", { class: "name-stack" }, h("span", { class: "name", text: it.name }), h("span", { class: "name-sub", text: plural(it.files, "file", "files") }))),
        h("div", { text: formatSize(it.size) }),
        h("div", { text: it.latestNs ? formatFileDate(it.latestNs, { now }) : "—", attrs: { title: it.latestNs ? formatFullDate(it.latestNs) : null } }),
      ];
    }
    const sub = query ? (it.dir || "Top of the vault") : it.row.versions > 1 ? plural(it.row.versions, "version", "versions") : null;
    return [
      h(
        "div",
        null,
        icon("file", "icon row-icon"),
        h("div", { class: "name-stack" }, h("span", { class: "name", text: it.name, attrs: { title: it.row.path } }), sub ? h("span", { class: "name-sub", text: sub }) : null),
      ),
      h("div", { text: formatSize(it.row.size) }),
      h("div", { text: formatFileDate(it.row.mtimeNs, { now }), attrs: { title: formatFullDate(it.row.mtimeNs) } }),
    ];
  }

  function renderBreadcrumb(): void {
    const parts = crumbs(folder);
    const items: Node[] = [];
    const mk = (name: string, path: string, current: boolean) => {
      if (current) return h("span", { class: "crumb crumb-current", text: name, attrs: { "aria-current": "location" } });
      const b = h("button", { class: "crumb", text: name, attrs: { type: "button" } });
      // Going up selects the folder we came from.
      b.addEventListener("click", () => {
        const rest = path === "" ? folder : folder.slice(path.length + 1);
        const child = rest.split("/")[0];
        goFolder(path, child ? (path === "" ? child : `${path}/${child}`) : undefined, true);
      });
      return b;
    };
    items.push(h("li", null, mk("All files", "", parts.length === 0)));
    parts.forEach((p, i) => {
      items.push(h("li", null, icon("chevron-right", "icon icon-xs crumb-sep"), mk(p.name, p.path, i === parts.length - 1)));
    });
    breadcrumb.replaceChildren(h("ol", { class: "crumbs" }, items));
  }

  function updateActions(): void {
    const it = grid.activeItem();
    const isFile = it?.kind === "file";
    openBtn.disabled = !it;
    extractBtn.disabled = !isFile;
    removeBtn.disabled = !isFile;
    const name = it ? it.name : "";
    openBtn.setAttribute("aria-label", it ? `Open ${name}` : "Open");
    extractBtn.setAttribute("aria-label", isFile ? `Save a copy of ${name}` : "Save a copy");
    removeBtn.setAttribute("aria-label", isFile ? `Remove ${name}` : "Remove");
  }

  function recompute(resetScroll: boolean, keepKey?: string): void {
    grid.setSort(sort.key, sort.dir);
    renderBreadcrumb();
    if (!model) {
      grid.el.hidden = loading;
      return;
    }
    const cur = grid.activeItem();
    const key = keepKey ?? (cur ? itemKey(cur) : undefined);
    const items = view(model, { folder, query, sort });
    summary.textContent = `${plural(model.all.length, "file", "files")} · ${formatSize(model.totalSize)} in the vault`;
    grid.setItems(items, key ? (it) => itemKey(it) === key : undefined, resetScroll);
    const empty = items.length === 0;
    grid.el.hidden = empty;
    emptyBox.hidden = !empty;
    if (empty) renderEmpty();
    if (query) live.textContent = items.length === 0 ? "No files match." : `${plural(items.length, "file", "files")} found.`;
    updateActions();
  }

  function renderEmpty(): void {
    if (query) {
      emptyBox.replaceChildren(icon("search", "icon icon-xl empty-icon"), h("p", { class: "empty-title", text: `No files match “${query}”` }), h("p", { class: "empty-text", text: "Check the spelling, or search for part of the name." }));
    } else if (model && model.all.length === 0) {
      const add = h("button", { class: "btn btn-primary", attrs: { type: "button" } }, icon("plus"), h("span", { text: "Add files" }));
      add.addEventListener("click", () => void addFiles());
      emptyBox.replaceChildren(
        icon("files", "icon icon-xl empty-icon"),
        h("p", { class: "empty-title", text: "The vault is empty" }),
        h("p", { class: "empty-text", text: "Add files, drop them here, or protect a folder so Coffer encrypts what's saved there." }),
        add,
      );
    } else {
      emptyBox.replaceChildren(icon("folder", "icon icon-xl empty-icon"), h("p", { class: "empty-title", text: "This folder is empty" }));
    }
  }

  function itemKey(it: Item): string {
    return it.kind === "file" ? `f:${it.row.path}` : `d:${it.path}`;
  }

  function parentOf(p: string): string {
    const i = p.lastIndexOf("/");
    return i < 0 ? "" : p.slice(0, i);
  }

  function goFolder(path: string, selectChild?: string, focusGrid = true): void {
    folder = path;
    if (query) {
      query = "";
      searchInput.value = "";
    }
    recompute(true, selectChild ? `d:${selectChild}` : undefined);
    if (focusGrid && !grid.el.hidden) grid.focus();
  }

  // ---- data

  async function load(): Promise<void> {
    try {
      const rows = await api.listFiles();
      if (destroyed) return;
      model = buildModel(rows);
      loading = false;
      if (!model.nodes.has(folder)) folder = "";
      recompute(false);
    } catch (e) {
      if (destroyed) return;
      loading = false;
      const err = toIpcError(e);
      if (err.code === "locked") return;
      const t = describeError(err);
      summary.textContent = "";
      emptyBox.hidden = false;
      grid.el.hidden = true;
      const retry = h("button", { class: "btn btn-secondary", text: "Try again", attrs: { type: "button" } });
      retry.addEventListener("click", () => void load());
      emptyBox.replaceChildren(icon("warning", "icon icon-xl empty-icon"), h("p", { class: "empty-title", text: t.title }), h("p", { class: "empty-text", text: t.detail }), errorDetails(t.technical) ?? "", retry);
    }
  }

  // ---- actions

  async function activate(it: Item): Promise<void> {
    if (it.kind === "folder") {
      goFolder(it.path);
      return;
    }
    try {
      await api.openFile(it.row.id);
      toast(`Opened “${it.name}”`, "success", "Changes you save are kept in the vault.");
    } catch (e) {
      toastError(`Couldn't open “${it.name}”`, e);
    }
  }

  async function extract(it: Item): Promise<void> {
    if (it.kind !== "file") return;
    let dir: string | null;
    try {
      dir = await pickFolder(`Choose where to save a copy of “${it.name}”`);
    } catch (e) {
      toastError(null, e);
      return;
    }
    if (!dir) return;
    try {
      const written = await api.extractFile(it.row.id, dir);
      toast(`Saved a copy of “${it.name}”`, "success", `${written} — this copy is outside Coffer and not protected.`, 9000);
    } catch (e) {
      toastError(`Couldn't save a copy of “${it.name}”`, e);
    }
  }

  async function removeItem(it: Item): Promise<void> {
    if (it.kind !== "file") return;
    const versions = it.row.versions;
    const ok = await confirm({
      title: `Remove “${it.name}”?`,
      message: [
        versions > 1
          ? `It will be deleted from the vault, with all ${versions} of its versions.`
          : "It will be deleted from the vault.",
        "This can't be undone.",
      ],
      confirmLabel: "Remove",
      danger: true,
      onConfirm: async (ui) => {
        ui.setBusy(true, "Removing…");
        await api.removeFile(it.row.path);
      },
    });
    if (ok) {
      toast(`Removed “${it.name}”`, "success");
      await load();
      grid.focus();
    }
  }

  async function addFiles(): Promise<void> {
    let paths: string[] | null;
    try {
      paths = await pickFiles("Add files to the vault");
    } catch (e) {
      toastError(null, e);
      return;
    }
    if (paths && paths.length > 0) await addPaths(paths);
  }

  async function addFolder(): Promise<void> {
    let dir: string | null;
    try {
      dir = await pickFolder("Add a folder to the vault");
    } catch (e) {
      toastError(null, e);
      return;
    }
    if (dir) await addPaths([dir]);
  }

  async function addPaths(paths: string[]): Promise<void> {
    if (adding) {
      toast("Already adding files", "info", "Wait for the current files to finish.");
      return;
    }
    adding = true;
    addFilesBtn.disabled = addFolderBtn.disabled = true;
    const panel = progressPanel("Adding to the vault");
    progressSlot.replaceChildren(panel.el);
    try {
      const r = await api.addPaths(paths, (p) => panel.update(p));
      reportAdd(r);
      await load();
    } catch (e) {
      toastError("Couldn't add the files", e);
    } finally {
      adding = false;
      addFilesBtn.disabled = addFolderBtn.disabled = false;
      panel.remove();
    }
  }

  function reportAdd(r: AddResult): void {
    const parts: string[] = [];
    if (r.skipped > 0) parts.push(`${plural(r.skipped, "item was", "items were")} skipped (not regular files).`);
    parts.push("The originals were left where they were.");
    if (r.added > 0 || r.failed.length === 0) toast(`Added ${plural(r.added, "file", "files")} to the vault`, "success", parts.join(" "));
    if (r.failed.length > 0) {
      void showModal({
        title: `${plural(r.failed.length, "file", "files")} couldn't be added`,
        content: [
          h("p", { text: "These files are unchanged and were not added:" }),
          h(
            "ul",
            { class: "failed-list" },
            r.failed.slice(0, 20).map((f) => h("li", null, h("span", { class: "failed-path", text: f.path }), h("span", { class: "failed-msg", text: f.message }))),
          ),
          r.failed.length > 20 ? h("p", { class: "muted", text: `…and ${r.failed.length - 20} more.` }) : "",
        ],
        actions: [{ label: "OK", value: "ok", kind: "primary" }],
      });
    }
  }

  // ---- wiring

  addFilesBtn.addEventListener("click", () => void addFiles());
  addFolderBtn.addEventListener("click", () => void addFolder());
  openBtn.addEventListener("click", () => {
    const it = grid.activeItem();
    if (it) void activate(it);
  });
  extractBtn.addEventListener("click", () => {
    const it = grid.activeItem();
    if (it) void extract(it);
  });
  removeBtn.addEventListener("click", () => {
    const it = grid.activeItem();
    if (it) void removeItem(it);
  });
  searchInput.addEventListener("input", () => {
    if (searchTimer) clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      query = searchInput.value.trim();
      recompute(true);
    }, 120);
  });
  searchInput.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && !grid.el.hidden) {
      e.preventDefault();
      grid.focus();
    } else if (e.key === "Escape" && searchInput.value) {
      e.preventDefault();
      searchInput.value = "";
      query = "";
      recompute(true);
    }
  });
  const onGlobalKey = (e: KeyboardEvent) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "f") {
      e.preventDefault();
      searchInput.focus();
      searchInput.select();
    }
  };
  document.addEventListener("keydown", onGlobalKey);

  // Drag and drop: native (Tauri gives paths) when available, else HTML5.
  const showDrop = (show: boolean) => {
    dropOverlay.hidden = !show;
    listWrap.classList.toggle("is-dropping", show);
  };
  const onDrop = (e: DropEvent) => {
    if (e.type === "enter" || e.type === "over") showDrop(true);
    else if (e.type === "leave") showDrop(false);
    else {
      showDrop(false);
      if (e.paths.length > 0) void addPaths(e.paths);
    }
  };
  void onNativeDrop(onDrop).then((un) => {
    if (destroyed) un?.();
    else if (un) unlistenDrop = un;
    else {
      // Plain browser (development): HTML5 drag events carry no paths.
      el.addEventListener("dragover", (ev) => {
        ev.preventDefault();
        showDrop(true);
      });
      el.addEventListener("dragleave", (ev) => {
        if (ev.target === dropOverlay || !el.contains(ev.relatedTarget as Node | null)) showDrop(false);
      });
      el.addEventListener("drop", (ev) => {
        ev.preventDefault();
        showDrop(false);
        const paths = [...(ev.dataTransfer?.files ?? [])].map((f) => (f as File & { path?: string }).path).filter((p): p is string => !!p);
        if (paths.length > 0) void addPaths(paths);
        else toast("Use “Add files” instead", "info", "Dropping files needs the Coffer app.");
      });
    }
  });

  recompute(false);
  void load();

  return {
    el,
    title: "Files",
    filesChanged: () => void load(),
    destroy: () => {
      destroyed = true;
      grid.destroy();
      unlistenDrop?.();
      document.removeEventListener("keydown", onGlobalKey);
      if (searchTimer) clearTimeout(searchTimer);
      model = null;
    },
  };
}
