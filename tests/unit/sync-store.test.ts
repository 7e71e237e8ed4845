/**
 * The sync store holds only the syncs since its last save and merges them
 * into the saved sync to save or to resume: what it saves must be what one
 * SyncAccumulator fed every sync would hold (new rooms, new state, timeline
 * gaps, left and rejoined rooms, account data), whatever the save points.
 */
import { SyncAccumulator, type ISyncResponse } from "matrix-js-sdk";
import { describe, expect, it } from "vitest";
import { PersistentSyncStore } from "../../src/matrix/sync-store.js";

let seq = 0;
const msg = (body: string): Record<string, unknown> => ({ type: "m.room.message", event_id: `$e${++seq}`, sender: "@u:x", origin_server_ts: seq, content: { body } });
const state = (type: string, key: string, content: Record<string, unknown>): Record<string, unknown> => ({ type, state_key: key, event_id: `$s${++seq}`, sender: "@u:x", origin_server_ts: seq, content });

function sync(next: string, rooms: { join?: Record<string, unknown>; leave?: Record<string, unknown> }, accountData: unknown[] = []): ISyncResponse {
  return { next_batch: next, rooms: { join: rooms.join ?? {}, leave: rooms.leave ?? {}, invite: {}, knock: {} }, account_data: { events: accountData } } as unknown as ISyncResponse;
}
const joined = (stateEvents: unknown[], timeline: unknown[], limited = false, prev = `p${++seq}`): Record<string, unknown> => ({
  state: { events: stateEvents },
  timeline: { events: timeline, limited, prev_batch: prev },
});

const SYNCS: ISyncResponse[] = [
  sync("s1", { join: { "!a": joined([state("m.room.create", "", { creator: "@b:x" }), state("m.room.name", "", { name: "A" })], [msg("a1")]), "!b": joined([state("m.room.create", "", {})], [msg("b1")]) } }, [{ type: "m.push_rules", content: { v: 1 } }]),
  sync("s2", { join: { "!a": joined([], [msg("a2"), state("m.room.name", "", { name: "A2" }), msg("a3")]) } }),
  sync("s3", { join: { "!b": joined([state("m.room.member", "@c:x", { membership: "join" })], [msg("b2")], true), "!c": joined([state("m.room.create", "", {})], [msg("c1")]) } }, [{ type: "m.push_rules", content: { v: 2 } }]),
  sync("s4", { leave: { "!c": {} }, join: { "!a": joined([], Array.from({ length: 25 }, (_, i) => msg(`a-many-${i}`))) } }),
  sync("s5", { join: { "!c": joined([state("m.room.create", "", { again: true })], [msg("c2")]) } }),
  sync("s6", { leave: { "!b": {} } }),
];

function reference(n: number): unknown {
  const acc = new SyncAccumulator({ maxTimelineEntries: 20 });
  for (const s of SYNCS.slice(0, n)) acc.accumulate(structuredClone(s));
  return acc.getJSON(true);
}

describe("PersistentSyncStore", () => {
  // Every way of cutting the six syncs into saves.
  const cuts = Array.from({ length: 2 ** (SYNCS.length - 1) }, (_, mask) => mask);
  it.each(cuts)("saves what one accumulator would hold (save points %i)", async (mask) => {
    let saved: string | undefined;
    const store = new PersistentSyncStore({ load: () => saved, save: (json) => void (saved = json) }, 0);
    for (const [i, s] of SYNCS.entries()) {
      await store.setSyncData(structuredClone(s));
      if (mask & (1 << i)) store.flush();
      // A restart between saves resumes from what was saved.
      expect(await store.getSavedSyncToken()).toBe(s.next_batch);
    }
    store.flush();
    expect(JSON.parse(saved ?? "null")).toEqual(reference(SYNCS.length));
    const resumed = new PersistentSyncStore({ load: () => saved, save: (json) => void (saved = json) });
    expect(resumed.hadSavedSync).toBe(true);
    expect(await resumed.getSavedSyncToken()).toBe("s6");
    expect(Object.keys((await resumed.getSavedSync())?.roomsData.join ?? {})).toEqual(["!a", "!c"]);
  });

  it("resumes unsaved syncs merged with the saved ones", async () => {
    let saved: string | undefined;
    const store = new PersistentSyncStore({ load: () => saved, save: (json) => void (saved = json) }, 0);
    await store.setSyncData(structuredClone(SYNCS[0]!));
    store.flush();
    await store.setSyncData(structuredClone(SYNCS[1]!));
    const json = await store.getSavedSync();
    expect(json?.nextBatch).toBe("s2");
    expect(Object.keys(json?.roomsData.join ?? {})).toEqual(["!a", "!b"]);
    expect(JSON.parse(saved ?? "null")).toEqual(reference(1));
  });

  it("starts fresh on a corrupt or missing save", async () => {
    const corrupt = new PersistentSyncStore({ load: () => "{not json", save: () => undefined });
    expect(corrupt.hadSavedSync).toBe(false);
    expect(await corrupt.getSavedSync()).toBeNull();
    const none = new PersistentSyncStore({ load: () => undefined, save: () => undefined });
    expect(await none.getSavedSyncToken()).toBeNull();
  });

  it("writes on the next turn of the event loop, not inside the SDK's save(); a failed write is reported and tried again", async () => {
    let saved: string | undefined;
    let fail = true;
    const errors: unknown[] = [];
    const persistence = {
      load: () => saved,
      save: (json: string) => {
        if (fail) throw new Error("disk full");
        saved = json;
      },
    };
    const store = new PersistentSyncStore(persistence, 0, (err) => errors.push(err));
    await store.setSyncData(structuredClone(SYNCS[0]!));
    await store.save();
    await store.save(); // one write queued, not two
    expect(saved).toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toHaveLength(1);
    expect(store.wantsSave()).toBe(true);
    fail = false;
    await store.save();
    await new Promise((resolve) => setImmediate(resolve));
    expect(JSON.parse(saved ?? "null")).toEqual(reference(1));
    expect(store.wantsSave()).toBe(false);
  });
});
