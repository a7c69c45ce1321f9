// The screens shown while the vault is locked: first-run setup (with the
// one-time recovery key), unlock, and "forgot passphrase" recovery.

import type { GateContext, View } from "../view";
import { showModal } from "../components/dialog";
import { toast } from "../components/toast";
import { checkbox, passphraseField, textField } from "../components/fields";
import { h, icon, uid } from "../dom";
import { formatCountdown, groupRecoveryKey, plural } from "../format";
import { api, describeError, toIpcError, type IpcError } from "../ipc";
import { MIN_LENGTH } from "../strength";

function gateCard(...children: (Node | null | false)[]): HTMLElement {
  return h("section", { class: "gate-card" }, h("div", { class: "gate-brand" }, h("span", { class: "brand-mark" }, icon("shield")), h("span", { class: "brand-name", text: "Coffer" })), ...children);
}

function formError(): { el: HTMLElement; show: (title: string, detail?: string) => void; clear: () => void } {
  const el = h("div", { class: "form-error", attrs: { role: "alert" } });
  return {
    el,
    show(title, detail) {
      el.replaceChildren(icon("warning", "icon icon-sm"), h("div", null, h("strong", { text: title }), detail ? h("span", { text: " " + detail }) : null));
      el.classList.add("visible");
      // Restart the shake animation.
      el.classList.remove("shake");
      void el.offsetWidth;
      el.classList.add("shake");
    },
    clear() {
      el.replaceChildren();
      el.classList.remove("visible", "shake");
    },
  };
}

function busy(btn: HTMLButtonElement, on: boolean, label: string): void {
  if (on) {
    btn.dataset.label = btn.textContent ?? "";
    btn.textContent = label;
    btn.classList.add("is-busy");
    btn.disabled = true;
  } else {
    if (btn.dataset.label !== undefined) btn.textContent = btn.dataset.label;
    delete btn.dataset.label;
    btn.classList.remove("is-busy");
    btn.disabled = false;
  }
}

/** Watching continues while locked: say so, calmly, under the card. */
function lockedFooter(app: GateContext): HTMLElement | null {
  const s = app.state;
  if (!s || !s.vaultExists) return null;
  const text = s.watcher.running
    ? s.watcher.folders > 0
      ? `While locked, Coffer keeps encrypting new files in your ${plural(s.watcher.folders, "protected folder", "protected folders")}.`
      : "While locked, Coffer keeps protecting your files."
    : "Folder watching is not running. Unlock to see why.";
  return h("p", { class: "gate-foot" }, icon(s.watcher.running ? "shield-check" : "info", "icon icon-sm"), h("span", { text }));
}

// ---------------------------------------------------------------- setup

export function setupView(app: GateContext): View {
  const pass = passphraseField({ label: "Passphrase", autocomplete: "new-password", strength: true });
  const again = passphraseField({ label: "Type it again", autocomplete: "new-password" });
  const allowKeychain = app.state?.keychainAllowed ?? true;
  const kc = checkbox({
    label: "Also unlock with my computer login",
    hint: "While you are signed in to this computer, you can unlock without typing the passphrase.",
    checked: false,
  });
  const err = formError();
  const submit = h("button", { class: "btn btn-primary btn-block btn-lg", text: "Create vault", attrs: { type: "submit" } });
  const form = h(
    "form",
    { class: "gate-form", attrs: { novalidate: true, "aria-label": "Create your vault" } },
    pass.wrap,
    again.wrap,
    allowKeychain ? kc.wrap : null,
    err.el,
    submit,
  );
  const el = gateCard(
    h("h1", { class: "gate-title", text: "Welcome to Coffer" }),
    h("p", {
      class: "gate-lead",
      text: "Coffer keeps your clinic's files safe on this computer. Choose a passphrase — you'll type it to open your files.",
    }),
    form,
  );

  // Enter: from the first field to the second while it is empty, else
  // create (WebKitGTK's implicit submission is not relied upon).
  for (const f of [pass, again]) {
    f.input.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || e.isComposing) return;
      e.preventDefault();
      if (f === pass && !again.input.value && [...pass.input.value].length >= MIN_LENGTH && pass.strengthOk()) again.input.focus();
      else form.requestSubmit();
    });
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.clear();
    pass.setError(null);
    again.setError(null);
    if ([...pass.input.value].length < MIN_LENGTH) {
      pass.setError(`Use at least ${MIN_LENGTH} characters.`);
      pass.input.focus();
      return;
    }
    if (!pass.strengthOk()) {
      pass.setError("This passphrase is too easy to guess. Add a few more words.");
      pass.input.focus();
      return;
    }
    if (again.input.value !== pass.input.value) {
      again.setError("The two passphrases don't match.");
      again.input.focus();
      return;
    }
    busy(submit, true, "Creating your vault…");
    try {
      const r = await api.createVault(pass.input.value, allowKeychain && kc.input.checked);
      pass.input.value = "";
      again.input.value = "";
      // The state read at start-up predates the vault (no watcher yet).
      await app.refreshState().catch(() => {});
      app.showGate(recoveryKeyView(app, r.recoveryKey));
      if (r.keychainError) {
        toast("Unlocking with this computer's keychain is not set up", "error", `${r.keychainError} Your vault and its recovery key are fine; you can turn keychain unlock on later in Settings.`, 15000);
      }
    } catch (e) {
      busy(submit, false, "");
      const t = describeError(toIpcError(e));
      err.show(t.title, t.detail);
    }
  });

  return { el: h("div", { class: "gate-wrap" }, el), title: "Welcome", focusTarget: () => pass.input };
}

// ---------------------------------------------------------------- recovery key

/** The recovery key, large and grouped, for writing down. */
export function recoveryKeyBox(key: string): HTMLElement {
  const groups = groupRecoveryKey(key);
  const label = uid("rk");
  return h(
    "div",
    { class: "recovery-key", attrs: { role: "group", "aria-labelledby": label } },
    h("span", { id: label, class: "sr-only", text: `Recovery key, ${groups.length} groups of up to 8 characters` }),
    h(
      "ol",
      { class: "recovery-groups" },
      groups.map((g, i) => h("li", { class: "recovery-group", attrs: { "aria-label": `Group ${i + 1}: ${g.split("").join(" ")}` } }, h("span", { class: "recovery-num", text: String(i + 1), attrs: { "aria-hidden": "true" } }), h("span", { class: "recovery-chars", text: g, attrs: { "aria-hidden": "true" } }))),
    ),
  );
}

/**
 * A new recovery key in a dialog that Escape can't close: shown once, and
 * only "Done" once the person confirms they wrote it down.
 */
export async function showNewRecoveryKey(key: string, intro = "Keep it on paper somewhere safe, away from this computer. Coffer shows it only once."): Promise<void> {
  const ok = checkbox({ label: "I have written down my new recovery key" });
  await showModal({
    title: "Write down your new recovery key",
    wide: true,
    dismissable: false,
    content: [h("p", { text: intro }), recoveryKeyBox(key), ok.wrap],
    initialFocus: () => ok.input,
    actions: [{ label: "Done", value: "ok", kind: "primary" }],
    onOpen: (ui) => {
      ui.setActionEnabled("ok", false);
      ok.input.addEventListener("change", () => ui.setActionEnabled("ok", ok.input.checked));
    },
    onAction: () => ok.input.checked,
  });
}

export function recoveryKeyView(app: GateContext, key: string): View {
  const ok = checkbox({ label: "I have written down my recovery key and will keep it somewhere safe" });
  const cont = h("button", { class: "btn btn-primary btn-block btn-lg", text: "Continue", attrs: { type: "submit", disabled: true } });
  ok.input.addEventListener("change", () => (cont.disabled = !ok.input.checked));
  const form = h("form", { class: "gate-form", attrs: { novalidate: true, "aria-label": "Confirm your recovery key" } }, ok.wrap, cont);
  const el = gateCard(
    h("h1", { class: "gate-title", text: "Write down your recovery key" }),
    h("p", {
      class: "gate-lead",
      text: "If you ever forget your passphrase, this key is the only way back to your files. Write it on paper and keep it somewhere safe, away from this computer.",
    }),
    recoveryKeyBox(key),
    h("p", { class: "notice notice-info" }, icon("info", "icon icon-sm"), h("span", { text: "Coffer shows this key only once. It does not keep a copy." })),
    form,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!ok.input.checked) return;
    el.replaceChildren();
    void app.enterVaultFresh();
  });
  return { el: h("div", { class: "gate-wrap" }, el), title: "Recovery key" };
}

// ---------------------------------------------------------------- unlock

/**
 * Shared handling of a wrong credential: message, shake, and after three
 * tries a countdown that disables the button(s).
 */
function backoffControl(app: GateContext, err: ReturnType<typeof formError>, buttons: HTMLButtonElement[], what: "passphrase" | "recovery key") {
  let timer: ReturnType<typeof setInterval> | null = null;
  const labels = buttons.map((b) => b.textContent ?? "");
  // Announced once when the wait starts; the button shows the countdown.
  const status = h("p", { class: "sr-only", attrs: { "aria-live": "polite" } });
  const tick = () => {
    const ms = app.backoff.remainingMs();
    if (ms <= 0) {
      if (timer) clearInterval(timer);
      timer = null;
      buttons.forEach((b, i) => {
        b.disabled = false;
        b.textContent = labels[i]!;
        b.classList.remove("is-waiting");
      });
      return;
    }
    for (const b of buttons) {
      b.disabled = true;
      b.textContent = `Try again in ${formatCountdown(ms / 1000)}`;
      b.classList.add("is-waiting");
    }
  };
  const start = () => {
    if (timer) clearInterval(timer);
    const ms = app.backoff.remainingMs();
    if (ms > 0) status.textContent = `Too many wrong attempts. Wait ${formatCountdown(ms / 1000)} before trying again.`;
    tick();
    if (ms > 0) timer = setInterval(tick, 250);
  };
  return {
    status,
    start,
    waiting: () => app.backoff.remainingMs() > 0,
    wrong(e: IpcError) {
      app.backoff.fail();
      const waiting = app.backoff.remainingMs() > 0;
      const title = what === "passphrase" ? "Wrong passphrase." : "That recovery key doesn't match this vault.";
      const detail =
        what === "passphrase"
          ? waiting
            ? "Too many attempts, so Coffer waits a little before the next one. If you've forgotten your passphrase, use your recovery key."
            : "Check that Caps Lock is off and try again."
          : e.message && e.code !== "wrong_credential"
            ? e.message
            : waiting
              ? "Too many attempts, so Coffer waits a little before the next one. Check each group of characters."
              : "Check each group of characters and try again.";
      err.show(title, detail);
      start();
    },
    destroy() {
      if (timer) clearInterval(timer);
    },
  };
}

export function unlockView(app: GateContext, notice?: string): View {
  const s = app.state;
  const pass = passphraseField({ label: "Passphrase", autocomplete: "current-password" });
  const err = formError();
  const submit = h("button", { class: "btn btn-primary btn-block btn-lg", text: "Unlock", attrs: { type: "submit" } });
  const showKeychain = !!s && s.keychainEnrolled && s.keychainAllowed;
  const kcBtn = showKeychain
    ? h("button", { class: "btn btn-secondary btn-block btn-lg", attrs: { type: "button" } }, icon("user"), h("span", { text: "Unlock with my computer login" }))
    : null;
  const forgot = h("button", { class: "btn btn-link", text: "Forgot passphrase?", attrs: { type: "button" } });
  const bo = backoffControl(app, err, [submit], "passphrase");

  const form = h(
    "form",
    { class: "gate-form", attrs: { novalidate: true, "aria-label": "Unlock" } },
    pass.wrap,
    err.el,
    bo.status,
    submit,
    kcBtn ? h("div", { class: "or", attrs: { "aria-hidden": "true" } }, h("span", { text: "or" })) : null,
    kcBtn,
    h("div", { class: "gate-links" }, forgot),
  );

  const el = gateCard(
    h("div", { class: "gate-icon" }, icon("lock", "icon icon-lg")),
    h("h1", { class: "gate-title", text: "Coffer is locked" }),
    notice ? h("p", { class: "notice notice-info", attrs: { role: "status" } }, icon("clock", "icon icon-sm"), h("span", { text: notice })) : null,
    h("p", { class: "gate-lead", text: "Enter your passphrase to open your files." }),
    form,
  );

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (bo.waiting()) return;
    err.clear();
    pass.setError(null);
    if (!pass.input.value) {
      pass.setError("Enter your passphrase.");
      pass.input.focus();
      return;
    }
    busy(submit, true, "Unlocking…");
    if (kcBtn) kcBtn.disabled = true;
    try {
      await api.unlock(pass.input.value);
      pass.input.value = "";
      await app.enterVaultFresh();
    } catch (e) {
      busy(submit, false, "");
      if (kcBtn) kcBtn.disabled = false;
      const ie = toIpcError(e);
      if (ie.code === "wrong_credential") {
        bo.wrong(ie);
        pass.input.select();
      } else {
        const t = describeError(ie);
        err.show(t.title, t.detail);
      }
      pass.input.focus();
    }
  });

  kcBtn?.addEventListener("click", async () => {
    err.clear();
    kcBtn.disabled = true;
    submit.disabled = true;
    kcBtn.classList.add("is-busy");
    try {
      await api.unlockWithKeychain();
      await app.enterVaultFresh();
    } catch (e) {
      kcBtn.classList.remove("is-busy");
      kcBtn.disabled = false;
      submit.disabled = bo.waiting();
      const ie = toIpcError(e);
      if (ie.code === "keychain_unavailable" || ie.code === "not_found") {
        kcBtn.disabled = true;
        err.show("Your computer login couldn't unlock Coffer.", "Use your passphrase instead.");
      } else {
        const t = describeError(ie);
        err.show(t.title, t.detail);
      }
      pass.input.focus();
    }
  });

  forgot.addEventListener("click", () => app.showRecover());
  bo.start();

  const foot = lockedFooter(app);
  return {
    el: h("div", { class: "gate-wrap" }, el, foot),
    title: "Locked",
    focusTarget: () => pass.input,
    destroy: () => bo.destroy(),
  };
}

// ---------------------------------------------------------------- recover

export function recoverView(app: GateContext): View {
  const rk = textField({
    label: "Recovery key",
    hint: "The key you wrote down when Coffer was set up. Dashes and spaces don't matter.",
    mono: true,
    placeholder: "XXXXXXXX-XXXXXXXX-…",
  });
  rk.input.setAttribute("autocapitalize", "characters");
  const pass = passphraseField({ label: "New passphrase", autocomplete: "new-password", strength: true });
  const again = passphraseField({ label: "Type the new passphrase again", autocomplete: "new-password" });
  const err = formError();
  const submit = h("button", { class: "btn btn-primary btn-block btn-lg", text: "Unlock and save new passphrase", attrs: { type: "submit" } });
  const back = h("button", { class: "btn btn-link" }, icon("arrow-left", "icon icon-sm"), h("span", { text: "Back to unlock" }));
  back.type = "button";
  const bo = backoffControl(app, err, [submit], "recovery key");

  const form = h("form", { class: "gate-form", attrs: { novalidate: true, "aria-label": "Recover with your recovery key" } }, rk.wrap, pass.wrap, again.wrap, err.el, bo.status, submit, h("div", { class: "gate-links" }, back));
  const el = gateCard(
    h("h1", { class: "gate-title", text: "Use your recovery key" }),
    h("p", { class: "gate-lead", text: "Type your recovery key, then choose a new passphrase. Your files stay exactly as they are." }),
    form,
  );

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (bo.waiting()) return;
    err.clear();
    for (const f of [rk, pass, again]) f.setError(null);
    const key = rk.input.value.trim();
    if (!key) {
      rk.setError("Enter your recovery key.");
      rk.input.focus();
      return;
    }
    if ([...pass.input.value].length < MIN_LENGTH || !pass.strengthOk()) {
      pass.setError(`Choose a passphrase of at least ${MIN_LENGTH} characters that is hard to guess.`);
      pass.input.focus();
      return;
    }
    if (again.input.value !== pass.input.value) {
      again.setError("The two passphrases don't match.");
      again.input.focus();
      return;
    }
    busy(submit, true, "Unlocking…");
    try {
      await api.recover(key, pass.input.value);
      rk.input.value = "";
      pass.input.value = "";
      again.input.value = "";
      await app.enterVaultFresh();
    } catch (e) {
      busy(submit, false, "");
      const ie = toIpcError(e);
      if (ie.code === "wrong_credential") {
        bo.wrong(ie);
        rk.input.focus();
      } else if (ie.code === "invalid") {
        // A typo caught by the key's checksum: not a guess, no back-off.
        rk.setError(ie.message ? capitalise(ie.message) : "That recovery key has a typo. Check each group of 8 characters.");
        rk.input.focus();
      } else {
        const t = describeError(ie);
        err.show(t.title, t.detail);
      }
    }
  });
  back.addEventListener("click", () => app.showUnlock());
  bo.start();
  return { el: h("div", { class: "gate-wrap" }, el), title: "Recover", focusTarget: () => rk.input, destroy: () => bo.destroy() };
}

function capitalise(s: string): string {
  const t = s.trim();
  const c = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(c) ? c : c + ".";
}
