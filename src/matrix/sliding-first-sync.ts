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
 * A homeserver without sliding sync (an error status), an answer that does
 * not hold every room of its list or shows a room the bot is neither in,
 * out of nor invited to, leaves the classic initial /sync to run instead.
 * The position is kept as the history floor: a later sync gap's backfill
 * stops there (gap-fill.ts), as it stopped at a classic first sync's one
 * recorded event a room.
 */

/** Where Synapse (1.114+) serves simplified sliding sync; the stable path is not settled yet. */
export const SLIDING_SYNC_PATH = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync";

/** One list over every room: a range end no account reaches. */
const ALL_ROOMS = 9_999_999;

type Json = Record<string, unknown>;

export interface SlidingFirstSyncOptions {
  homeserverUrl: string;
  accessToken: string;
  botUserId: string;
  /** The room state types the bot reads (its /sync filter's); each with state key "", members: the bot's own. */
  stateTypes: readonly string[];
  signal: AbortSignal;
  /** Why the classic initial /sync runs instead (a homeserver without sliding sync, an incomplete answer). */
  onFallback?: (reason: string) => void;
  /** The position the answer stands at (`since`), the rooms loaded (joined, invited; skipped: kicked or banned) and how long both requests took. */
  onLoaded?: (loaded: { since: string; joined: number; invited: number; skipped: number; ms: number }) => void;
}

/** The sliding-sync request body: every room, the bot's state types, no timeline. */
export function slidingRequest(stateTypes: readonly string[]): Json {
  const required_state = stateTypes.map((type) => [type, type === "m.room.member" ? "$ME" : ""]);
  return { lists: { all: { ranges: [[0, ALL_ROOMS]], required_state, timeline_limit: 0 } } };
}

/** What classicFirstSync makes of the two answers. */
export interface FirstSync {
  body: Json;
  /** The room-less /sync's position: where the classic syncs go on from. */
  since: string;
  joined: number;
  invited: number;
  /** Rooms the bot was kicked or banned from. */
  skipped: number;
}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const events = (v: unknown): Json[] | undefined => (Array.isArray(v) && v.every(isObject) ? v : undefined);

/**
 * A classic initial /sync answer from the room-less /sync (`top`) and the
 * sliding-sync answer; a string saying what is wrong when they cannot make
 * one (no position, a room missing from the answer, a room neither joined,
 * left nor invited by what the answer holds): the classic initial /sync
 * runs then.
 */
export function classicFirstSync(top: unknown, sliding: unknown, botUserId: string): FirstSync | string {
  if (!isObject(top) || typeof top["next_batch"] !== "string") return "the room-less /sync had no position";
  if (!isObject(sliding)) return "the sliding-sync answer was not an object";
  const rooms = sliding["rooms"] ?? {};
  const list = isObject(sliding["lists"]) ? sliding["lists"]["all"] : undefined;
  const counted = isObject(list) ? list["count"] : undefined;
  if (!isObject(rooms) || typeof counted !== "number" || counted !== Object.keys(rooms).length) return "the sliding-sync answer did not hold every room of its list";
  const join: Record<string, Json> = {};
  const invite: Record<string, Json> = {};
  let skipped = 0;
  for (const [roomId, room] of Object.entries(rooms)) {
    if (!isObject(room)) return `room ${roomId}: not an object`;
    const stripped = events(room["invite_state"]);
    if (stripped) {
      invite[roomId] = { invite_state: { events: stripped } };
      continue;
    }
    const state = events(room["required_state"]) ?? [];
    const mine = state.find((e) => e["type"] === "m.room.member" && e["state_key"] === botUserId);
    const membership = isObject(mine?.["content"]) ? mine["content"]["membership"] : undefined;
    // Sliding sync also lists rooms the bot was kicked or banned from; a classic first sync leaves them out.
    if (membership === "leave" || membership === "ban") {
      skipped++;
      continue;
    }
    // Anything else unexplained would lose the room for good (it predates the position): no answer at all then.
    if (membership !== "join") return `room ${roomId}: no membership of the bot in the answer`;
    const heroes = (Array.isArray(room["heroes"]) ? room["heroes"] : []).map((h: unknown) => (isObject(h) ? h["user_id"] : undefined)).filter((u): u is string => typeof u === "string");
    const count = (key: string): number | undefined => (typeof room[key] === "number" ? room[key] : undefined);
    const joinedCount = count("joined_count");
    const invitedCount = count("invited_count");
    join[roomId] = {
      state: { events: state },
      // No back-pagination token: the sliding answer's stands at its own position, after `since`.
      timeline: { events: [], limited: false, prev_batch: null },
      summary: {
        ...(joinedCount !== undefined && { "m.joined_member_count": joinedCount }),
        ...(invitedCount !== undefined && { "m.invited_member_count": invitedCount }),
        ...(heroes.length > 0 && { "m.heroes": heroes }),
      },
      ephemeral: { events: [] },
      account_data: { events: [] },
    };
  }
  const since = top["next_batch"];
  return { body: { ...top, rooms: { join, invite, leave: {} } }, since, joined: Object.keys(join).length, invited: Object.keys(invite).length, skipped };
}

/**
 * Loads the first sync through sliding sync; undefined when the classic
 * initial /sync has to run instead (`onFallback` says why): an error status
 * or a network error of either request, an answer classicFirstSync cannot
 * use. Only the bot's stop (`signal`) is thrown.
 */
export async function slidingFirstSync(o: SlidingFirstSyncOptions, inner: typeof fetch): Promise<Response | undefined> {
  const t0 = performance.now();
  const base = o.homeserverUrl.replace(/\/+$/, "");
  const headers = { Authorization: `Bearer ${o.accessToken}` };
  const roomless = new URL(`${base}/_matrix/client/v3/sync`);
  roomless.searchParams.set("filter", JSON.stringify({ room: { rooms: [] }, presence: { not_types: ["*"] } }));
  roomless.searchParams.set("timeout", "0");
  roomless.searchParams.set("set_presence", "offline");
  let built: FirstSync | string;
  try {
    const topRes = await inner(roomless.href, { headers, signal: o.signal });
    if (!topRes.ok) return fallBack(o, `the room-less /sync answered ${topRes.status}`);
    const top: unknown = await topRes.json();
    const slidingRes = await inner(`${base}${SLIDING_SYNC_PATH}?timeout=0`, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify(slidingRequest(o.stateTypes)),
      signal: o.signal,
    });
    if (!slidingRes.ok) return fallBack(o, `sliding sync answered ${slidingRes.status}`);
    built = classicFirstSync(top, await slidingRes.json(), o.botUserId);
  } catch (err) {
    if (o.signal.aborted) throw err;
    return fallBack(o, err instanceof Error ? err.message : String(err));
  }
  if (typeof built === "string") return fallBack(o, built);
  o.signal.throwIfAborted();
  o.onLoaded?.({ since: built.since, joined: built.joined, invited: built.invited, skipped: built.skipped, ms: Math.round(performance.now() - t0) });
  return parsedResponse(built.body);
}

/**
 * A 200 answer holding an object already parsed: matrix-js-sdk reads a
 * successful answer with `json()`, so the built first sync (16 MB of JSON at
 * 10,000 rooms) is not written out to text only to be parsed back. Own
 * properties shadow Response's readers.
 */
function parsedResponse(parsed: Json): Response {
  const res = new Response(null, { status: 200, headers: { "Content-Type": "application/json" } });
  return Object.assign(res, { json: () => Promise.resolve(parsed), text: () => Promise.resolve(JSON.stringify(parsed)) });
}

function fallBack(o: SlidingFirstSyncOptions, reason: string): undefined {
  o.onFallback?.(reason);
  return undefined;
}
