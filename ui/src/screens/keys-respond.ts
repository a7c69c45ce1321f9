// The responses to a secret that may be known, as dialogs: "I think someone
// knows my passphrase or recovery key" (rekey) and "Re-encrypt everything"
// (reencrypt). Each says in plain words what it does and protects, asks
// for the passphrase in use and a new one (or to keep it), starts the
// rotation, and shows the new recovery key the moment it exists — before
// any file is moved, so a lock or a cancel later does not lose it — then
// the progress, and at the end what is now protected.

import type { VaultContext } from "../view";
import { showModal } from "../components/dialog";
import { checkbox, passphraseField } from "../components/fields";
import { withPassphrase } from "../components/passphrase-dialog";
import { rotationPanel } from "../components/rotation-panel";
import { h, icon } from "../dom";
import { formatSize, plural } from "../format";
import type { KeyInfo, RotationResult } from "../ipc";
import { checkNewPassphrase, estimateText, PROTECTS, RESPONSE_DONE } from "../keys-model";
import type { RotationRun } from "../rotation";
import { recoveryKeyBox } from "./unlock";

export type Response = "rekey" | "reencrypt";

const TEXT: Record<Response, { title: string; confirm: string; keep: string; keepHint: string }> = {
  rekey: {
    title: "Someone may know your passphrase or recovery key",
    confirm: "Replace keys and credentials",
    keep: "Only my recovery key was exposed — keep my passphrase",
    keepHint: "Your passphrase stays; you still get a new recovery key and new vault keys.",
  },
  reencrypt: {
    title: "Re-encrypt everything?",
    confirm: "Re-encrypt everything",
    keep: "My passphrase was not compromised — keep it",
    keepHint: "Your passphrase stays; the recovery key, the vault keys and every file's keys are new.",
  },
};

function explain(k: KeyInfo, depth: Response): Node[] {
  if (depth === "rekey") {
    return [
      h("p", { text: "Use this if someone may have seen, guessed or found your passphrase or your recovery key." }),
      h(
        "ul",
        { class: "steps" },
        h("li", { text: "You choose a new passphrase and get a new recovery key, shown as soon as it is ready. The old passphrase and recovery key stop working." }),
        h("li", { text: "Coffer makes new vault keys, and renews computer login unlock and organisation escrow if you use them." }),
        h("li", { text: `Every file's key is re-locked with the new vault key: ${plural(k.files, "file", "files")} — ${estimateText("rekey", k.files, k.bytes)}. The files aren't rewritten.` }),
      ),
      h("p", { class: "notice notice-info" }, icon("info", "icon icon-sm"), h("span", { text: `${PROTECTS.rekey} Files already in the vault keep their file keys: if the vault's files may have been copied too, re-encrypt everything instead.` })),
      h("p", { class: "muted", text: "You can keep working while it runs. If it stops, it continues the next time you unlock." }),
    ];
  }
  return [
    h(
      "div",
      { class: "notice notice-danger" },
      icon("warning", "icon icon-sm"),
      h("span", { text: "Only do this after a suspected compromise, for example a stolen laptop or a passphrase written down where others saw it." }),
    ),
    h(
      "ul",
      { class: "steps" },
      h("li", { text: `Every file is decrypted and encrypted again with new keys: ${plural(k.files, "file", "files")}, ${formatSize(k.bytes)}.` }),
      h("li", { text: "The old keys are destroyed, so a copy of the vault taken before can't be opened with them." }),
      h("li", { text: "You choose a new passphrase and get a new recovery key, shown as soon as it is ready, before the files are rewritten. The old ones stop working." }),
    ),
    h("p", { class: "preview-sentence", text: `This takes ${estimateText("reencrypt", k.files, k.bytes)} (at about 150 MB a second).` }),
    h("p", { class: "muted", text: "Keep Coffer open; you can keep working. If it stops, it continues the next time you unlock." }),
  ];
}

/** Asks, starts the response, and shows the new recovery key and the progress. */
export async function respond(app: VaultContext, k: KeyInfo, depth: Response): Promise<void> {
  const t = TEXT[depth];
  const next = passphraseField({ label: "New passphrase", autocomplete: "new-password", strength: true });
  const again = passphraseField({ label: "Type the new passphrase again", autocomplete: "new-password" });
  const keep = checkbox({ label: t.keep, hint: t.keepHint });
  keep.input.addEventListener("change", () => {
    next.wrap.hidden = again.wrap.hidden = keep.input.checked;
    next.setError(null);
    again.setError(null);
  });
  // Filled in by `run` once the new credentials are in force.
  const begun: { run: RotationRun | null; key: string | null; kept: boolean } = { run: null, key: null, kept: false };
  const ok = await withPassphrase({
    title: t.title,
    content: explain(k, depth),
    wide: true,
    danger: depth === "reencrypt",
    extraFields: [next, again],
    after: [keep.wrap],
    confirmLabel: t.confirm,
    busyLabel: "Starting…",
    validate: (current) => {
      next.setError(null);
      again.setError(null);
      const p = checkNewPassphrase({ current, next: next.input.value, again: again.input.value, keep: keep.input.checked, strong: next.strengthOk() });
      if (!p) return true;
      const f = p.field === "next" ? next : again;
      f.setError(p.message);
      f.input.focus();
      return false;
    },
    run: async (pass) => {
      const kept = keep.input.checked;
      const r = app.rotation.start(pass, depth, kept ? { keepPassphrase: true } : { newPassphrase: next.input.value });
      // The dialog stays open until the new credentials are in force;
      // a refusal before that (wrong passphrase, the passphrase in use
      // chosen again) shows in it.
      const { recoveryKey } = await r.started;
      begun.run = r;
      begun.key = recoveryKey;
      begun.kept = kept;
      next.input.value = again.input.value = "";
    },
  });
  if (ok && begun.run && begun.key) await showNewCredentials(app, depth, begun.key, begun.kept, begun.run.done);
}

/**
 * The new recovery key (Escape can't close it; "Done" once the person
 * says they wrote it down), the rotation's progress under it, and what is
 * protected once it ends.
 */
async function showNewCredentials(app: VaultContext, depth: Response, key: string, kept: boolean, done: Promise<RotationResult | null>): Promise<void> {
  const ack = checkbox({ label: "I have written down my new recovery key" });
  const panel = rotationPanel(app);
  const end = h("div", { class: "response-end", attrs: { "aria-live": "polite" } });
  void done.then((r) => {
    if (r) end.replaceChildren(h("p", { class: "notice notice-ok" }, icon("check", "icon icon-sm"), h("span", { text: RESPONSE_DONE[depth] })));
  });
  await showModal({
    title: "Write down your new recovery key",
    wide: true,
    dismissable: false,
    content: [
      h("p", {
        text: `The vault's keys and the ways to unlock it are replaced. ${kept ? "Your passphrase stays as it is." : "Unlock with your new passphrase from now on."} Your old recovery key no longer works. Keep this one on paper somewhere safe, away from this computer. Coffer shows it only once.`,
      }),
      recoveryKeyBox(key),
      ack.wrap,
      panel.el,
      end,
    ],
    initialFocus: () => ack.input,
    actions: [{ label: "Done", value: "ok", kind: "primary" }],
    onOpen: (ui) => {
      ui.setActionEnabled("ok", false);
      ack.input.addEventListener("change", () => ui.setActionEnabled("ok", ack.input.checked));
    },
    onAction: () => ack.input.checked,
  });
  panel.destroy();
}
