// The one vault-key rotation that can run at a time, shared by the Home
// and Keys screens: started with the passphrase, resumed after unlock when
// an earlier one was interrupted, cancelled from either screen.

import { api, toIpcError, type IpcError, type KeyInfo, type RotationDepth, type RotationProgress, type RotationResult } from "./ipc";

export type RotationStatus =
  | { kind: "idle" }
  /** Interrupted earlier (or stopped by the user): continues next time. */
  | { kind: "pending"; depth: RotationDepth; stopped: boolean; progress: RotationProgress | null }
  | { kind: "running"; depth: RotationDepth | null; resumed: boolean; progress: RotationProgress | null; cancelling: boolean };

export type RotationHooks = {
  done: (r: RotationResult) => void;
  failed: (e: IpcError) => void;
};

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
   * progress message (or the first error, e.g. a wrong passphrase), so a
   * dialog can stay open until then; `done` when it ends.
   */
  start(passphrase: string, depth: RotationDepth): { started: Promise<void>; done: Promise<RotationResult | null> } {
    return this.run(depth, false, (onProgress) => api.rotateKeys(passphrase, depth, onProgress));
  }

  /** Continues an interrupted rotation (no passphrase needed: the vault is unlocked). */
  resume(): { started: Promise<void>; done: Promise<RotationResult | null> } | null {
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
    call: (onProgress: (p: RotationProgress) => void) => Promise<RotationResult>,
  ): { started: Promise<void>; done: Promise<RotationResult | null> } {
    if (this.running) {
      const err = Promise.reject(toIpcError({ code: "in_use", message: "A key update is already running." }));
      err.catch(() => {});
      return { started: err, done: Promise.resolve(null) };
    }
    let markStarted: () => void = () => {};
    let failStart: (e: unknown) => void = () => {};
    let isStarted = false;
    const started = new Promise<void>((res, rej) => {
      markStarted = () => {
        isStarted = true;
        res();
      };
      failStart = rej;
    });
    started.catch(() => {});
    const prev = this.status;
    this.set({ kind: "running", depth, resumed, progress: this.lastProgress, cancelling: false });
    const done = call((p) => {
      this.lastProgress = p;
      const s = this.status;
      if (s.kind === "running") this.set({ ...s, progress: p });
      if (!isStarted) markStarted();
    }).then(
      (r) => {
        this.lastProgress = null;
        this.set({ kind: "idle" });
        if (!isStarted) markStarted();
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
