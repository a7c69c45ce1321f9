// Settings: auto-lock, unlocking with the computer login, the recovery key,
// and About (the only place that speaks of cryptography).

import type { VaultContext, View } from "../view";
import { autoLockChoices, effectiveAutoLock } from "../choices";
import { withPassphrase } from "../components/passphrase-dialog";
import { checkbox } from "../components/fields";
import { toast, toastError } from "../components/toast";
import { h, icon, uid } from "../dom";
import { formatMinutes } from "../format";
import { api, type Settings } from "../ipc";
import { showNewRecoveryKey } from "./unlock";

export function settingsView(app: VaultContext): View {
  let settings: Settings | null = null;
  let destroyed = false;

  // ---- auto-lock
  const selId = uid("autolock");
  const select = h("select", { id: selId, class: "select", attrs: { "aria-describedby": `${selId}-hint` } });
  const autoHint = h("p", { id: `${selId}-hint`, class: "hint" });
  const managedNote = h("p", { class: "managed", attrs: { hidden: true } }, icon("building", "icon icon-sm"), h("span", { text: "Managed by your organisation" }));
  const lockCard = card(
    "Locking",
    h("div", { class: "setting" }, h("label", { class: "label", attrs: { for: selId }, text: "Lock automatically after" }), h("div", { class: "setting-control" }, select, managedNote), autoHint),
  );

  // ---- keychain
  const kc = checkbox({ label: "Unlock with my computer login", hint: "While you are signed in to this computer, Coffer can unlock without your passphrase.", switchRole: true });
  const kcNote = h("p", { class: "managed", attrs: { hidden: true } }, icon("building", "icon icon-sm"), h("span", { class: "kc-note-text" }));
  const kcCard = card("Unlocking", kc.wrap, kcNote);

  // ---- recovery key
  const rkBtn = h("button", { class: "btn btn-secondary", attrs: { type: "button" } }, icon("key"), h("span", { text: "Make a new recovery key…" }));
  const rkCard = card(
    "Recovery key",
    h("p", { class: "card-text", text: "If you forget your passphrase, your recovery key is the way back in. If you've lost it, make a new one — the old one stops working." }),
    h("div", { class: "card-actions" }, rkBtn),
  );

  // ---- about
  const aboutBody = h("div");
  const aboutCard = card("About Coffer", aboutBody);

  const el = h(
    "div",
    { class: "page page-settings" },
    h("header", { class: "page-head" }, h("div", null, h("h1", { class: "page-title", text: "Settings" }))),
    h("div", { class: "settings-grid" }, h("div", { class: "settings-col" }, lockCard, kcCard, rkCard), h("div", { class: "settings-col" }, aboutCard)),
  );

  function card(title: string, ...body: Node[]): HTMLElement {
    const id = uid("card");
    return h("section", { class: "card", attrs: { "aria-labelledby": id } }, h("div", { class: "card-head" }, h("h2", { id, class: "card-title", text: title })), h("div", { class: "card-body" }, ...body));
  }

  function render(): void {
    const s = settings;
    if (!s) {
      select.disabled = true;
      kc.input.disabled = true;
      return;
    }
    const max = s.managed.autoLockMax;
    const current = effectiveAutoLock(s.autoLockMinutes, max);
    select.replaceChildren(...autoLockChoices(current, max).map((m) => h("option", { text: formatMinutes(m), attrs: { value: m } })));
    select.value = String(current);
    const managed = max != null;
    select.disabled = managed;
    managedNote.hidden = !managed;
    autoHint.textContent = managed
      ? `Your organisation locks Coffer after at most ${formatMinutes(max!)} without activity.`
      : "Without activity, Coffer locks itself. Files you have open are saved back into the vault and closed.";

    const forbidden = s.managed.keychainForbidden || app.state?.keychainAllowed === false;
    kc.input.checked = s.keychainUnlock && !forbidden;
    kc.input.disabled = forbidden;
    kcNote.hidden = !forbidden;
    kcNote.querySelector(".kc-note-text")!.textContent = "Not allowed by your organisation";

    const a = app.state?.about;
    const rows: [string, string][] = a
      ? [
          ["Format version", String(a.formatVersion)],
          ["Encryption", a.cipher],
          ["Passphrase protection", a.kdf || "—"],
          ["Key version", String(a.keyVersion)],
          ["Vault location", app.state?.vaultDir ?? "—"],
          ["Organisation policy", s.managed.byPolicy ?? "None"],
        ]
      : [];
    aboutBody.replaceChildren(
      h("p", { class: "card-text" }, h("strong", { text: `Coffer ${a?.version ?? ""}`.trim() }), h("span", { text: " — keeps your files encrypted on this computer." })),
      h("details", { class: "details" }, h("summary", { text: "Technical details" }), h("dl", { class: "facts facts-stacked" }, rows.map(([k, v]) => h("div", { class: "fact" }, h("dt", { text: k }), h("dd", { text: v }))))),
    );
  }

  async function load(): Promise<void> {
    try {
      const s = await api.getSettings();
      if (destroyed) return;
      settings = s;
    } catch (e) {
      toastError(null, e);
    }
    render();
  }

  select.addEventListener("change", async () => {
    const m = Number(select.value);
    const prev = settings;
    try {
      settings = await api.setAutoLock(m);
      toast(`Coffer now locks after ${formatMinutes(m)} without activity`, "success");
      void app.refreshState().catch(() => {});
    } catch (e) {
      settings = prev;
      toastError(null, e);
    }
    render();
  });

  kc.input.addEventListener("change", async () => {
    const enable = kc.input.checked;
    // The switch only changes once the passphrase is confirmed.
    kc.input.checked = !enable;
    const ok = await withPassphrase({
      title: enable ? "Unlock with your computer login?" : "Stop unlocking with your computer login?",
      content: [
        h("p", {
          text: enable
            ? "Anyone signed in to this computer as you will be able to unlock Coffer. Enter your passphrase to turn this on."
            : "You'll need your passphrase every time. Enter it to confirm.",
        }),
      ],
      confirmLabel: enable ? "Turn on" : "Turn off",
      busyLabel: "Checking…",
      run: async (passphrase) => {
        settings = await api.setKeychainUnlock(enable, passphrase);
      },
    });
    render();
    if (ok) {
      toast(enable ? "You can now unlock with your computer login" : "Unlocking with your computer login is off", "success");
      void app.refreshState().catch(() => {});
    }
    kc.input.focus();
  });

  rkBtn.addEventListener("click", async () => {
    let key: string | null = null;
    const ok = await withPassphrase({
      title: "Make a new recovery key?",
      content: [h("p", { text: "Your current recovery key will stop working. Enter your passphrase to continue." })],
      confirmLabel: "Make new key",
      busyLabel: "Making a new key…",
      run: async (passphrase) => {
        key = (await api.regenerateRecoveryKey(passphrase)).recoveryKey;
      },
    });
    if (!ok || !key) return;
    await showNewRecoveryKey(key);
    key = null;
    toast("Your new recovery key is ready", "success", "The old one no longer works with this copy of the vault. If someone may have it, use “I think someone knows my passphrase or recovery key” in Keys.");
    rkBtn.focus();
  });

  render();
  void load();

  return {
    el,
    title: "Settings",
    stateChanged: () => render(),
    destroy: () => {
      destroyed = true;
    },
  };
}
