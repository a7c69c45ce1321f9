// Short confirmations ("Added 3 files") in a polite live region, errors in
// an assertive one; both stack in the bottom-right corner.

import { h, icon } from "../dom";
import { describeError, toIpcError } from "../ipc";
import { errorDetails } from "./error-details";

let region: HTMLElement | null = null;
let alertRegion: HTMLElement | null = null;

export function mountToasts(parent: HTMLElement): void {
  alertRegion = h("div", { class: "toasts toasts-alert", attrs: { role: "alert", "aria-label": "Problems" } });
  region = h("div", { class: "toasts", attrs: { role: "status", "aria-live": "polite", "aria-label": "Notifications" } });
  parent.append(h("div", { class: "toast-stack" }, alertRegion, region));
}

export type ToastKind = "success" | "info" | "error";

export function toast(message: string, kind: ToastKind = "success", detail?: string, ms = 6000, technical?: string): void {
  const target = kind === "error" ? alertRegion : region;
  if (!target) return;
  // The same message again replaces the old one rather than piling up.
  for (const old of target.querySelectorAll<HTMLElement>(".toast")) {
    if (old.dataset.title === message) old.remove();
  }
  const close = h("button", { class: "toast-close", attrs: { type: "button", "aria-label": "Dismiss" } });
  close.appendChild(icon("x", "icon icon-sm"));
  const el = h(
    "div",
    { class: ["toast", `toast-${kind}`], dataset: { title: message } },
    icon(kind === "error" ? "warning" : kind === "info" ? "info" : "check-circle", "icon toast-icon"),
    h("div", { class: "toast-text" }, h("div", { class: "toast-title", text: message }), detail ? h("div", { class: "toast-detail", text: detail }) : null, errorDetails(technical)),
    close,
  );
  const remove = () => el.remove();
  close.addEventListener("click", remove);
  target.appendChild(el);
  // Errors stay a little longer; everything can be dismissed.
  setTimeout(remove, kind === "error" ? Math.max(ms, 12_000) : ms);
  while (target.children.length > 2) target.firstElementChild?.remove();
}

/**
 * A failed command as a toast, titled for what was being done. `locked`
 * and `integrity` are already handled app-wide (unlock screen, red
 * banner), so they add nothing here.
 */
export function toastError(title: string | null, e: unknown): void {
  const err = toIpcError(e);
  if (err.code === "locked" || err.code === "integrity") return;
  const t = describeError(err);
  toast(title ?? t.title, "error", t.detail, undefined, t.technical);
}

export function clearToasts(): void {
  region?.replaceChildren();
  alertRegion?.replaceChildren();
}
