// Wrong-passphrase back-off: the first attempts are free, then each further
// failure doubles the wait (5 s, 10 s, 20 s … capped at 5 minutes). The
// Rust side's Argon2id cost is the real guard; this keeps people from
// hammering the button and tells them calmly what is happening.

export const FREE_ATTEMPTS = 3;
export const FIRST_WAIT_S = 5;
export const MAX_WAIT_S = 300;

/** Seconds to wait after `failures` consecutive wrong attempts. */
export function backoffSeconds(failures: number): number {
  if (failures < FREE_ATTEMPTS) return 0;
  return Math.min(MAX_WAIT_S, FIRST_WAIT_S * 2 ** (failures - FREE_ATTEMPTS));
}

export class Backoff {
  failures = 0;
  private until = 0;

  constructor(private readonly now: () => number = () => Date.now()) {}

  /** Records a wrong attempt; returns the seconds to wait now (0 = none). */
  fail(): number {
    this.failures++;
    const s = backoffSeconds(this.failures);
    this.until = s > 0 ? this.now() + s * 1000 : 0;
    return s;
  }

  succeed(): void {
    this.failures = 0;
    this.until = 0;
  }

  /** Milliseconds left before the next attempt is allowed. */
  remainingMs(): number {
    return Math.max(0, this.until - this.now());
  }
}
