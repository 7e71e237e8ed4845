import { createHash } from "node:crypto";
import { ConnectionError, MatrixError, Method, type MatrixClient } from "matrix-js-sdk";
import type { Logger } from "pino";
import { asEventId, type EventId, type RoomId } from "../core/ids.js";
import type { RoomCrypto } from "./room-crypto.js";

export interface SendObserver {
  /** A 429 was seen; `retryAfterMs` is what the homeserver asked for. */
  onRateLimited?(roomId: RoomId, retryAfterMs: number): void;
  /** A send completed in `ms` (for metrics). */
  onSent?(roomId: RoomId, ms: number): void;
}

export interface SendOptions {
  /** Gives up after this many attempts (default 12, about 5 minutes of backoff). */
  maxAttempts?: number;
}

/** Maps a readable idempotency key to a compact transaction id. */
export const txnIdFor = (key: string): string => `sf1-${createHash("sha256").update(key).digest("base64url").slice(0, 32)}`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Sends room events over PUT /send/{type}/{txnId} itself instead of through
 * the SDK's scheduler: the scheduler funnels every room into one queue and
 * gives up after four tries, whereas we want per-room pacing, retries that
 * honour `retry_after_ms`, and a transaction id derived from the turn so a
 * retry (even after a crash) never posts twice.
 */
export class MatrixSender {
  constructor(
    private readonly client: MatrixClient,
    private readonly logger: Logger,
    private readonly observer: SendObserver = {},
    /** Encrypts for encrypted rooms; without it everything goes out as given. */
    readonly crypto?: RoomCrypto,
  ) {}

  /**
   * In an encrypted room each attempt encrypts anew: the transaction id
   * stays the same, so the homeserver still keeps only the first that
   * arrived.
   */
  async send(roomId: RoomId, type: string, content: object, key: string, opts: SendOptions = {}): Promise<EventId> {
    const txnId = encodeURIComponent(txnIdFor(key));
    const res = await this.withRetry(roomId, key, opts, async () => {
      const wire = this.crypto
        ? await this.crypto.wireEvent(roomId, type, content, this.client.getSafeUserId())
        : { type, content: content as Record<string, unknown> };
      const path = `/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(wire.type)}/${txnId}`;
      return this.client.http.authedRequest<{ event_id: string }>(Method.Put, path, undefined, wire.content);
    });
    return asEventId(res.event_id);
  }

  /** Whether files for this room must be encrypted before upload. */
  async isEncrypted(roomId: RoomId): Promise<boolean> {
    return (await this.crypto?.isEncrypted(roomId)) ?? false;
  }

  /** Retries 429s (as told), 5xx and connection errors with capped backoff. */
  async withRetry<T>(roomId: RoomId, key: string, opts: SendOptions, request: () => Promise<T>): Promise<T> {
    const maxAttempts = opts.maxAttempts ?? 12;
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      try {
        const result = await request();
        this.observer.onSent?.(roomId, Date.now() - started);
        return result;
      } catch (err) {
        const wait = retryDelay(err, attempt);
        if (wait === null || attempt >= maxAttempts) throw err;
        if (err instanceof MatrixError && err.isRateLimitError()) this.observer.onRateLimited?.(roomId, wait);
        this.logger.debug({ room_id: roomId, key, attempt, wait_ms: wait, err: describe(err) }, "send failed; retrying");
        await sleep(wait);
      }
    }
  }
}

/** How long to wait before retrying, or null when retrying cannot help. */
export function retryDelay(err: unknown, attempt: number): number | null {
  const backoff = Math.min(30_000, 500 * 2 ** (attempt - 1));
  if (err instanceof MatrixError) {
    if (err.isRateLimitError()) return Math.max(err.getRetryAfterMs() ?? backoff, 50);
    const status = err.httpStatus ?? 0;
    return status >= 500 || status === 0 ? backoff : null;
  }
  if (err instanceof ConnectionError) return backoff;
  if (err instanceof TypeError) return backoff; // fetch's network failures
  return null;
}

function describe(err: unknown): string {
  if (err instanceof MatrixError) return `${err.httpStatus ?? "?"} ${err.errcode ?? ""} ${err.error ?? ""}`.trim();
  return err instanceof Error ? err.message : String(err);
}
