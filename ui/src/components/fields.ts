// Form fields with their labels, hints and errors wired for assistive tech.

import { h, icon, uid } from "../dom";
import { passphraseStrength } from "../strength";

export type Field<T extends HTMLElement = HTMLInputElement> = {
  wrap: HTMLElement;
  input: T;
  setError: (msg: string | null) => void;
  /** Ids of hint elements the input is described by (errors are added on top). */
  describedBy: string[];
};

export function textField(o: {
  label: string;
  hint?: string;
  type?: string;
  autocomplete?: string;
  name?: string;
  mono?: boolean;
  placeholder?: string;
}): Field {
  const id = uid("f");
  const hintId = o.hint ? `${id}-hint` : null;
  const errId = `${id}-err`;
  const input = h("input", {
    id,
    class: ["input", o.mono && "input-mono"],
    attrs: {
      type: o.type ?? "text",
      name: o.name ?? id,
      autocomplete: o.autocomplete ?? "off",
      spellcheck: "false",
      autocapitalize: "off",
      placeholder: o.placeholder,
      "aria-describedby": hintId ?? undefined,
    },
  });
  const err = h("p", { id: errId, class: "field-error", attrs: { hidden: true } });
  const describedBy: string[] = hintId ? [hintId] : [];
  // An error goes away as soon as the person starts fixing it.
  input.addEventListener("input", () => {
    if (!err.hidden) {
      err.hidden = true;
      input.removeAttribute("aria-invalid");
      if (describedBy.length) input.setAttribute("aria-describedby", describedBy.join(" "));
      else input.removeAttribute("aria-describedby");
    }
  });
  const wrap = h(
    "div",
    { class: "field" },
    h("label", { class: "label", attrs: { for: id }, text: o.label }),
    input,
    o.hint ? h("p", { id: hintId!, class: "hint", text: o.hint }) : null,
    err,
  );
  return {
    wrap,
    input,
    describedBy,
    setError(msg) {
      err.textContent = msg ?? "";
      err.hidden = !msg;
      if (msg) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      const ids = [...(msg ? [errId] : []), ...describedBy].join(" ");
      if (ids) input.setAttribute("aria-describedby", ids);
      else input.removeAttribute("aria-describedby");
    },
  };
}

/** A password input with a show/hide toggle and a Caps Lock warning. */
export function passphraseField(o: { label: string; autocomplete: "current-password" | "new-password"; hint?: string; strength?: boolean }): Field & { strengthOk: () => boolean } {
  const f = textField({ label: o.label, type: "password", autocomplete: o.autocomplete, hint: o.hint });
  const toggle = h("button", {
    class: "input-addon",
    attrs: { type: "button", "aria-label": "Show passphrase", "aria-pressed": "false" },
  });
  toggle.appendChild(icon("eye", "icon icon-sm"));
  toggle.addEventListener("click", () => {
    const show = f.input.type === "password";
    f.input.type = show ? "text" : "password";
    toggle.setAttribute("aria-pressed", String(show));
    toggle.setAttribute("aria-label", show ? "Hide passphrase" : "Show passphrase");
    toggle.replaceChildren(icon(show ? "eye-off" : "eye", "icon icon-sm"));
    f.input.focus();
  });
  const group = h("div", { class: "input-group" });
  f.input.replaceWith(group);
  group.append(f.input, toggle);

  const caps = h("p", { class: "hint hint-warn", text: "Caps Lock is on.", attrs: { hidden: true } });
  const onKey = (e: KeyboardEvent) => {
    if (typeof e.getModifierState === "function") caps.hidden = !e.getModifierState("CapsLock");
  };
  f.input.addEventListener("keydown", onKey);
  f.input.addEventListener("keyup", onKey);
  f.input.addEventListener("blur", () => (caps.hidden = true));
  group.after(caps);

  let ok = () => true;
  if (o.strength) {
    const meterId = uid("strength");
    const bar = h("div", { class: "strength-bar" }, h("span"), h("span"), h("span"), h("span"));
    const label = h("span", { class: "strength-label" });
    const hint = h("span", { class: "strength-hint" });
    const meter = h("div", { id: meterId, class: "strength s0" }, bar, h("p", { class: "strength-text" }, label, hint));
    caps.after(meter);
    const update = () => {
      const s = passphraseStrength(f.input.value);
      meter.className = `strength s${f.input.value ? s.score : 0}`;
      label.textContent = f.input.value ? `${s.label}. ` : "";
      hint.textContent = f.input.value ? s.hint : "Use at least 10 characters. A short sentence is easy to remember.";
    };
    f.input.addEventListener("input", update);
    update();
    f.describedBy.push(meterId);
    f.input.setAttribute("aria-describedby", f.describedBy.join(" "));
    ok = () => passphraseStrength(f.input.value).acceptable;
    // While an error shows, the meter's advice would say the same thing
    // again ("Use at least 10 characters"): the error replaces it, in
    // about the same height, so the card does not jump.
    const text = meter.querySelector<HTMLElement>(".strength-text")!;
    const setError = f.setError;
    f.setError = (msg) => {
      setError(msg);
      text.hidden = !!msg;
    };
    f.input.addEventListener("input", () => (text.hidden = false));
  }
  return { ...f, strengthOk: ok };
}

export function checkbox(o: { label: string; hint?: string; checked?: boolean; switchRole?: boolean }): { wrap: HTMLElement; input: HTMLInputElement } {
  const id = uid("cb");
  const hintId = o.hint ? `${id}-hint` : undefined;
  const input = h("input", {
    id,
    class: o.switchRole ? "switch" : "checkbox",
    attrs: { type: "checkbox", role: o.switchRole ? "switch" : undefined, "aria-describedby": hintId },
  });
  input.checked = !!o.checked;
  const wrap = h(
    "div",
    { class: "check-field" },
    input,
    h("div", null, h("label", { attrs: { for: id }, class: "check-label", text: o.label }), o.hint ? h("p", { id: hintId, class: "hint", text: o.hint }) : null),
  );
  return { wrap, input };
}
