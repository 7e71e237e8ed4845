/** Syncs that bring the crypto nothing are not passed to it (idle-crypto-syncs.ts); everything else is. */
import pino from "pino";
import { describe, expect, it } from "vitest";
import { skipIdleCryptoSyncs, type SyncCryptoChanges } from "../../src/matrix/idle-crypto-syncs.js";

const logger = pino({ level: "silent" });

function backend(fail = false, tracked?: string[]) {
  const seen: SyncCryptoChanges[] = [];
  let failNext = fail;
  return {
    seen,
    ...(tracked ? { olmMachine: { trackedUsers: () => Promise.resolve(new Set(tracked.map((u) => ({ toString: () => u })))) } } : {}),
    processSyncChanges(changes: SyncCryptoChanges): Promise<unknown[]> {
      seen.push(changes);
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error("store busy"));
      }
      return Promise.resolve(changes.toDeviceEvents);
    },
  };
}

const idle = (counts = 50): SyncCryptoChanges => ({ toDeviceEvents: [], deviceLists: { changed: [], left: [] }, oneTimeKeysCounts: { signed_curve25519: counts }, unusedFallbackKeys: ["signed_curve25519"] });

describe("idle syncs and the crypto", () => {
  it("passes the first sync, then only syncs that bring to-device messages, device-list changes or new key counts", async () => {
    const b = backend();
    let t = 0;
    expect(skipIdleCryptoSyncs(b, logger, 60_000, () => t)).toBe(true);
    await b.processSyncChanges(idle());
    await b.processSyncChanges(idle());
    await b.processSyncChanges({ ...idle(), deviceLists: {} });
    expect(b.seen).toHaveLength(1);
    const toDevice = { type: "m.room.encrypted", content: {} };
    expect(await b.processSyncChanges({ ...idle(), toDeviceEvents: [toDevice] })).toEqual([toDevice]);
    await b.processSyncChanges({ ...idle(), deviceLists: { changed: ["@alice:hs"] } });
    await b.processSyncChanges({ ...idle(), deviceLists: { left: ["@bob:hs"] } });
    await b.processSyncChanges(idle(49)); // a one-time key was claimed
    await b.processSyncChanges(idle(49));
    await b.processSyncChanges({ ...idle(49), unusedFallbackKeys: [] }); // the fallback key was used
    expect(b.seen).toHaveLength(6);
    // The key counts are compared whatever their order.
    await b.processSyncChanges({ toDeviceEvents: [], oneTimeKeysCounts: { signed_curve25519: 49 }, unusedFallbackKeys: [] });
    expect(b.seen).toHaveLength(6);
    // At least one sync a minute reaches the crypto (its own upkeep, such as rotating the fallback key).
    t += 60_000;
    await b.processSyncChanges({ ...idle(49), unusedFallbackKeys: [] });
    expect(b.seen).toHaveLength(7);
  });

  it("counts device-list changes of users the crypto does not track as idle", async () => {
    const b = backend(false, ["@bot:hs", "@alice:hs"]);
    skipIdleCryptoSyncs(b, logger, 60_000, () => 0);
    await b.processSyncChanges(idle());
    await b.processSyncChanges({ ...idle(), deviceLists: { changed: ["@bob:hs", "@carol:hs"] } });
    expect(b.seen).toHaveLength(1);
    await b.processSyncChanges({ ...idle(), deviceLists: { changed: ["@bob:hs", "@alice:hs"] } });
    expect(b.seen).toHaveLength(2);
    expect(b.seen[1]?.deviceLists?.changed).toEqual(["@bob:hs", "@alice:hs"]);
    // Anything else for the crypto still goes through with untracked changes.
    await b.processSyncChanges({ ...idle(49), deviceLists: { changed: ["@bob:hs"] } });
    await b.processSyncChanges({ ...idle(49), deviceLists: { changed: ["@bob:hs"], left: ["@dave:hs"] } });
    expect(b.seen).toHaveLength(4);
  });

  it("passes every device-list change when the crypto cannot say whom it tracks", async () => {
    const b = backend();
    skipIdleCryptoSyncs(b, logger, 60_000, () => 0);
    await b.processSyncChanges(idle());
    await b.processSyncChanges({ ...idle(), deviceLists: { changed: ["@bob:hs"] } });
    expect(b.seen).toHaveLength(2);
  });

  it("after the crypto failed on a sync, the next one goes through again", async () => {
    const b = backend(true);
    skipIdleCryptoSyncs(b, logger);
    await expect(b.processSyncChanges(idle())).rejects.toThrow("store busy");
    await b.processSyncChanges(idle());
    await b.processSyncChanges(idle());
    expect(b.seen).toHaveLength(2);
  });

  it("leaves a backend without processSyncChanges alone, with a warning", () => {
    expect(skipIdleCryptoSyncs({}, logger)).toBe(false);
    expect(skipIdleCryptoSyncs(undefined, logger)).toBe(false);
  });
});
