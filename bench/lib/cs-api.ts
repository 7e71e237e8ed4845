/**
 * A raw client-server API client for the benchmark's users and the floor
 * echo client: plain fetch, no SDK, so nothing but Synapse sits between them.
 */
import { wallNow } from "./clock.js";

export interface RawEvent {
  event_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
}

let txnCounter = 0;
const txn = (): string => `b${process.pid}.${Date.now()}.${++txnCounter}`;

export class Cs {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
    readonly userId: string,
  ) {}

  async req<T = Record<string, unknown>>(method: string, path: string, body?: unknown, timeoutMs = 120_000): Promise<T> {
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined && { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path.split("?")[0]} -> ${res.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async send(roomId: string, content: Record<string, unknown>, type = "m.room.message"): Promise<string> {
    const r = await this.req<{ event_id: string }>("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${type}/${txn()}`, content);
    return r.event_id;
  }

  sendText(roomId: string, body: string): Promise<string> {
    return this.send(roomId, { msgtype: "m.text", body });
  }

  async createRoom(body: Record<string, unknown>): Promise<string> {
    return (await this.req<{ room_id: string }>("POST", "/_matrix/client/v3/createRoom", body)).room_id;
  }

  async join(roomId: string): Promise<void> {
    await this.req("POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {});
  }

  async messages(roomId: string): Promise<RawEvent[]> {
    const out: RawEvent[] = [];
    let from: string | undefined;
    for (;;) {
      const q = new URLSearchParams({ dir: "f", limit: "1000" });
      if (from) q.set("from", from);
      const r = await this.req<{ chunk?: RawEvent[]; end?: string }>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?${q.toString()}`);
      out.push(...(r.chunk ?? []));
      if (!r.end || !r.chunk?.length) return out;
      from = r.end;
    }
  }
}

/** The body a client shows for a message event: the edit's new body, or the body. */
export function shownBody(ev: RawEvent): string | undefined {
  const next = ev.content["m.new_content"] as { body?: unknown } | undefined;
  const body = next ? next.body : ev.content["body"];
  return typeof body === "string" ? body : undefined;
}

export interface SyncedEvent {
  roomId: string;
  event: RawEvent;
  /** When the /sync answer carrying it arrived. */
  at: number;
}

const FILTER = JSON.stringify({
  room: { timeline: { limit: 100 }, state: { lazy_load_members: true }, ephemeral: { not_types: ["*"] } },
  presence: { not_types: ["*"] },
  account_data: { not_types: ["*"] },
});

/**
 * A /sync long-poll loop with a since token (an initial sync once, then
 * incremental ones), as a real client does. Listeners see timeline events.
 */
export class SyncLoop {
  private since: string | undefined;
  private running = false;
  private readonly listeners = new Set<(e: SyncedEvent) => void>();
  private loop: Promise<void> | null = null;
  private abort = new AbortController();

  constructor(private readonly cs: Cs) {}

  onEvent(fn: (e: SyncedEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** First call does an initial sync (events in it are not reported); then polls in the background. */
  async start(): Promise<void> {
    await this.poll(0, false);
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.poll(30_000, true);
        } catch (err) {
          if (!this.running) return;
          process.stderr.write(`sync error for ${this.cs.userId}: ${(err as Error).message}\n`);
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    })();
  }

  /** Resolves with the first event matching `pred` seen from now on. */
  waitFor(pred: (e: SyncedEvent) => boolean, timeoutMs = 120_000): Promise<SyncedEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${this.cs.userId}: no matching event within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onEvent((e) => {
        if (!pred(e)) return;
        clearTimeout(timer);
        off();
        resolve(e);
      });
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop?.catch(() => undefined);
  }

  private async poll(timeoutMs: number, report: boolean): Promise<void> {
    const q = new URLSearchParams({ timeout: String(timeoutMs), filter: FILTER });
    if (this.since) q.set("since", this.since);
    const res = await fetch(new URL(`/_matrix/client/v3/sync?${q.toString()}`, this.cs.baseUrl), {
      headers: { authorization: `Bearer ${this.cs.token}` },
      signal: this.abort.signal,
    });
    const at = wallNow();
    const text = await res.text();
    if (!res.ok) throw new Error(`/sync -> ${res.status} ${text.slice(0, 200)}`);
    const body = JSON.parse(text) as { next_batch: string; rooms?: { join?: Record<string, { timeline?: { events?: RawEvent[] } }> } };
    this.since = body.next_batch;
    if (!report) return;
    for (const [roomId, room] of Object.entries(body.rooms?.join ?? {})) {
      for (const event of room.timeline?.events ?? []) for (const fn of [...this.listeners]) fn({ roomId, event, at });
    }
  }
}
