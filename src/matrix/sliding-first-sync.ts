/**
 * The first sync of a bot without a saved sync position, loaded through
 * simplified sliding sync (MSC4186) instead of a classic initial /sync.
 *
 * Synapse answers a classic initial /sync by building an entry for every
 * joined room, whatever the filter: 100 rooms of a 1,000-room account cost
 * it 88 % of all 1,000 (measured). Its sliding sync builds only the state
 * asked for, and answered the same 1,000 rooms (the bot's state types, no
 * timeline) in 0.8–2.1 s against 4.5–5.1 s for the classic /sync. The bot
 * then goes on with classic incremental syncs, so the answer is handed to
 * matrix-js-sdk in the shape of a classic initial /sync:
 *
 * 1. a classic /sync that blocks all rooms (Synapse skips them) gives the
 *    position `since` and the account-wide parts: to-device messages, key
 *    counts, global account data;
 * 2. one sliding-sync list over every room, with the bot's state types and
 *    no timeline, taken after that position, gives each room's state;
 * 3. the rooms go in as joined (the bot's own membership says "join") or
 *    invited (stripped invite state), with empty timelines.
 *
 * Anything that happens after `since` comes again in the next classic
 * /sync: state already in (2) is set once more (the same events), messages
 * arrive as live ones. Nothing before `since` is answered, as with a
 * classic first sync (whose one timeline event per room is history).
 * A homeserver without sliding sync (an error status), or an answer that
 * does not hold every room of its list, leaves the classic initial /sync
 * to run instead.
 */

/** Where Synapse (1.114+) serves simplified sliding sync; the stable path is not settled yet. */
export const SLIDING_SYNC_PATH = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync";

/** One list over every room: a range end no account reaches. */
const ALL_ROOMS = 9_999_999;

type Json = Record<string, unknown>;
interface SlidingRoom {
  required_state?: Json[];
  invite_state?: Json[];
  prev_batch?: string;
  joined_count?: number;
  invited_count?: number;
  heroes?: { user_id?: unknown }[];
}
interface SlidingAnswer {
  rooms?: Record<string, SlidingRoom>;
  lists?: Record<string, { count?: number }>;
}

export interface SlidingFirstSyncOptions {
  homeserverUrl: string;
  accessToken: string;
  botUserId: string;
  /** The room state types the bot reads (its /sync filter's); each with state key "", members: the bot's own. */
  stateTypes: readonly string[];
  signal: AbortSignal;
  /** Why the classic initial /sync runs instead (a homeserver without sliding sync, an incomplete answer). */
  onFallback?: (reason: string) => void;
  /** The rooms loaded (joined, invited; skipped: kicked or banned) and how long both requests took. */
  onLoaded?: (loaded: { joined: number; invited: number; skipped: number; ms: number }) => void;
}

/** The sliding-sync request body: every room, the bot's state types, no timeline. */
export function slidingRequest(stateTypes: readonly string[]): Json {
  const required_state = stateTypes.map((type) => [type, type === "m.room.member" ? "$ME" : ""]);
  return { lists: { all: { ranges: [[0, ALL_ROOMS]], required_state, timeline_limit: 0 } } };
}

/**
 * A classic initial /sync answer from the room-less /sync (`top`) and the
 * sliding-sync rooms; null when the sliding answer does not hold every room
 * its list counted.
 */
export function classicFirstSync(top: Json, sliding: SlidingAnswer, botUserId: string): { body: Json; joined: number; invited: number; skipped: number } | null {
  const rooms = sliding.rooms ?? {};
  const counted = sliding.lists?.["all"]?.count;
  if (typeof counted !== "number" || counted !== Object.keys(rooms).length) return null;
  const join: Record<string, Json> = {};
  const invite: Record<string, Json> = {};
  let skipped = 0;
  for (const [roomId, room] of Object.entries(rooms)) {
    if (room.invite_state) {
      invite[roomId] = { invite_state: { events: room.invite_state } };
      continue;
    }
    const state = room.required_state ?? [];
    const mine = state.find((e) => e["type"] === "m.room.member" && e["state_key"] === botUserId);
    // Sliding sync also lists rooms the bot was kicked or banned from; a classic first sync leaves them out.
    if ((mine?.["content"] as Json | undefined)?.["membership"] !== "join") {
      skipped++;
      continue;
    }
    const heroes = (room.heroes ?? []).map((h) => h.user_id).filter((u): u is string => typeof u === "string");
    join[roomId] = {
      state: { events: state },
      timeline: { events: [], limited: false, prev_batch: room.prev_batch ?? null },
      summary: { "m.joined_member_count": room.joined_count ?? 0, "m.invited_member_count": room.invited_count ?? 0, ...(heroes.length > 0 && { "m.heroes": heroes }) },
      ephemeral: { events: [] },
      account_data: { events: [] },
    };
  }
  return { body: { ...top, rooms: { join, invite, leave: {} } }, joined: Object.keys(join).length, invited: Object.keys(invite).length, skipped };
}

/**
 * Loads the first sync through sliding sync; undefined when the classic
 * initial /sync has to run instead (`onFallback` says why). A network error
 * or an error status of the room-less /sync is thrown, as the classic
 * request's would be.
 */
export async function slidingFirstSync(o: SlidingFirstSyncOptions, inner: typeof fetch): Promise<Response | undefined> {
  const t0 = performance.now();
  const base = o.homeserverUrl.replace(/\/+$/, "");
  const headers = { Authorization: `Bearer ${o.accessToken}` };
  const roomless = new URL(`${base}/_matrix/client/v3/sync`);
  roomless.searchParams.set("filter", JSON.stringify({ room: { rooms: [] }, presence: { not_types: ["*"] } }));
  roomless.searchParams.set("timeout", "0");
  roomless.searchParams.set("set_presence", "offline");
  const topRes = await inner(roomless.href, { headers, signal: o.signal });
  if (!topRes.ok) return topRes; // the caller sends the classic request instead, as after any failed prefetch
  const top = (await topRes.json()) as Json;
  const slidingRes = await inner(`${base}${SLIDING_SYNC_PATH}?timeout=0`, {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json" },
    body: JSON.stringify(slidingRequest(o.stateTypes)),
    signal: o.signal,
  });
  if (!slidingRes.ok) {
    o.onFallback?.(`sliding sync answered ${slidingRes.status}`);
    return undefined;
  }
  const built = classicFirstSync(top, (await slidingRes.json()) as SlidingAnswer, o.botUserId);
  if (!built) {
    o.onFallback?.("the sliding-sync answer did not hold every room of its list");
    return undefined;
  }
  o.onLoaded?.({ joined: built.joined, invited: built.invited, skipped: built.skipped, ms: Math.round(performance.now() - t0) });
  return new Response(JSON.stringify(built.body), { status: 200, headers: { "Content-Type": "application/json" } });
}
