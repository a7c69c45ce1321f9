// The one vault-key rotation that can run at a time, shared by the Home
// and Keys screens: started with the passphrase, resumed after unlock when
// an earlier one was interrupted, cancelled from either screen. A rotation
// that replaces every credential (rekey, reencrypt) hands out the new
// recovery key the moment it is in force, before any file is moved.

import {
  api,
  toIpcError,
  type IpcError,
  type KeyInfo,
  type NewPassphraseChoice,
  type RotationDepth,
  type RotationMessage,
  type RotationProgress,
  type RotationResult,
} from "./ipc";

export type RotationStatus =
  | { kind: "idle" }
  /** Interrupted earlier (or stopped by the user): continues next time. */
  | { kind: "pending"; depth: RotationDepth; stopped: boolean; progress: RotationProgress | null }
  | { kind: "running"; depth: RotationDepth | null; resumed: boolean; progress: RotationProgress | null; cancelling: boolean };

export type RotationHooks = {
  done: (r: RotationResult) => void;
  failed: (e: IpcError) => void;
  /** The new keychain secret could not be kept (computer login unlock is off); the rest goes on. */
  keychainFailed?: (message: string) => void;
  /** A new recovery key that came after `started` settled (whoever started it has gone). */
  recoveryKey?: (key: string) => void;
};

/** What `started` settles with: the new recovery key, when the rotation replaced the credentials. */
export type RotationStart = { recoveryKey: string | null };

export type RotationRun = { started: Promise<RotationStart>; done: Promise<RotationResult | null> };

/** The progress part of a channel message (news of credentials carries none). */
function progressOf(m: RotationMessage): RotationProgress | null {
  if (m.recoveryKey !== undefined || m.keychainError !== undefined) return null;
  const { files, totalFiles, bytes, totalBytes, elapsedMs, etaMs } = m;
  return { files, totalFiles, bytes, totalBytes, elapsedMs, etaMs };
}

export class Rotation {
  status: RotationStatus = { kind: "idle" };
  private readonly subs = new Set<() => void>();
  private lastProgress: RotationProgress | null = null;

  constructor(private readonly hooks: RotationHooks) {}

  get running(): boolean {
    return this.status.kind === "running";
  }

  subscribe(fn: () => void): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }

  private set(s: RotationStatus): void {
    this.status = s;
    for (const fn of this.subs) fn();
  }

  /** What key_info says: a pending rotation shows as such unless one runs. */
  noteKeyInfo(k: KeyInfo): void {
    if (this.running) return;
    if (k.pending) {
      const stopped = this.status.kind === "pending" && this.status.stopped;
      this.set({ kind: "pending", depth: k.pending.depth, stopped, progress: this.lastProgress });
    } else if (this.status.kind === "pending") {
      this.set({ kind: "idle" });
    }
  }

  /**
   * Starts a rotation with the passphrase. `started` settles at the first
   * message (or the first error, e.g. a wrong passphrase), so a dialog can
   * stay open until then; `done` when it ends. Rekey and reencrypt take the
   * new passphrase (or keep the current one), and their first message is
   * the new recovery key, which `started` carries.
   */
  start(passphrase: string, depth: RotationDepth, choice?: NewPassphraseChoice): RotationRun {
    return this.run(depth, false, (onProgress) => api.rotateKeys(passphrase, depth, onProgress, depth === "rewrap" ? undefined : choice));
  }

  /** Continues an interrupted rotation (no passphrase needed: the vault is unlocked). */
  resume(): RotationRun | null {
    if (this.running) return null;
    const depth = this.status.kind === "pending" ? this.status.depth : null;
    return this.run(depth, true, (onProgress) => api.resumeRotation(onProgress));
  }

  async cancel(): Promise<void> {
    const s = this.status;
    if (s.kind !== "running" || s.cancelling) return;
    this.set({ ...s, cancelling: true });
    try {
      await api.cancelRotation();
    } catch (e) {
      const cur = this.status;
      if (cur.kind === "running") this.set({ ...cur, cancelling: false });
      throw e;
    }
  }

  /** Forget everything (the vault locked). */
  reset(): void {
    this.lastProgress = null;
    this.set({ kind: "idle" });
  }

  private run(
    depth: RotationDepth | null,
    resumed: boolean,
    call: (onProgress: (p: RotationMessage) => void) => Promise<RotationResult>,
  ): RotationRun {
    if (this.running) {
      const err = Promise.reject(toIpcError({ code: "in_use", message: "A key update is already running." }));
      err.catch(() => {});
      return { started: err, done: Promise.resolve(null) };
    }
    let markStarted: (s: RotationStart) => void = () => {};
    let failStart: (e: unknown) => void = () => {};
    let isStarted = false;
    const started = new Promise<RotationStart>((res, rej) => {
      markStarted = (s) => {
        isStarted = true;
        res(s);
      };
      failStart = rej;
    });
    started.catch(() => {});
    const prev = this.status;
    this.set({ kind: "running", depth, resumed, progress: this.lastProgress, cancelling: false });
    const done = call((m) => {
      if (m.keychainError) this.hooks.keychainFailed?.(m.keychainError);
      if (m.recoveryKey && isStarted) this.hooks.recoveryKey?.(m.recoveryKey);
      const p = progressOf(m);
      if (p) {
        this.lastProgress = p;
        const s = this.status;
        if (s.kind === "running") this.set({ ...s, progress: p });
      }
      if (!isStarted) markStarted({ recoveryKey: m.recoveryKey ?? null });
    }).then(
      (r) => {
        this.lastProgress = null;
        this.set({ kind: "idle" });
        if (!isStarted) markStarted({ recoveryKey: null });
        this.hooks.done(r);
        return r;
      },
      (e: unknown) => {
        const err = toIpcError(e);
        if (!isStarted) {
          // Refused before any work (wrong passphrase, policy): nothing changed.
          this.set(prev.kind === "pending" ? prev : { kind: "idle" });
          failStart(err);
          return null;
        }
        if (err.code === "cancelled") {
          this.set({ kind: "pending", depth: depth ?? "rewrap", stopped: true, progress: this.lastProgress });
        } else {
          this.set({ kind: "pending", depth: depth ?? "rewrap", stopped: false, progress: this.lastProgress });
          this.hooks.failed(err);
        }
        return null;
      },
    );
    return { started, done };
  }
}
