/**
 * Device-list changes of users the crypto does not track are idle syncs
 * (idle-crypto-syncs.ts): checked against the real Rust crypto (an
 * in-memory OlmMachine), which is what answers "whom do you track".
 */
import { DeviceId, initAsync, OlmMachine, UserId } from "@matrix-org/matrix-sdk-crypto-wasm";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { skipIdleCryptoSyncs, type SyncCryptoChanges } from "../../src/matrix/idle-crypto-syncs.js";

const idle = (changed: string[] = []): SyncCryptoChanges => ({
  toDeviceEvents: [],
  deviceLists: { changed, left: [] },
  oneTimeKeysCounts: { signed_curve25519: 50 },
  unusedFallbackKeys: ["signed_curve25519"],
});

describe("idle syncs against the real crypto", () => {
  it("passes a change of a user the crypto tracks and skips the rest", async () => {
    await initAsync();
    const machine = await OlmMachine.initialize(new UserId("@bot:hs"), new DeviceId("BOTDEVICE"));
    try {
      const seen: SyncCryptoChanges[] = [];
      const backend = {
        olmMachine: machine,
        processSyncChanges: (changes: SyncCryptoChanges): Promise<unknown[]> => {
          seen.push(changes);
          return Promise.resolve([]);
        },
      };
      expect(skipIdleCryptoSyncs(backend, pino({ level: "silent" }), 60_000, () => 0)).toBe(true);
      await backend.processSyncChanges(idle());
      await backend.processSyncChanges(idle(["@alice:hs", "@stranger:hs"]));
      expect(seen).toHaveLength(1);
      // A member of an encrypted room is tracked once the SDK asks the crypto to (RoomEncryptor).
      await machine.updateTrackedUsers([new UserId("@alice:hs")]);
      await backend.processSyncChanges(idle(["@stranger:hs", "@alice:hs"]));
      expect(seen).toHaveLength(2);
      await backend.processSyncChanges(idle(["@stranger:hs"]));
      expect(seen).toHaveLength(2);
    } finally {
      machine.close();
    }
  });
});
