// What a screen is and what it may ask of the shell. Screens import this
// file, never app.ts: the shell (App) imports the screens and hands each one
// itself as the narrow context below, so dependencies run one way.

import type { Backoff } from "./backoff";
import type { AppState, WatcherEvent } from "./ipc";
import type { Rotation } from "./rotation";

export type Route = "home" | "files" | "folders" | "activity" | "keys" | "settings";

export interface View {
  el: HTMLElement;
  title: string;
  /** Where focus goes when the view appears (default: its h1). */
  focusTarget?: () => HTMLElement | null;
  destroy?: () => void;
  filesChanged?: () => void;
  stateChanged?: () => void;
  /** The vault key or the ways to unlock changed (e.g. a rotation finished). */
  keysChanged?: () => void;
  watcherEvent?: (e: WatcherEvent) => void;
}

export type WatcherLogEntry = WatcherEvent & { atMs: number };

/** What every screen may read: the last known state, and a way to refresh it. */
export interface Context {
  readonly state: AppState | null;
  refreshState(): Promise<AppState>;
}

/** The key rotation, as the rotation panel uses it. */
export interface RotationContext {
  readonly rotation: Rotation;
  resumeRotation(): void;
}

/** The screens inside the unlocked vault (the sidebar shell). */
export interface VaultContext extends Context, RotationContext {
  /** Newest first, at most 20 entries. */
  readonly watcherLog: readonly WatcherLogEntry[];
  navigate(route: Route): void;
  lockNow(): Promise<void>;
}

/** The full-window screens shown while locked: setup, unlock, recovery. */
export interface GateContext extends Context {
  /** The wait between failed unlock attempts. */
  readonly backoff: Backoff;
  showGate(v: View): void;
  showUnlock(notice?: string): void;
  showRecover(): void;
  /** Reads the state, then shows the vault at `route`. */
  enterVaultFresh(route?: Route): Promise<void>;
}
