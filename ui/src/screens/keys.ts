// Keys: the vault key (version, age, next scheduled update), the ways to
// unlock (passphrase, computer login, recovery key, organisation escrow),
// rotating the key, and the responses to a secret that may be known:
// replacing the keys and credentials, or re-encrypting everything. Each
// action says what it protects. Every change asks for the passphrase again.

import type { VaultContext, View } from "../view";
import { passphraseField } from "../components/fields";
import { withPassphrase } from "../components/passphrase-dialog";
import { rotationPanel } from "../components/rotation-panel";
import { toast, toastError } from "../components/toast";
import { h, icon, uid } from "../dom";
import { formatDay, formatFullDate, formatSize, plural } from "../format";
import { api, describeError, pickFile, toIpcError, type KeyInfo, type SlotKind } from "../ipc";
import { ageText, estimateText, PROTECTS, scheduleText, SLOT_ORDER, SLOT_TEXT } from "../keys-model";
import { MIN_LENGTH } from "../strength";
import { respond, type Response } from "./keys-respond";
import { showNewRecoveryKey } from "./unlock";

/** The name of the action for a passphrase or recovery key someone may know. */
const EXPOSED = "I think someone knows my passphrase or recovery key";

export function keysView(app: VaultContext): View {
  let info: KeyInfo | null = null;
  let failed: string | null = null;
  let destroyed = false;

  const panel = rotationPanel(app);

  // ---- vault key
  const keyBody = h("div", { class: "card-body" });
  const rotateBtn = h("button", { class: "btn btn-primary", attrs: { type: "button" } }, icon("key"), h("span", { text: "Rotate vault key…" }));
  const rotateHint = h("p", { class: "hint" });
  const keyCard = card("Vault key", keyBody, h("div", { class: "card-body card-body-foot" }, h("div", { class: "card-actions" }, rotateBtn), rotateHint));

  // ---- ways to unlock
  const slotList = h("ul", { class: "slot-list", attrs: { "aria-label": "Ways to unlock" } });
  const slotsCard = card("Ways to unlock", h("p", { class: "card-text", text: "Each of these can open the vault on its own. Keep at least one you can't lose." }), slotList);

  // ---- a secret that may be known: two responses, each with what it protects
  const rekeyBtn = h("button", { class: "btn btn-secondary", attrs: { type: "button" } }, icon("key"), h("span", { text: "Replace keys and credentials…" }));
  const rekeyText = h("p", { class: "hint" });
  const reencBtn = h("button", { class: "btn btn-danger", attrs: { type: "button" } }, icon("shield"), h("span", { text: "Re-encrypt everything…" }));
  const reencText = h("p", { class: "hint" });
  const response = (title: string, protects: string, hint: HTMLElement, btn: HTMLElement) =>
    h("div", { class: "response" }, h("h3", { class: "response-title", text: title }), h("p", { class: "card-text", text: protects }), hint, h("div", { class: "card-actions" }, btn));
  const compromiseCard = card(
    "If someone may know a secret",
    response("Someone may know your passphrase or recovery key", PROTECTS.rekey, rekeyText, rekeyBtn),
    response("The vault's files may have been copied too", PROTECTS.reencrypt, reencText, reencBtn),
  );
  compromiseCard.classList.add("card-danger");

  const el = h(
    "div",
    { class: "page page-keys" },
    h(
      "header",
      { class: "page-head" },
      h("div", null, h("h1", { class: "page-title", text: "Keys" }), h("p", { class: "page-sub", text: "The key that encrypts your vault, and the ways you can unlock it." })),
    ),
    panel.el,
    h("div", { class: "keys-top" }, keyCard, compromiseCard),
    slotsCard,
  );

  function card(title: string, ...body: Node[]): HTMLElement {
    const id = uid("card");
    const first = body[0] as HTMLElement | undefined;
    const wrapped = first?.classList?.contains("card-body") ? body : [h("div", { class: "card-body" }, ...body)];
    return h("section", { class: "card", attrs: { "aria-labelledby": id } }, h("div", { class: "card-head" }, h("h2", { id, class: "card-title", text: title })), ...wrapped);
  }

  // ---- rendering

  function render(): void {
    const busy = app.rotation.status.kind !== "idle";
    rotateBtn.disabled = rekeyBtn.disabled = reencBtn.disabled = !info || busy;
    if (!info) {
      keyBody.replaceChildren(h("p", { class: failed ? "field-error" : "muted", text: failed ?? "Loading…" }));
      slotList.replaceChildren();
      rotateHint.textContent = "";
      rekeyText.textContent = "";
      reencText.textContent = "";
      return;
    }
    const k = info;
    const now = Date.now();
    const sched = scheduleText(k, now);
    const rows: [string, Node | string][] = [
      ["Key version", String(k.keyVersion)],
      ["Created", `${formatDay(k.keyCreatedNs)} · ${ageText(k.keyAgeDays)}`],
      [
        "Next scheduled update",
        h("span", { class: ["sched", `sched-${sched.tone}`] }, sched.tone === "due" ? icon("warning", "icon icon-xs") : null, h("span", { text: sched.text })),
      ],
    ];
    keyBody.replaceChildren(
      h(
        "dl",
        { class: "facts facts-key" },
        rows.map(([dt, dd]) => h("div", { class: "fact" }, h("dt", { text: dt }), h("dd", { attrs: { title: dt === "Created" ? formatFullDate(k.keyCreatedNs) : null } }, dd))),
      ),
    );
    rotateHint.textContent =
      app.rotation.status.kind === "running"
        ? "A key update is running."
        : app.rotation.status.kind === "pending"
          ? "A key update is paused. Continue it first."
          : `Makes a new key and re-locks the keys of ${plural(k.files, "file", "files")} with it — ${estimateText("rewrap", k.files, k.bytes)}. Files aren't rewritten. ${PROTECTS.rewrap}`;
    rekeyText.textContent = `A new passphrase and recovery key, then the keys of ${plural(k.files, "file", "files")} re-locked — ${estimateText("rekey", k.files, k.bytes)}.`;
    reencText.textContent = `This rewrites ${plural(k.files, "file", "files")} (${formatSize(k.bytes)}) and takes ${estimateText("reencrypt", k.files, k.bytes)}.`;
    renderSlots(k);
  }

  function renderSlots(k: KeyInfo): void {
    const keychainAllowed = app.state?.keychainAllowed !== false;
    slotList.replaceChildren(
      ...SLOT_ORDER.map((kind) => {
        const slot = k.slots.find((s) => s.kind === kind);
        const t = SLOT_TEXT[kind];
        const actions: HTMLElement[] = [];
        const btn = (label: string, aria: string, fn: () => void, cls = "btn btn-secondary btn-sm") => {
          const b = h("button", { class: cls, text: label, attrs: { type: "button", "aria-label": aria } });
          b.addEventListener("click", fn);
          actions.push(b);
        };
        let badge: HTMLElement | null = null;
        const notes: HTMLElement[] = [];
        if (kind === "passphrase") {
          btn("Change…", "Change passphrase", () => void changePassphrase());
          // Next to the change: what it protects, and the response for a
          // passphrase (or recovery key) someone may know.
          const exposed = h("button", { class: "btn btn-link btn-sm slot-exposed", text: EXPOSED, attrs: { type: "button" } });
          exposed.disabled = app.rotation.status.kind !== "idle";
          exposed.addEventListener("click", () => void respondTo("rekey"));
          notes.push(h("p", { class: "slot-note", text: `Changing it: ${PROTECTS.passphrase.charAt(0).toLowerCase()}${PROTECTS.passphrase.slice(1)}` }), exposed);
        } else if (kind === "keychain") {
          if (slot) {
            if (slot.removable) btn("Remove…", "Remove computer login", () => void removeSlot("keychain"));
          } else if (keychainAllowed) {
            btn("Turn on…", "Turn on computer login", () => void enableKeychain());
          } else {
            badge = h("span", { class: "badge badge-org" }, icon("building", "icon icon-xs"), h("span", { text: "Not allowed by your organisation" }));
          }
        } else if (kind === "recovery") {
          btn(slot ? "Replace…" : "Create…", slot ? "Replace recovery key" : "Create recovery key", () => void newRecoveryKey());
          if (slot?.removable) btn("Remove…", "Remove recovery key", () => void removeSlot("recovery"));
        } else {
          btn(slot ? "Replace…" : "Add…", slot ? "Replace organisation escrow" : "Add organisation escrow", () => void enrolEscrow());
          if (slot?.removable) btn("Remove…", "Remove organisation escrow", () => void removeSlot("escrow"));
        }
        if (slot?.requiredByPolicy) badge = h("span", { class: "badge badge-org" }, icon("building", "icon icon-xs"), h("span", { text: "Required by your organisation" }));
        return h(
          "li",
          { class: ["slot", slot ? "slot-on" : "slot-off"], dataset: { kind } },
          h("div", { class: "slot-icon" }, icon(t.icon, "icon")),
          h(
            "div",
            { class: "slot-text" },
            h("p", { class: "slot-name" }, h("span", { text: t.name }), h("span", { class: ["slot-state", slot ? "slot-state-on" : "slot-state-off"], text: slot ? "Set up" : "Not set up" })),
            h("p", { class: "slot-about", text: t.about }),
            notes,
            badge,
          ),
          h("div", { class: "slot-actions" }, actions),
        );
      }),
    );
  }

  async function load(): Promise<void> {
    try {
      const k = await api.keyInfo();
      if (destroyed) return;
      info = k;
      failed = null;
      app.rotation.noteKeyInfo(k);
    } catch (e) {
      if (destroyed) return;
      const err = toIpcError(e);
      if (err.code === "locked") return;
      const t = describeError(err);
      failed = `${t.title}. ${t.detail}`;
    }
    render();
  }

  function refreshAfter(k: KeyInfo | null): void {
    if (k) {
      info = k;
      render();
    } else {
      void load();
    }
    void app.refreshState().catch(() => {});
  }

  // ---- actions

  async function changePassphrase(): Promise<void> {
    const next = passphraseField({ label: "New passphrase", autocomplete: "new-password", strength: true });
    const again = passphraseField({ label: "Type the new passphrase again", autocomplete: "new-password" });
    const ok = await withPassphrase({
      title: "Change your passphrase",
      content: [
        h("p", { text: `${PROTECTS.passphrase} Your files, your recovery key and computer login unlock stay as they are.` }),
        h("p", { class: "muted", text: `If someone may know it, use “${EXPOSED}” on the Keys screen instead: it replaces the vault's keys too.` }),
      ],
      extraFields: [next, again],
      confirmLabel: "Change passphrase",
      busyLabel: "Changing…",
      validate: (current) => {
        next.setError(null);
        again.setError(null);
        if ([...next.input.value].length < MIN_LENGTH || !next.strengthOk()) {
          next.setError(`Choose a passphrase of at least ${MIN_LENGTH} characters that is hard to guess.`);
          next.input.focus();
          return false;
        }
        if (again.input.value !== next.input.value) {
          again.setError("The two passphrases don't match.");
          again.input.focus();
          return false;
        }
        if (current === next.input.value) {
          next.setError("That's your current passphrase. Choose a new one.");
          next.input.focus();
          return false;
        }
        return true;
      },
      run: async (pass) => {
        await api.changePassphrase(pass, next.input.value);
        next.input.value = again.input.value = "";
      },
    });
    if (ok) toast("Your passphrase is changed", "success", "Use the new one from now on. The old one no longer works with this copy of the vault.");
  }

  async function enableKeychain(): Promise<void> {
    const ok = await withPassphrase({
      title: "Unlock with your computer login?",
      content: [h("p", { text: "Anyone signed in to this computer as you will be able to unlock Coffer. Enter your passphrase to turn this on." })],
      confirmLabel: "Turn on",
      busyLabel: "Checking…",
      run: async (pass) => {
        await api.setKeychainUnlock(true, pass);
      },
    });
    if (ok) {
      toast("Coffer unlocks with your computer login", "success", "Your passphrase still works too.");
      refreshAfter(null);
    }
  }

  async function newRecoveryKey(): Promise<void> {
    const had = !!info?.slots.some((s) => s.kind === "recovery");
    let key: string | null = null;
    const ok = await withPassphrase({
      title: had ? "Make a new recovery key?" : "Create a recovery key?",
      content: [h("p", { text: had ? "Your current recovery key will stop working. Enter your passphrase to continue." : "A recovery key lets you back in if you forget your passphrase. Enter your passphrase to continue." })],
      confirmLabel: had ? "Make new key" : "Create key",
      busyLabel: "Making a new key…",
      run: async (pass) => {
        key = (await api.regenerateRecoveryKey(pass)).recoveryKey;
      },
    });
    if (!ok || !key) return;
    await showNewRecoveryKey(key);
    key = null;
    toast("Your new recovery key is ready", "success", had ? "The old one no longer works with this copy of the vault. If someone may have it, use “I think someone knows my passphrase or recovery key”." : undefined);
    refreshAfter(null);
  }

  const REMOVE_TEXT: Record<Exclude<SlotKind, "passphrase">, { title: string; text: string; done: string }> = {
    keychain: {
      title: "Stop unlocking with your computer login?",
      text: "You'll need your passphrase every time Coffer unlocks.",
      done: "Coffer no longer unlocks with your computer login",
    },
    recovery: {
      title: "Remove the recovery key?",
      text: "If you forget your passphrase, there will be no way back into the vault except organisation escrow, if set up. You can create a new recovery key later.",
      done: "The recovery key is removed",
    },
    escrow: {
      title: "Remove organisation escrow?",
      text: "IT will no longer be able to recover the vault with the organisation's key.",
      done: "Organisation escrow is removed",
    },
  };

  async function removeSlot(kind: Exclude<SlotKind, "passphrase">): Promise<void> {
    const t = REMOVE_TEXT[kind];
    let next: KeyInfo | null = null;
    const ok = await withPassphrase({
      title: t.title,
      content: [h("p", { text: t.text }), h("p", { text: "Enter your passphrase to confirm." })],
      confirmLabel: "Remove",
      busyLabel: "Removing…",
      danger: true,
      run: async (pass) => {
        next = await api.removeSlot(kind, pass);
      },
    });
    if (ok) {
      toast(t.done, "success");
      refreshAfter(next);
    }
  }

  async function enrolEscrow(): Promise<void> {
    let path: string | null;
    try {
      path = await pickFile("Choose the organisation's escrow public key");
    } catch (e) {
      toastError(null, e);
      return;
    }
    if (!path) return;
    const had = !!info?.slots.some((s) => s.kind === "escrow");
    let next: KeyInfo | null = null;
    const ok = await withPassphrase({
      title: had ? "Replace organisation escrow?" : "Add organisation escrow?",
      content: [
        h("p", { text: "IT will be able to recover this vault with the organisation's private key, kept offline. Only add a key file you received from IT." }),
        h("p", { class: "muted dialog-path", text: path }),
      ],
      confirmLabel: had ? "Replace" : "Add escrow",
      busyLabel: "Adding…",
      run: async (pass) => {
        next = await api.enrolEscrow(pass, path);
      },
    });
    if (ok) {
      toast(had ? "Organisation escrow is replaced" : "Organisation escrow is set up", "success", "IT can now recover this vault if everything else is lost.");
      refreshAfter(next);
    }
  }

  /** The scheduled rotation (rewrap): hygiene, not a revocation. */
  async function rotate(): Promise<void> {
    const k = info;
    if (!k || app.rotation.status.kind !== "idle") return;
    await withPassphrase({
      title: "Rotate the vault key?",
      content: [
        h("p", { text: "Coffer makes a new vault key, re-locks every file's key with it, and destroys the old one. The files themselves aren't rewritten." }),
        h("p", { class: "preview-sentence" }, `${plural(k.files, "file", "files")} — ${estimateText("rewrap", k.files, k.bytes)}.`),
        h("p", { text: `${PROTECTS.rewrap} If someone may know one, use “${EXPOSED}” instead.` }),
        h("p", { class: "muted", text: "You can keep working while it runs. If it stops, it continues the next time you unlock." }),
      ],
      confirmLabel: "Rotate key",
      busyLabel: "Starting…",
      run: async (pass) => {
        const r = app.rotation.start(pass, "rewrap");
        // The dialog closes once the work has begun; errors before that show in it.
        await r.started;
      },
    });
    render();
  }

  /** The responses to a secret that may be known (keys-respond.ts). */
  async function respondTo(depth: Response): Promise<void> {
    const k = info;
    if (!k || app.rotation.status.kind !== "idle") return;
    await respond(app, k, depth);
    render();
  }

  rotateBtn.addEventListener("click", () => void rotate());
  rekeyBtn.addEventListener("click", () => void respondTo("rekey"));
  reencBtn.addEventListener("click", () => void respondTo("reencrypt"));

  let wasRunning = app.rotation.running;
  const unsub = app.rotation.subscribe(() => {
    const running = app.rotation.running;
    if (wasRunning && !running) void load();
    wasRunning = running;
    render();
  });

  render();
  void load();

  return {
    el,
    title: "Keys",
    keysChanged: () => void load(),
    stateChanged: () => render(),
    destroy: () => {
      destroyed = true;
      unsub();
      panel.destroy();
    },
  };
}
