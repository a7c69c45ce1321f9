// Tells the backend the user is active (resets the auto-lock idle timer)
// at most once per interval, however much input arrives.

export function throttle(intervalMs: number, fn: () => void, now: () => number = () => Date.now()): () => boolean {
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const t = now();
    if (t - last < intervalMs) return false;
    last = t;
    fn();
    return true;
  };
}

export const ACTIVITY_INTERVAL_MS = 10_000;
export const ACTIVITY_EVENTS = ["keydown", "pointerdown", "wheel", "touchstart"] as const;
