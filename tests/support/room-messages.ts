/**
 * Raw client-server API reads for exact assertions: everything a room holds,
 * oldest first, straight from /messages (no SDK timeline, no sync gaps).
 */

export interface RawEvent {
  event_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
  unsigned?: Record<string, unknown>;
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

/** Sends m.text with a fresh txn id; returns the status so rate-limit tests can see 429s. */
export async function sendTextRaw(
  baseUrl: string,
  token: string,
  roomId: string,
  text: string,
): Promise<MatrixResponse<{ event_id?: string; errcode?: string; retry_after_ms?: number }>> {
  const txn = `t${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`;
  return matrixFetch(baseUrl, token, "PUT", path, { msgtype: "m.text", body: text });
}

/**
 * Sends m.text as a person's client does: a 429 (rc_message, under Synapse's
 * default limits) is waited out for the retry_after_ms the server gave, then
 * the same transaction is sent again. Resolves with the final response.
 */
export async function sendTextAsUser(
  baseUrl: string,
  token: string,
  roomId: string,
  text: string,
): Promise<MatrixResponse<{ event_id?: string; errcode?: string; retry_after_ms?: number }>> {
  const txn = `t${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`;
  for (let attempt = 1; ; attempt++) {
    const res = await matrixFetch<{ event_id?: string; errcode?: string; retry_after_ms?: number }>(baseUrl, token, "PUT", path, {
      msgtype: "m.text",
      body: text,
    });
    // Bounded so a server that never lets up fails the test instead of hanging it.
    if (res.status !== 429 || attempt >= 50) return res;
    await new Promise((r) => setTimeout(r, res.json.retry_after_ms ?? 1000));
  }
}

/** Every event of the room visible to the token's user, oldest → newest. */
export async function fetchRoomMessages(baseUrl: string, token: string, roomId: string): Promise<RawEvent[]> {
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
