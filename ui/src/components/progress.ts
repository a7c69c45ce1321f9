// A progress panel for long work (adding files, protecting a folder), fed
// by the IPC progress channel.

import { h, icon, uid } from "../dom";
import { formatSize, plural } from "../format";
import type { Progress } from "../ipc";

export type ProgressPanel = {
  el: HTMLElement;
  update: (p: Progress) => void;
  remove: () => void;
};

export function progressPanel(title: string): ProgressPanel {
  const id = uid("prog");
  const bar = h("progress", { id, class: "progress", attrs: { max: 1, "aria-labelledby": `${id}-t` } });
  const text = h("span", { class: "progress-count", text: "Starting…" });
  const live = h("span", { class: "sr-only", attrs: { "aria-live": "polite" } });
  let lastAnnounced = -1;
  const el = h(
    "div",
    { class: "progress-panel" },
    h("div", { class: "progress-head" }, icon("upload", "icon icon-sm"), h("strong", { id: `${id}-t`, text: title }), text),
    bar,
    live,
  );
  return {
    el,
    update(p) {
      const total = Math.max(p.totalFiles, p.files, 1);
      bar.max = total;
      bar.value = Math.min(p.files, total);
      text.textContent = `${p.files.toLocaleString("en-GB")} of ${plural(total, "file", "files")} · ${formatSize(p.bytes)}`;
      const pct = Math.floor((p.files / total) * 4);
      if (pct !== lastAnnounced) {
        lastAnnounced = pct;
        live.textContent = `${title} ${p.files} of ${total}.`;
      }
    },
    remove() {
      el.remove();
    },
  };
}
