// The vault-key rotation as a panel: progress with the time left and a
// Cancel button while it runs; "Stopped — it will continue next time"
// with "Continue now" while it is pending. Shown on Home and Keys.

import { h, icon, uid } from "../dom";
import { formatEta, formatSize, plural } from "../format";
import type { RotationDepth, RotationProgress } from "../ipc";
import type { RotationContext } from "../view";
import { toastError } from "./toast";

function title(depth: RotationDepth | null, resumed: boolean): string {
  if (depth === "reencrypt") return resumed ? "Continuing to re-encrypt every file" : "Re-encrypting every file";
  if (depth === "rekey") return resumed ? "Continuing to replace the vault's keys" : "Replacing the vault's keys";
  return resumed ? "Continuing the vault key update" : "Updating the vault key";
}

function pausedWhat(depth: RotationDepth): string {
  if (depth === "reencrypt") return "Re-encrypting every file";
  if (depth === "rekey") return "Moving every file to the new vault keys";
  return "The vault key update";
}

function countText(p: RotationProgress | null, depth: RotationDepth | null): string {
  if (!p) return "Starting…";
  const files = `${p.files.toLocaleString("en-GB")} of ${plural(Math.max(p.totalFiles, p.files), "file", "files")}`;
  return depth === "reencrypt" && p.totalBytes > 0 ? `${files} · ${formatSize(p.bytes)} of ${formatSize(p.totalBytes)}` : files;
}

export function rotationPanel(app: RotationContext): { el: HTMLElement; destroy: () => void } {
  const el = h("div", { class: "rotation-slot" });
  const id = uid("rot");
  // Built once, so the bar animates and the live region isn't re-created.
  const heading = h("strong", { id: `${id}-t` });
  const count = h("span", { class: "progress-count" });
  const bar = h("progress", { class: "progress", attrs: { max: 1, "aria-labelledby": `${id}-t` } });
  const eta = h("span", { class: "rotation-eta" });
  const note = h("span", { class: "rotation-note" });
  const cancel = h("button", { class: "btn btn-secondary btn-sm", text: "Cancel", attrs: { type: "button" } });
  const live = h("span", { class: "sr-only", attrs: { "aria-live": "polite" } });
  const running = h(
    "div",
    { class: "progress-panel rotation-panel", attrs: { role: "group", "aria-labelledby": `${id}-t` } },
    h("div", { class: "progress-head" }, icon("key", "icon icon-sm"), heading, count),
    bar,
    h("div", { class: "rotation-foot" }, h("p", { class: "rotation-meta" }, eta, note), cancel),
    live,
  );
  let lastQuarter = -1;
  let lastKind = "";

  cancel.addEventListener("click", async () => {
    try {
      await app.rotation.cancel();
    } catch (e) {
      toastError("Couldn't stop the key update", e);
    }
  });

  function render(): void {
    const s = app.rotation.status;
    if (s.kind === "idle") {
      el.replaceChildren();
      lastKind = "idle";
      return;
    }
    if (s.kind === "running") {
      if (lastKind !== "running") {
        el.replaceChildren(running);
        lastQuarter = -1;
      }
      lastKind = "running";
      heading.textContent = title(s.depth, s.resumed);
      count.textContent = countText(s.progress, s.depth);
      const p = s.progress;
      if (p) {
        const useBytes = s.depth === "reencrypt" && p.totalBytes > 0;
        const total = useBytes ? p.totalBytes : Math.max(p.totalFiles, p.files, 1);
        bar.max = total;
        bar.value = Math.min(useBytes ? p.bytes : p.files, total);
        const q = Math.floor(((useBytes ? p.bytes : p.files) / total) * 4);
        if (q !== lastQuarter) {
          lastQuarter = q;
          live.textContent = `${heading.textContent}: ${count.textContent}.`;
        }
      } else {
        bar.removeAttribute("value");
      }
      eta.textContent = s.cancelling ? "Stopping after the current batch…" : formatEta(p ? p.etaMs : null);
      note.textContent = s.cancelling ? "" : " · You can keep working.";
      cancel.disabled = s.cancelling;
      cancel.textContent = s.cancelling ? "Stopping…" : "Cancel";
      cancel.setAttribute("aria-label", s.cancelling ? "Stopping the key update" : "Cancel the key update");
      return;
    }
    lastKind = "pending";
    const p = s.progress;
    const where = p && p.totalFiles > 0 ? ` It stopped at ${p.files.toLocaleString("en-GB")} of ${plural(p.totalFiles, "file", "files")}.` : "";
    const cont = h("button", { class: "btn btn-secondary btn-sm", text: "Continue now", attrs: { type: "button" } });
    cont.addEventListener("click", () => app.resumeRotation());
    el.replaceChildren(
      h(
        "div",
        { class: "pending-panel", attrs: { role: "status" } },
        icon("clock", "icon pending-icon"),
        h(
          "div",
          { class: "pending-text" },
          h("p", { class: "pending-title", text: s.stopped ? "Stopped — it will continue next time" : "A key update is waiting to finish" }),
          h("p", {
            class: "pending-detail",
            text: `${pausedWhat(s.depth)} is paused.${where}${s.depth === "rewrap" ? "" : " The new passphrase and recovery key already work."} Your files stay readable and protected meanwhile; Coffer continues the next time you unlock.`,
          }),
        ),
        cont,
      ),
    );
  }

  const unsub = app.rotation.subscribe(render);
  render();
  return { el, destroy: unsub };
}
