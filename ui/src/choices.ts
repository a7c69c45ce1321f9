// Auto-lock choices offered in Settings, clamped to the organisation's
// maximum when policy sets one.

export const AUTO_LOCK_CHOICES = [1, 2, 5, 10, 15, 30, 60, 120, 240] as const;

/**
 * The minutes to offer: the standard choices up to `max` (if any), plus the
 * current value and the maximum itself so both can be displayed.
 */
export function autoLockChoices(current: number, max: number | null): number[] {
  const cap = max ?? Number.POSITIVE_INFINITY;
  const set = new Set<number>(AUTO_LOCK_CHOICES.filter((m) => m <= cap));
  if (max != null && max > 0) set.add(max);
  if (current > 0 && current <= cap) set.add(current);
  return [...set].sort((a, b) => a - b);
}

/** The value the control shows: the current one, never above the maximum. */
export function effectiveAutoLock(current: number, max: number | null): number {
  return max != null && max > 0 ? Math.min(current, max) : current;
}
