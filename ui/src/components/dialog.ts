// Modal dialogs on the native <dialog> element: the browser traps focus,
// closes on Escape and makes the rest of the page inert. Focus returns to
// whatever had it before.

import { h, icon, uid } from "../dom";
import { describeError, toIpcError } from "../ipc";
import { errorDetails } from "./error-details";

export type Action = {
  label: string;
  value: string;
  kind?: "primary" | "danger" | "secondary";
  /** Closes without running onAction (Cancel). */
  cancel?: boolean;
};

export type ModalOpts = {
  title: string;
  content: (Node | string)[];
  actions: Action[];
  /**
   * Runs for a non-cancel action. Throwing keeps the dialog open and shows
   * the error; returning false keeps it open silently (e.g. validation).
   */
  onAction?: (value: string, ui: ModalUi) => Promise<boolean | void> | boolean | void;
  initialFocus?: () => HTMLElement | null;
  tone?: "default" | "danger";
  wide?: boolean;
  /** False: Escape does not close it (e.g. a key that must be seen). */
  dismissable?: boolean;
  onOpen?: (ui: ModalUi) => void;
};

export type ModalUi = {
  dialog: HTMLDialogElement;
  showError: (title: string, detail?: string, technical?: string) => void;
  clearError: () => void;
  setBusy: (busy: boolean, label?: string) => void;
  setActionEnabled: (value: string, enabled: boolean) => void;
};

const open = new Set<HTMLDialogElement>();

/** Closes every open dialog (on lock: nothing stays on screen). */
export function closeAllDialogs(): void {
  for (const d of [...open]) d.close("dismissed");
}

export function showModal(o: ModalOpts): Promise<string | null> {
  return new Promise((resolve) => {
    const titleId = uid("dlg-title");
    const errorBox = h("div", { class: "dialog-error", attrs: { role: "alert" } });
    const buttons = new Map<string, HTMLButtonElement>();
    const previous = document.activeElement as HTMLElement | null;
    let busy = false;
    let result: string | null = null;

    const form = h("form", { class: "dialog-form", attrs: { novalidate: true } });
    const dialog = h(
      "dialog",
      { class: ["dialog", o.tone === "danger" && "dialog-danger", o.wide && "dialog-wide"], attrs: { "aria-labelledby": titleId } },
      form,
    );
    const primary = o.actions.find((a) => !a.cancel && a.kind !== "secondary") ?? o.actions.find((a) => !a.cancel);

    const footer = h("div", { class: "dialog-actions" });
    for (const a of o.actions) {
      const b = h("button", {
        class: ["btn", a.kind === "danger" ? "btn-danger" : a.kind === "primary" ? "btn-primary" : "btn-secondary"],
        text: a.label,
        attrs: { type: a === primary ? "submit" : "button", "data-value": a.value },
      });
      if (a !== primary) b.addEventListener("click", () => void act(a));
      buttons.set(a.value, b);
      footer.appendChild(b);
    }

    const ui: ModalUi = {
      dialog,
      showError(title, detail, technical) {
        errorBox.replaceChildren(
          icon("warning", "icon icon-sm"),
          h("div", null, h("strong", { text: title }), detail ? h("span", { text: " " + detail }) : null, errorDetails(technical)),
        );
        errorBox.classList.add("visible");
      },
      clearError() {
        errorBox.replaceChildren();
        errorBox.classList.remove("visible");
      },
      setBusy(b, label) {
        busy = b;
        for (const [v, btn] of buttons) {
          btn.disabled = b;
          if (primary && v === primary.value) {
            btn.classList.toggle("is-busy", b);
            if (b && label) {
              btn.dataset.label = btn.textContent ?? "";
              btn.textContent = label;
            } else if (!b && btn.dataset.label) {
              btn.textContent = btn.dataset.label;
              delete btn.dataset.label;
            }
          }
        }
        dialog.setAttribute("aria-busy", b ? "true" : "false");
      },
      setActionEnabled(value, enabled) {
        const btn = buttons.get(value);
        if (btn) btn.disabled = !enabled;
      },
    };

    async function act(a: Action): Promise<void> {
      if (busy) return;
      if (a.cancel) {
        result = null;
        dialog.close();
        return;
      }
      if (buttons.get(a.value)?.disabled) return;
      ui.clearError();
      if (o.onAction) {
        try {
          const keep = await o.onAction(a.value, ui);
          if (keep === false) return;
        } catch (e) {
          ui.setBusy(false);
          const t = describeError(toIpcError(e));
          ui.showError(t.title, t.detail, t.technical);
          return;
        }
      }
      result = a.value;
      dialog.close();
    }

    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (primary) void act(primary);
    });
    dialog.addEventListener("cancel", (ev) => {
      if (busy || o.dismissable === false) ev.preventDefault();
    });
    dialog.addEventListener("close", () => {
      open.delete(dialog);
      dialog.remove();
      if (previous && previous.isConnected) previous.focus();
      resolve(result);
    });

    form.append(
      h("div", { class: "dialog-head" }, h("h2", { id: titleId, class: "dialog-title", text: o.title })),
      h("div", { class: "dialog-body" }, ...o.content, errorBox),
      footer,
    );
    document.body.appendChild(dialog);
    open.add(dialog);
    dialog.showModal();
    o.onOpen?.(ui);
    const f = o.initialFocus?.();
    if (f) f.focus();
  });
}

/** A yes/no question. Resolves true when confirmed. */
export async function confirm(o: {
  title: string;
  message: (Node | string)[];
  confirmLabel: string;
  danger?: boolean;
  onConfirm?: (ui: ModalUi) => Promise<boolean | void>;
}): Promise<boolean> {
  const r = await showModal({
    title: o.title,
    content: o.message.map((m) => (typeof m === "string" ? h("p", { text: m }) : m)),
    tone: o.danger ? "danger" : "default",
    actions: [
      { label: "Cancel", value: "cancel", cancel: true, kind: "secondary" },
      { label: o.confirmLabel, value: "ok", kind: o.danger ? "danger" : "primary" },
    ],
    onAction: o.onConfirm ? (_v, ui) => o.onConfirm!(ui) : undefined,
  });
  return r === "ok";
}
