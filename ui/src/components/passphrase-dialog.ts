// A dialog that asks for the passphrase again before a change to the
// vault's keys or unlock methods (Keys and Settings both use it).

import { showModal, type ModalUi } from "./dialog";
import { passphraseField } from "./fields";
import { toIpcError } from "../ipc";

type PassField = ReturnType<typeof passphraseField>;

/**
 * A dialog that asks for the passphrase and runs `run` with it. A wrong
 * passphrase is explained at the field; any other error in the dialog.
 */
export async function withPassphrase(o: {
  title: string;
  content: (Node | string)[];
  confirmLabel: string;
  busyLabel: string;
  danger?: boolean;
  wide?: boolean;
  extraFields?: PassField[];
  /** Shown after the fields (e.g. an option about them). */
  after?: Node[];
  validate?: (passphrase: string) => boolean;
  run: (passphrase: string, ui: ModalUi) => Promise<void>;
}): Promise<boolean> {
  const pass = passphraseField({ label: "Your passphrase", autocomplete: "current-password" });
  const r = await showModal({
    title: o.title,
    content: [...o.content, pass.wrap, ...(o.extraFields ?? []).map((f) => f.wrap), ...(o.after ?? [])],
    tone: o.danger ? "danger" : "default",
    wide: o.wide,
    initialFocus: () => pass.input,
    actions: [
      { label: "Cancel", value: "cancel", cancel: true, kind: "secondary" },
      { label: o.confirmLabel, value: "ok", kind: o.danger ? "danger" : "primary" },
    ],
    onAction: async (_v, ui) => {
      if (!pass.input.value) {
        pass.setError("Enter your passphrase.");
        pass.input.focus();
        return false;
      }
      pass.setError(null);
      if (o.validate && !o.validate(pass.input.value)) return false;
      ui.setBusy(true, o.busyLabel);
      try {
        await o.run(pass.input.value, ui);
      } catch (e) {
        ui.setBusy(false);
        const err = toIpcError(e);
        if (err.code === "wrong_credential") {
          pass.setError("Wrong passphrase. Try again.");
          pass.input.select();
          return false;
        }
        throw err;
      }
      pass.input.value = "";
    },
  });
  return r === "ok";
}

