// The technical side of an error ("Launcher … failed with ExitStatus(…)"),
// for IT: folded behind "Details" so people read the sentence first.

import { h } from "../dom";

/** A "Details" disclosure, or null when there is nothing technical. */
export function errorDetails(technical: string | undefined): HTMLElement | null {
  const t = technical?.trim();
  if (!t) return null;
  return h("details", { class: "err-details" }, h("summary", { text: "Details" }), h("code", { class: "err-technical", text: t }));
}
