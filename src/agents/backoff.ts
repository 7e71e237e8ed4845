/** Reconnect delays: exponential with full jitter (AWS "full jitter"), capped. */
export interface BackoffOptions {
  /** Upper bound of the first delay. Default 500 ms. */
  initialMs: number;
  /** Cap of every delay; also the fixed retry delay after a protocol mismatch. Default 30 s. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

/**
 * Delay before reconnect attempt number `attempt` (0 = first retry):
 * uniform in [0, min(maxMs, initialMs · 2^attempt)]. `random` is injectable for tests.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt, 0), 30); // 2^30 already exceeds any sane cap
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}
