import { hash } from "node:crypto";
import { Method, type MatrixClient } from "matrix-js-sdk";
import type { Logger } from "pino";
import { asEventId, type EventId, type RoomId } from "../core/ids.js";
import { policies, retrying } from "./retry.js";
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

/** Maps a readable idempotency key to a compact transaction id (one-shot hash: no Hash object per send). */
export const txnIdFor = (key: string): string => `sf1-${hash("sha256", key, "base64url").slice(0, 32)}`;

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

  async send(roomId: RoomId, type: string, content: object, key: string, opts: SendOptions = {}): Promise<EventId> {
    if (type === "m.room.message") content = withIntentionalMentions(content as Record<string, unknown>, this.mentionableNames(roomId));
    const txnId = encodeURIComponent(txnIdFor(key));
    // In an encrypted room each attempt encrypts anew: the transaction id
    // stays the same, so the homeserver still keeps only the first that arrived.
    const res = await this.withRetry(roomId, key, opts, async () => {
      const wire = this.crypto
        ? await this.crypto.wireEvent(roomId, type, content, this.client.getSafeUserId())
        : { type, content: content as Record<string, unknown> };
      const path = `/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(wire.type)}/${txnId}`;
      return this.client.http.authedRequest<{ event_id: string }>(Method.Put, path, undefined, wire.content);
    });
    return asEventId(res.event_id);
  }

  /**
   * The lower-cased display names and user ids (localparts) the legacy push
   * rules could match in this room: those of its one other member, when the
   * bot and one other member are all of it and the SDK holds that member.
   * Null for anything else (more members, members not loaded, unknown room,
   * an encrypted room: Synapse never sees its `m.mentions`, so leaving it out
   * would save nothing there).
   */
  private mentionableNames(roomId: RoomId): string[] | null {
    const room = this.client.getRoom(roomId);
    if (!room || room.hasEncryptionStateEvent() || room.getJoinedMemberCount() > 2) return null;
    const me = this.client.getUserId();
    const members = room.getJoinedMembers();
    if (members.length !== room.getJoinedMemberCount()) return null;
    return members
      .filter((m) => m.userId !== me)
      .flatMap((m) => [m.rawDisplayName, m.userId.slice(1).split(":")[0] ?? ""])
      .map((n) => n.toLowerCase());
  }

  /** Whether files for this room must be encrypted before upload. */
  async isEncrypted(roomId: RoomId): Promise<boolean> {
    return (await this.crypto?.isEncrypted(roomId)) ?? false;
  }

  /** Redacts `eventId` over PUT /redact/{eventId}/{txnId}; the key makes a retry idempotent. */
  async redact(roomId: RoomId, eventId: string, key: string, opts: SendOptions = {}): Promise<void> {
    const path = `/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(eventId)}/${encodeURIComponent(txnIdFor(key))}`;
    await this.withRetry(roomId, key, opts, () => this.client.http.authedRequest(Method.Put, path, undefined, {}));
  }

  /** Sets a receipt; receipts are idempotent by nature (the newest one wins). */
  async receipt(roomId: RoomId, eventId: string, type: "m.read", opts: SendOptions = {}): Promise<void> {
    const path = `/rooms/${encodeURIComponent(roomId)}/receipt/${type}/${encodeURIComponent(eventId)}`;
    await this.withRetry(roomId, `receipt.${eventId}`, opts, () => this.client.http.authedRequest(Method.Post, path, undefined, {}));
  }

  /** Retries 429s (as told), 5xx and connection errors with capped backoff (the `send` policy). */
  withRetry<T>(roomId: RoomId, key: string, opts: SendOptions, request: () => Promise<T>): Promise<T> {
    const policy = { ...policies.send, maxAttempts: opts.maxAttempts ?? policies.send.maxAttempts };
    return retrying(
      policy,
      {
        logger: this.logger,
        what: "send",
        fields: { room_id: roomId, key },
        onRateLimited: (ms) => this.observer.onRateLimited?.(roomId, ms),
      },
      async () => {
        const started = Date.now();
        const result = await request();
        this.observer.onSent?.(roomId, Date.now() - started);
        return result;
      },
    );
  }
}

/**
 * Every message the bot sends declares whom it mentions (`m.mentions`, empty
 * unless the caller names someone): with the property present, clients and
 * push rules ignore `@room` and user ids in the text, so agent output cannot
 * ping a room the bot has power in. Edits carry it in `m.new_content` too.
 *
 * Synapse validates a plain event's `m.mentions` against a JSON schema on
 * every send, at ≈1.5 ms of its CPU (more than the rest of the send;
 * docs/performance.md), so it is left out where the legacy rules it turns
 * off could not match anyway: `names` holds every name they could match in
 * the room (its one other member's display name and user id), and no text
 * of the message contains one of them or an `@`. Null `names`: always set.
 */
export function withIntentionalMentions(content: Record<string, unknown>, names: readonly string[] | null = null): Record<string, unknown> {
  const raw = content["m.new_content"];
  const inner = raw && typeof raw === "object" ? (raw as Record<string, unknown>) : null;
  const declared = "m.mentions" in content;
  if (!declared && names && !mayMention(content, names) && !(inner && mayMention(inner, names))) return content;
  const out = declared ? content : { ...content, "m.mentions": {} };
  return inner && !("m.mentions" in inner) ? { ...out, "m.new_content": { ...inner, "m.mentions": {} } } : out;
}

const NOT_PLAIN_ASCII = /[^ -~\t\n\r]/;
const GLOB = /[*?[\]]/;

/**
 * Whether the legacy mention rules could match this content's text (`body`;
 * `formatted_body` too, to be safe). Synapse matches a display name as a
 * glob and folds case beyond ASCII: a name with glob characters, or a name
 * or text with anything but printable ASCII, counts as a possible match.
 */
function mayMention(content: Record<string, unknown>, names: readonly string[]): boolean {
  if (names.some((n) => GLOB.test(n) || NOT_PLAIN_ASCII.test(n))) return true;
  for (const key of ["body", "formatted_body"]) {
    const text = content[key];
    if (typeof text !== "string") continue;
    if (text.includes("@") || NOT_PLAIN_ASCII.test(text)) return true;
    const lower = text.toLowerCase();
    if (names.some((n) => n === "" || lower.includes(n))) return true;
  }
  return false;
}
