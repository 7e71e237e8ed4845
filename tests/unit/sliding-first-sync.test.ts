import { describe, expect, it } from "vitest";
import { prefetchInitialSync } from "../../src/matrix/initial-sync.js";
import { classicFirstSync, type FirstSync, SLIDING_SYNC_PATH, slidingRequest } from "../../src/matrix/sliding-first-sync.js";

const BOT = "@bot:hs";
const TYPES = ["m.room.create", "org.surfaces.room", "m.room.member", "m.room.encryption"];
const member = (user: string, membership: string) => ({ type: "m.room.member", state_key: user, sender: user, content: { membership }, event_id: `$m-${user}-${membership}` });
const create = { type: "m.room.create", state_key: "", sender: BOT, content: { room_version: "11" }, event_id: "$c" };
const TOP = { next_batch: "s42", to_device: { events: [{ type: "m.room_key" }] }, device_one_time_keys_count: { signed_curve25519: 50 }, account_data: { events: [] } };

describe("the sliding-sync request", () => {
  it("asks every room for the bot's state types, its own membership, and no timeline", () => {
    expect(slidingRequest(TYPES)).toEqual({
      lists: { all: { ranges: [[0, 9_999_999]], timeline_limit: 0, required_state: [["m.room.create", ""], ["org.surfaces.room", ""], ["m.room.member", "$ME"], ["m.room.encryption", ""]] } },
    });
  });
});

describe("a classic first sync from a sliding-sync answer", () => {
  const built = (top: unknown, sliding: unknown): FirstSync => {
    const result = classicFirstSync(top, sliding, BOT);
    if (typeof result === "string") throw new Error(result);
    return result;
  };

  it("keeps the room-less /sync's position and account-wide parts, and puts joined rooms' state in with empty timelines", () => {
    const sync = built(TOP, {
      lists: { all: { count: 1 } },
      rooms: { "!a:hs": { required_state: [create, member(BOT, "join")], prev_batch: "t1", joined_count: 2, invited_count: 1, heroes: [{ user_id: "@u:hs" }] } },
    });
    expect(sync).toMatchObject({ since: "s42", joined: 1, invited: 0, skipped: 0 });
    expect(sync.body).toEqual({
      ...TOP,
      rooms: {
        join: {
          "!a:hs": {
            state: { events: [create, member(BOT, "join")] },
            timeline: { events: [], limited: false, prev_batch: null },
            summary: { "m.joined_member_count": 2, "m.invited_member_count": 1, "m.heroes": ["@u:hs"] },
            ephemeral: { events: [] },
            account_data: { events: [] },
          },
        },
        invite: {},
        leave: {},
      },
    });
  });

  it("puts invites in with their stripped state, leaves out rooms the bot was kicked or banned from, and no member count it was not given", () => {
    const stripped = [{ type: "m.room.member", state_key: BOT, sender: "@u:hs", content: { membership: "invite" } }];
    const sync = built(TOP, {
      lists: { all: { count: 4 } },
      rooms: {
        "!inv:hs": { invite_state: stripped },
        "!kicked:hs": { required_state: [create, member(BOT, "leave")] },
        "!banned:hs": { required_state: [create, member(BOT, "ban")] },
        "!bare:hs": { required_state: [create, member(BOT, "join")] },
      },
    });
    expect(sync).toMatchObject({ joined: 1, invited: 1, skipped: 2 });
    expect((sync.body["rooms"] as { invite: unknown }).invite).toEqual({ "!inv:hs": { invite_state: { events: stripped } } });
    expect((sync.body["rooms"] as { join: Record<string, { summary: unknown }> }).join["!bare:hs"]?.summary).toEqual({});
  });

  it("makes none (and says why) when the answers cannot make a whole first sync", () => {
    const joined = { "!a:hs": { required_state: [create, member(BOT, "join")] } };
    const cases: [unknown, unknown, RegExp][] = [
      [TOP, { lists: { all: { count: 2 } }, rooms: joined }, /every room of its list/],
      [TOP, { rooms: joined }, /every room of its list/],
      [{ ...TOP, next_batch: undefined }, { lists: { all: { count: 1 } }, rooms: joined }, /no position/],
      [TOP, "nonsense", /not an object/],
      // A room whose membership the answer does not show (another server's shape, a renamed field) is not dropped.
      [TOP, { lists: { all: { count: 1 } }, rooms: { "!x:hs": { required_state: [create] } } }, /no membership/],
      [TOP, { lists: { all: { count: 1 } }, rooms: { "!x:hs": { stripped_state: [] } } }, /no membership/],
      [TOP, { lists: { all: { count: 1 } }, rooms: { "!x:hs": null } }, /not an object/],
    ];
    for (const [top, sliding, why] of cases) expect(classicFirstSync(top, sliding, BOT)).toMatch(why);
  });
});

describe("the first sync loaded through sliding sync (prefetchInitialSync with `sliding`)", () => {
  const SDK_FIRST = "http://hs/_matrix/client/v3/sync?filter=7&timeout=0&org.matrix.msc4222.use_state_after=true&set_presence=offline&_cacheBuster=1";
  const INITIAL = JSON.stringify({ room: { timeline: { limit: 1 } } });
  const answer = { lists: { all: { count: 1 } }, rooms: { "!a:hs": { required_state: [create, member(BOT, "join")] } } };

  function homeserver(sliding: () => Response, roomless: () => Response = () => Response.json(TOP)): { fetch: typeof fetch; asked: string[] } {
    const asked: string[] = [];
    return {
      asked,
      fetch: (input, init) => {
        const url = new URL(input instanceof Request ? input.url : input);
        asked.push(`${init?.method ?? "GET"} ${url.pathname}${url.pathname.endsWith("/v3/sync") ? ` rooms=${JSON.stringify((JSON.parse(url.searchParams.get("filter") ?? "{}") as { room?: { rooms?: unknown } }).room?.rooms)}` : ""}`);
        if (url.pathname === SLIDING_SYNC_PATH) return Promise.resolve().then(sliding);
        const classic = url.searchParams.get("filter") === INITIAL;
        return Promise.resolve(classic ? Response.json({ next_batch: "classic", rooms: { join: {} } }) : roomless());
      },
    };
  }

  const take = async (hs: { fetch: typeof fetch }, fallbacks: string[] = []): Promise<Record<string, unknown>> => {
    const prefetch = prefetchInitialSync(
      { homeserverUrl: "http://hs", accessToken: "t", initialFilter: INITIAL, stop: new AbortController().signal, sliding: { botUserId: BOT, stateTypes: TYPES, onFallback: (r) => fallbacks.push(r) } },
      hs.fetch,
    );
    const url = new URL(SDK_FIRST);
    url.searchParams.set("filter", INITIAL);
    const res = await prefetch.take(url);
    return (await res!.json()) as Record<string, unknown>;
  };

  it("answers the SDK's first /sync with the rooms from sliding sync, at the room-less /sync's position", async () => {
    const hs = homeserver(() => Response.json(answer));
    const body = await take(hs);
    expect(hs.asked).toEqual(["GET /_matrix/client/v3/sync rooms=[]", `POST ${SLIDING_SYNC_PATH}`]);
    expect(body["next_batch"]).toBe("s42");
    expect(Object.keys((body["rooms"] as { join: object }).join)).toEqual(["!a:hs"]);
  });

  it("falls back to the classic initial /sync on a homeserver without sliding sync, and says why", async () => {
    const fallbacks: string[] = [];
    const hs = homeserver(() => Response.json({ errcode: "M_UNRECOGNIZED" }, { status: 404 }));
    const body = await take(hs, fallbacks);
    expect(body["next_batch"]).toBe("classic");
    expect(hs.asked.at(-1)).toBe("GET /_matrix/client/v3/sync rooms=undefined");
    expect(fallbacks).toEqual(["sliding sync answered 404"]);
  });

  it("falls back to the classic initial /sync when the room-less /sync fails or sliding sync cannot be reached", async () => {
    const fallbacks: string[] = [];
    expect((await take(homeserver(() => Response.json(answer), () => new Response("", { status: 502 })), fallbacks))["next_batch"]).toBe("classic");
    expect(
      (
        await take(
          homeserver(() => {
            throw new TypeError("fetch failed");
          }),
          fallbacks,
        )
      )["next_batch"],
    ).toBe("classic");
    expect(fallbacks).toEqual(["the room-less /sync answered 502", "fetch failed"]);
  });

  it("falls back to the classic initial /sync when the answer misses rooms of its list", async () => {
    const fallbacks: string[] = [];
    const body = await take(homeserver(() => Response.json({ ...answer, lists: { all: { count: 3 } } })), fallbacks);
    expect(body["next_batch"]).toBe("classic");
    expect(fallbacks).toEqual(["the sliding-sync answer did not hold every room of its list"]);
  });
});
