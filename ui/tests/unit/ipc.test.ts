import { describe, expect, test } from "vitest";
import { describeError, ERROR_CODES, IpcError, toIpcError } from "../../src/ipc";

describe("IPC error mapping", () => {
  test("the backend's {code, message} keeps both", () => {
    const e = toIpcError({ code: "io", message: "The disk is full." });
    expect(e).toBeInstanceOf(IpcError);
    expect(e.code).toBe("io");
    expect(e.message).toBe("The disk is full.");
  });

  test("every documented code survives", () => {
    for (const c of ERROR_CODES) expect(toIpcError({ code: c, message: "m" }).code).toBe(c);
  });

  test("unknown codes, strings (Tauri's own errors), Errors and junk become internal", () => {
    expect(toIpcError({ code: "brand_new", message: "x" })).toMatchObject({ code: "internal", message: "x" });
    expect(toIpcError("Command foo not found")).toMatchObject({ code: "internal", message: "Command foo not found" });
    expect(toIpcError(new TypeError("boom"))).toMatchObject({ code: "internal", message: "boom" });
    expect(toIpcError(undefined)).toMatchObject({ code: "internal" });
    expect(toIpcError({})).toMatchObject({ code: "internal", message: "Something went wrong." });
  });

  test("an IpcError passes through unchanged", () => {
    const e = new IpcError("policy", "no");
    expect(toIpcError(e)).toBe(e);
  });

  test("people-facing text per code", () => {
    expect(describeError(new IpcError("wrong_credential", "Wrong passphrase or key.")).title).toBe("Wrong passphrase");
    expect(describeError(new IpcError("in_use", "x")).detail).toMatch(/try again in a moment/i);
    expect(describeError(new IpcError("policy", "Your organisation's policy locks the vault after at most 15 minutes.")).detail).toMatch(/at most 15 minutes/);
    expect(describeError(new IpcError("integrity", "")).title).toMatch(/integrity/);
    expect(describeError(new IpcError("keychain_unavailable", "dbus: no")).detail).toMatch(/passphrase/);
    // Backend detail is shown for io/invalid/not_found; a generic line when empty.
    expect(describeError(new IpcError("io", "Permission denied. Check that you own the file or folder.")).detail).toMatch(/Permission denied/);
    expect(describeError(new IpcError("internal", "")).detail).toMatch(/Try again/);
  });
});

describe("cancelled (a stopped key update)", () => {
  test("is a known code and reads calmly", () => {
    expect(toIpcError({ code: "cancelled", message: "" }).code).toBe("cancelled");
    expect(describeError(new IpcError("cancelled", ""))).toEqual({ title: "Stopped", detail: "It continues next time." });
  });
});
