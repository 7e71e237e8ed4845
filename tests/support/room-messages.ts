/**
 * Raw client-server API reads for exact assertions: everything a room holds,
 * oldest first, straight from /messages (no SDK timeline, no sync gaps).
 * For a user whose client has end-to-end encryption (user-client.ts
 * registers it under its access token) the reads return the events as that
 * client decrypts them, and the raw sends encrypt in encrypted rooms.
 */

export interface RawEvent {
  event_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
  unsigned?: Record<string, unknown>;
  /** Set when the server holds it as m.room.encrypted: `type` and `content` are the decrypted ones. */
  encrypted?: boolean;
}

/** A user's E2EE client as the raw reads and sends use it. */
export interface E2eeSession {
  /** The event as the user's client decrypts it (m.room.encrypted only; throws when it stays undecryptable). */
  decrypt(roomId: string, event: RawEvent): Promise<RawEvent>;
  /** Whether this client encrypts what it sends to the room. */
  roomEncrypted(roomId: string): Promise<boolean>;
  /** The wire form of an event for the room, or null when the room is not encrypted. */
  encrypt(roomId: string, type: string, content: Record<string, unknown>): Promise<{ type: string; content: Record<string, unknown> } | null>;
}

const e2eeSessions = new Map<string, E2eeSession>();

/** Makes the raw reads and sends with `token` go through `session`; returns the unregistration. */
export function registerE2ee(token: string, session: E2eeSession): () => void {
  e2eeSessions.set(token, session);
  return () => {
    if (e2eeSessions.get(token) === session) e2eeSessions.delete(token);
  };
}

/** One visible message with its edits folded in, as a client would show it. */
export interface ShownMessage {
  eventId: string;
  sender: string;
  msgtype: string | undefined;
  /** Body after the newest edit (m.new_content.body), else the original body. */
  body: string | undefined;
  originalBody: string | undefined;
  editCount: number;
  /** The original event (content before edits). */
  event: RawEvent;
}

export interface MatrixResponse<T> {
  status: number;
  json: T;
}

/** fetch against the client-server API; never throws on HTTP status. */
export async function matrixFetch<T = Record<string, unknown>>(
  baseUrl: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<MatrixResponse<T>> {
  const headers: Record<string, string> = {};
  if (token) headers["authorization"] = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(new URL(path, baseUrl), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : {}) as T };
}

/** Whether what the token's user sends to the room is encrypted (their client has E2EE and the room is encrypted). */
export async function sendsEncrypted(token: string, roomId: string): Promise<boolean> {
  return (await e2eeSessions.get(token)?.roomEncrypted(roomId)) ?? false;
}

type SendResult = MatrixResponse<{ event_id?: string; errcode?: string; retry_after_ms?: number }>;

/** An m.room.message as it goes on the wire: encrypted when the token's client has E2EE and the room is encrypted. */
async function wireMessage(token: string, roomId: string, content: Record<string, unknown>): Promise<{ type: string; content: Record<string, unknown> }> {
  return (await e2eeSessions.get(token)?.encrypt(roomId, "m.room.message", content)) ?? { type: "m.room.message", content };
}

const sendPath = (roomId: string, type: string): string =>
  `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${type}/t${Date.now()}-${Math.random().toString(36).slice(2)}`;

/** Sends an m.room.message (see wireMessage) with a fresh txn id in one PUT; returns the status so rate-limit tests can see 429s. */
export async function sendMessageRaw(baseUrl: string, token: string, roomId: string, content: Record<string, unknown>): Promise<SendResult> {
  const wire = await wireMessage(token, roomId, content);
  return matrixFetch(baseUrl, token, "PUT", sendPath(roomId, wire.type), wire.content);
}

/** Sends m.text in one PUT (see sendMessageRaw). */
export function sendTextRaw(baseUrl: string, token: string, roomId: string, text: string): Promise<SendResult> {
  return sendMessageRaw(baseUrl, token, roomId, { msgtype: "m.text", body: text });
}

/**
 * Sends an m.room.message as a person's client does: encrypted where the
 * room is (see wireMessage), and a 429 (rc_message, under Synapse's default
 * limits) waited out for the retry_after_ms the server gave, then the same
 * transaction sent again. Resolves with the final response.
 */
export async function sendMessageAsUser(baseUrl: string, token: string, roomId: string, content: Record<string, unknown>): Promise<SendResult> {
  const wire = await wireMessage(token, roomId, content);
  const path = sendPath(roomId, wire.type);
  for (let attempt = 1; ; attempt++) {
    const res = await matrixFetch<SendResult["json"]>(baseUrl, token, "PUT", path, wire.content);
    // Bounded so a server that never lets up fails the test instead of hanging it.
    if (res.status !== 429 || attempt >= 50) return res;
    await new Promise((r) => setTimeout(r, res.json.retry_after_ms ?? 1000));
  }
}

/** Sends m.text as a person's client does (see sendMessageAsUser). */
export function sendTextAsUser(baseUrl: string, token: string, roomId: string, text: string): Promise<SendResult> {
  return sendMessageAsUser(baseUrl, token, roomId, { msgtype: "m.text", body: text });
}

/**
 * Every event of the room visible to the token's user, oldest → newest;
 * decrypted when the token's client has E2EE. There, a plaintext message
 * after the room turned encrypted is an error: no client should send one.
 */
export async function fetchRoomMessages(baseUrl: string, token: string, roomId: string): Promise<RawEvent[]> {
  const events = await fetchWireMessages(baseUrl, token, roomId);
  const e2ee = e2eeSessions.get(token);
  if (!e2ee) return events;
  const clear: RawEvent[] = [];
  let encryptedRoom = false;
  for (const ev of events) {
    if (ev.type === "m.room.encryption" && ev.state_key === "") encryptedRoom = true;
    if (encryptedRoom && ev.type === "m.room.message") {
      throw new Error(`plaintext m.room.message ${ev.event_id} from ${ev.sender} in the encrypted room ${roomId}: ${JSON.stringify(ev.content).slice(0, 200)}`);
    }
    clear.push(ev.type === "m.room.encrypted" ? await e2ee.decrypt(roomId, ev) : ev);
  }
  return clear;
}

/** The server's copy, never decrypted. */
export async function fetchWireMessages(baseUrl: string, token: string, roomId: string): Promise<RawEvent[]> {
  const events: RawEvent[] = [];
  let from: string | undefined;
  for (;;) {
    const q = new URLSearchParams({ dir: "f", limit: "500" });
    if (from) q.set("from", from);
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?${q.toString()}`;
    const res = await matrixFetch<{ chunk?: RawEvent[]; end?: string }>(baseUrl, token, "GET", path);
    if (res.status !== 200) throw new Error(`GET ${path} -> ${res.status} ${JSON.stringify(res.json)}`);
    events.push(...(res.json.chunk ?? []));
    // No `end` means the newest event has been reached.
    if (!res.json.end || (res.json.chunk ?? []).length === 0) return events;
    from = res.json.end;
  }
}

interface Replace {
  rel_type?: string;
  event_id?: string;
}

export function replacedEventId(ev: RawEvent): string | undefined {
  const rel = ev.content["m.relates_to"] as Replace | undefined;
  return rel?.rel_type === "m.replace" ? rel.event_id : undefined;
}

/**
 * m.room.message events as a client shows them: edits folded into their
 * original (newest edit by the same sender wins), redacted/empty ones kept
 * with body undefined. Oldest first.
 */
export function shownMessages(events: readonly RawEvent[]): ShownMessage[] {
  const shown: ShownMessage[] = [];
  const byId = new Map<string, ShownMessage>();
  for (const ev of events) {
    if (ev.type !== "m.room.message") continue;
    const target = replacedEventId(ev);
    if (target === undefined) {
      const body = typeof ev.content["body"] === "string" ? ev.content["body"] : undefined;
      const msg: ShownMessage = {
        eventId: ev.event_id,
        sender: ev.sender,
        msgtype: typeof ev.content["msgtype"] === "string" ? ev.content["msgtype"] : undefined,
        body,
        originalBody: body,
        editCount: 0,
        event: ev,
      };
      shown.push(msg);
      byId.set(ev.event_id, msg);
      continue;
    }
    const original = byId.get(target);
    if (!original || original.sender !== ev.sender) continue;
    const next = ev.content["m.new_content"] as Record<string, unknown> | undefined;
    original.editCount += 1;
    if (typeof next?.["body"] === "string") original.body = next["body"];
    if (typeof next?.["msgtype"] === "string") original.msgtype = next["msgtype"];
  }
  return shown;
}
