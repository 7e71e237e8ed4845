/**
 * The one retry loop for homeserver calls, with one policy per kind of call.
 * Every policy honours a 429's `retry_after_ms` exactly; they differ in what
 * else is worth retrying and for how long:
 * - `send`: event sends with a transaction id (idempotent): 429, 5xx and
 *   network errors, with capped backoff, about five minutes in all.
 * - `once`: calls that are not idempotent (create a room, join, invite):
 *   only a 429, where the homeserver did nothing.
 * - `startup`: login, whoami and the other calls start-up cannot do
 *   without: 429 and an unreachable homeserver, for as long as it takes,
 *   with a log line per wait. Rejected credentials are never retried.
 */
import { ConnectionError, MatrixError } from "matrix-js-sdk";
import type { Logger } from "pino";

export interface RetryPolicy {
  readonly name: string;
  readonly maxAttempts: number;
  /** ms to wait before the next attempt, or null when retrying cannot help. */
  delay(err: unknown, attempt: number): number | null;
  /** Level of the per-wait log line (start-up waits are news; send retries are routine). */
  readonly logLevel: "warn" | "debug";
}

/** A 429 from a call made outside the SDK (plain fetch): carries the homeserver's wait. */
export class RateLimitedError extends Error {
  override readonly name = "RateLimitedError";
  constructor(
    message: string,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }
}

/** The homeserver could not be reached (network, 5xx): worth retrying. */
export class HomeserverUnreachableError extends Error {
  override readonly name = "HomeserverUnreachableError";
}

/** Capped exponential backoff: 0.5 s, 1 s, 2 s … `capMs`. */
export const backoff = (attempt: number, capMs = 30_000): number => Math.min(capMs, 500 * 2 ** Math.min(attempt - 1, 16));

/** The homeserver's own wait for a 429, or undefined when `err` is not one. */
export function rateLimitWait(err: unknown, attempt: number): number | undefined {
  if (err instanceof MatrixError && err.isRateLimitError()) return Math.max(err.getRetryAfterMs() ?? backoff(attempt), 50);
  if (err instanceof RateLimitedError) return Math.max(err.retryAfterMs ?? backoff(attempt), 50);
  return undefined;
}

const transient = (err: unknown): boolean => {
  if (err instanceof MatrixError) {
    const status = err.httpStatus ?? 0;
    return status >= 500 || status === 0;
  }
  // fetch's network failures surface as a TypeError("fetch failed") with a
  // cause; any other TypeError is a bug and must not be retried for minutes.
  const fetchFailed = err instanceof TypeError && (err.message === "fetch failed" || err.cause !== undefined);
  return err instanceof ConnectionError || fetchFailed || err instanceof HomeserverUnreachableError;
};

export const policies = {
  send: {
    name: "send",
    maxAttempts: 12,
    logLevel: "debug",
    delay: (err, attempt) => rateLimitWait(err, attempt) ?? (transient(err) ? backoff(attempt) : null),
  },
  once: {
    name: "once",
    maxAttempts: 10,
    logLevel: "debug",
    delay: (err, attempt) => rateLimitWait(err, attempt) ?? null,
  },
  startup: {
    name: "startup",
    maxAttempts: Number.POSITIVE_INFINITY,
    logLevel: "warn",
    delay: (err, attempt) => rateLimitWait(err, attempt) ?? (transient(err) ? backoff(attempt) : null),
  },
} as const satisfies Record<string, RetryPolicy>;

export interface RetryHooks {
  logger: Logger;
  /** What is being tried, for the log line ("login", "send"). */
  what: string;
  /** Extra log fields (room_id, key, …). */
  fields?: Record<string, unknown>;
  onRateLimited?(waitMs: number): void;
  sleep?(ms: number): Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `request` until it succeeds, the policy gives up, or the error is not worth retrying. */
export async function retrying<T>(policy: RetryPolicy, hooks: RetryHooks, request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (err) {
      const wait = policy.delay(err, attempt);
      if (wait === null || attempt >= policy.maxAttempts) throw err;
      const limited = rateLimitWait(err, attempt) !== undefined;
      if (limited) hooks.onRateLimited?.(wait);
      hooks.logger[policy.logLevel](
        { ...hooks.fields, attempt, wait_ms: wait, rate_limited: limited, err: describe(err) },
        `${hooks.what}: ${limited ? "rate-limited by the homeserver" : "failed"}; retrying`,
      );
      await (hooks.sleep ?? defaultSleep)(wait);
    }
  }
}

export function describe(err: unknown): string {
  if (err instanceof MatrixError) return `${err.httpStatus ?? "?"} ${err.errcode ?? ""} ${err.error ?? ""}`.trim();
  return err instanceof Error ? err.message : String(err);
}
