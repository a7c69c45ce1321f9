import { beforeEach, describe, expect, test, vi } from "vitest";

// The controller talks to the backend only through `api`; replace it.
const rotateKeys = vi.fn();
const resumeRotation = vi.fn();
const cancelRotation = vi.fn();
vi.mock("../../src/ipc", async (orig) => {
  const real = await orig<typeof import("../../src/ipc")>();
  return { ...real, api: { rotateKeys, resumeRotation, cancelRotation } };
});

const { Rotation } = await import("../../src/rotation");

type P = { files: number; totalFiles: number; bytes: number; totalBytes: number; elapsedMs: number; etaMs: number | null };
const prog = (files: number): P => ({ files, totalFiles: 10, bytes: 0, totalBytes: 0, elapsedMs: files * 100, etaMs: (10 - files) * 100 });
const result = { depth: "rewrap" as const, resumed: false, keyVersion: 2, destroyedVersions: [1], files: 10, bytes: 0 };

type M = P & { recoveryKey?: string; keychainError?: string };
const news = (n: { recoveryKey?: string; keychainError?: string }): M => ({ files: 0, totalFiles: 0, bytes: 0, totalBytes: 0, elapsedMs: 0, etaMs: null, ...n });

/** A backend call we finish by hand. */
function controllable() {
  let send: (p: M) => void = () => {};
  let resolve: (v: unknown) => void = () => {};
  let reject: (e: unknown) => void = () => {};
  const impl = (...args: unknown[]) => {
    send = args.find((a) => typeof a === "function") as (p: M) => void;
    return new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
  };
  return { impl, send: (p: M) => send(p), resolve: (v: unknown) => resolve(v), reject: (e: unknown) => reject(e) };
}

beforeEach(() => {
  rotateKeys.mockReset();
  resumeRotation.mockReset();
  cancelRotation.mockReset();
});

describe("the rotation controller", () => {
  test("start → progress → done", async () => {
    const c = controllable();
    rotateKeys.mockImplementation(c.impl);
    const done = vi.fn();
    const r = new Rotation({ done, failed: vi.fn() });
    const seen: string[] = [];
    r.subscribe(() => seen.push(r.status.kind));
    const run = r.start("pass", "rewrap");
    expect(rotateKeys).toHaveBeenCalledWith("pass", "rewrap", expect.any(Function), undefined);
    expect(r.running).toBe(true);
    c.send(prog(3));
    expect(await run.started).toEqual({ recoveryKey: null });
    expect(r.status).toMatchObject({ kind: "running", depth: "rewrap", resumed: false, progress: { files: 3 } });
    c.resolve(result);
    expect(await run.done).toEqual(result);
    expect(done).toHaveBeenCalledWith(result);
    expect(r.status.kind).toBe("idle");
    expect(seen).toEqual(["running", "running", "idle"]);
  });

  test("a wrong passphrase fails `started` and changes nothing", async () => {
    rotateKeys.mockRejectedValue({ code: "wrong_credential", message: "" });
    const failed = vi.fn();
    const r = new Rotation({ done: vi.fn(), failed });
    const run = r.start("nope", "reencrypt");
    await expect(run.started).rejects.toMatchObject({ code: "wrong_credential" });
    expect(await run.done).toBeNull();
    expect(r.status.kind).toBe("idle");
    expect(failed).not.toHaveBeenCalled();
  });

  test("cancel: `cancelled` leaves it pending and marked stopped, with where it stopped", async () => {
    const c = controllable();
    rotateKeys.mockImplementation(c.impl);
    cancelRotation.mockResolvedValue(null);
    const failed = vi.fn();
    const r = new Rotation({ done: vi.fn(), failed });
    const run = r.start("pass", "rewrap");
    c.send(prog(4));
    await r.cancel();
    expect(cancelRotation).toHaveBeenCalledTimes(1);
    expect(r.status).toMatchObject({ kind: "running", cancelling: true });
    // A second click does nothing.
    await r.cancel();
    expect(cancelRotation).toHaveBeenCalledTimes(1);
    c.reject({ code: "cancelled", message: "Stopped" });
    expect(await run.done).toBeNull();
    expect(r.status).toEqual({ kind: "pending", depth: "rewrap", stopped: true, progress: prog(4) });
    expect(failed).not.toHaveBeenCalled();
  });

  test("key_info with a pending rotation shows it; resume continues without a passphrase; only one at a time", async () => {
    const c = controllable();
    resumeRotation.mockImplementation(c.impl);
    const r = new Rotation({ done: vi.fn(), failed: vi.fn() });
    r.noteKeyInfo({ pending: { depth: "reencrypt", startedNs: 1, targetVersion: 3 } } as never);
    expect(r.status).toEqual({ kind: "pending", depth: "reencrypt", stopped: false, progress: null });
    const run = r.resume();
    expect(run).not.toBeNull();
    expect(r.status).toMatchObject({ kind: "running", depth: "reencrypt", resumed: true });
    expect(r.resume()).toBeNull();
    const again = r.start("pass", "rewrap");
    await expect(again.started).rejects.toMatchObject({ code: "in_use" });
    expect(rotateKeys).not.toHaveBeenCalled();
    c.send(prog(9));
    c.resolve({ ...result, resumed: true });
    await run!.done;
    expect(r.status.kind).toBe("idle");
  });

  test("another failure mid-way is reported and leaves it pending (not stopped)", async () => {
    const c = controllable();
    rotateKeys.mockImplementation(c.impl);
    const failed = vi.fn();
    const r = new Rotation({ done: vi.fn(), failed });
    const run = r.start("pass", "rewrap");
    c.send(prog(2));
    c.reject({ code: "io", message: "The disk is full." });
    await run.done;
    expect(failed).toHaveBeenCalledWith(expect.objectContaining({ code: "io" }));
    expect(r.status).toMatchObject({ kind: "pending", stopped: false });
    r.noteKeyInfo({ pending: null } as never);
    expect(r.status.kind).toBe("idle");
  });

  test("rekey: the new passphrase goes with it; `started` carries the new recovery key, which is not progress", async () => {
    const c = controllable();
    rotateKeys.mockImplementation(c.impl);
    const done = vi.fn();
    const r = new Rotation({ done, failed: vi.fn() });
    const run = r.start("old pass", "rekey", { newPassphrase: "a brand new passphrase" });
    expect(rotateKeys).toHaveBeenCalledWith("old pass", "rekey", expect.any(Function), { newPassphrase: "a brand new passphrase" });
    c.send(news({ recoveryKey: "QRST-UVWX" }));
    expect(await run.started).toEqual({ recoveryKey: "QRST-UVWX" });
    // Still "Starting…": the credentials message carries no progress.
    expect(r.status).toMatchObject({ kind: "running", depth: "rekey", progress: null });
    c.send(prog(5));
    expect(r.status).toMatchObject({ kind: "running", progress: { files: 5 } });
    expect((r.status as { progress: object }).progress).not.toHaveProperty("recoveryKey");
    c.resolve({ ...result, depth: "rekey" });
    await run.done;
    expect(done).toHaveBeenCalled();
  });

  test("a rewrap never sends a passphrase choice; keeping the passphrase is sent as such", () => {
    rotateKeys.mockReturnValue(new Promise(() => {}));
    new Rotation({ done: vi.fn(), failed: vi.fn() }).start("pass", "rewrap", { keepPassphrase: true });
    expect(rotateKeys).toHaveBeenLastCalledWith("pass", "rewrap", expect.any(Function), undefined);
    new Rotation({ done: vi.fn(), failed: vi.fn() }).start("pass", "reencrypt", { keepPassphrase: true });
    expect(rotateKeys).toHaveBeenLastCalledWith("pass", "reencrypt", expect.any(Function), { keepPassphrase: true });
  });

  test("a keychain failure is told at once; a cancel after the new key keeps it pending as a rekey", async () => {
    const c = controllable();
    rotateKeys.mockImplementation(c.impl);
    cancelRotation.mockResolvedValue(null);
    const keychainFailed = vi.fn();
    const recoveryKey = vi.fn();
    const r = new Rotation({ done: vi.fn(), failed: vi.fn(), keychainFailed, recoveryKey });
    const run = r.start("pass", "rekey", { keepPassphrase: true });
    c.send(news({ recoveryKey: "KEY-1" }));
    expect(await run.started).toEqual({ recoveryKey: "KEY-1" });
    c.send(news({ keychainError: "The OS keychain is not available." }));
    expect(keychainFailed).toHaveBeenCalledWith("The OS keychain is not available.");
    // A key that comes after `started` settled goes to the shell.
    c.send(news({ recoveryKey: "KEY-2" }));
    expect(recoveryKey).toHaveBeenCalledWith("KEY-2");
    c.send(prog(2));
    await r.cancel();
    c.reject({ code: "cancelled", message: "Stopped" });
    expect(await run.done).toBeNull();
    expect(r.status).toEqual({ kind: "pending", depth: "rekey", stopped: true, progress: prog(2) });
  });

  test("the passphrase in use, refused as the new one, fails `started` with the backend's words", async () => {
    rotateKeys.mockRejectedValue({ code: "invalid", message: "the new passphrase is the one in use now" });
    const r = new Rotation({ done: vi.fn(), failed: vi.fn() });
    const run = r.start("same", "rekey", { newPassphrase: "same" });
    await expect(run.started).rejects.toMatchObject({ code: "invalid", message: "the new passphrase is the one in use now" });
    expect(r.status.kind).toBe("idle");
  });
});
