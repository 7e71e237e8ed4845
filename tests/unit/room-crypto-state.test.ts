/**
 * Whether a room is encrypted, before and after the sync has delivered its
 * state: an invited room only has the stripped invite state, which may lack
 * m.room.encryption, so the homeserver must still be asked there.
 */
import type { MatrixClient } from "matrix-js-sdk";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { RoomCrypto } from "../../src/matrix/room-crypto.js";

function fakeClient(membership: string, createEventId: string | undefined, serverSaysEncrypted: boolean) {
  const asked: string[] = [];
  const room = {
    getMyMembership: () => membership,
    hasEncryptionStateEvent: () => false,
    currentState: { getStateEvents: (type: string) => (type === "m.room.create" ? { getId: () => createEventId } : null) },
  };
  const client = {
    on: () => undefined,
    getRoom: () => room,
    getCrypto: () => ({ isEncryptionEnabledInRoom: () => Promise.resolve(false) }),
    http: {
      authedRequest: (_method: string, path: string) => {
        asked.push(path);
        return serverSaysEncrypted ? Promise.resolve({ algorithm: "m.megolm.v1.aes-sha2" }) : Promise.reject(Object.assign(new Error("not found"), { httpStatus: 404 }));
      },
    },
  };
  return { client: client as unknown as MatrixClient, asked };
}

describe("RoomCrypto.isEncrypted", () => {
  it("asks the homeserver about a room it is only invited to (stripped state has no m.room.encryption)", async () => {
    const { client, asked } = fakeClient("invite", undefined, true);
    const crypto = new RoomCrypto(client, pino({ level: "silent" }));
    expect(await crypto.isEncrypted("!r:test")).toBe(true);
    expect(asked).toHaveLength(1);
  });

  it("trusts a joined room's synced state and does not ask the homeserver", async () => {
    const { client, asked } = fakeClient("join", "$create", true);
    const crypto = new RoomCrypto(client, pino({ level: "silent" }));
    expect(await crypto.isEncrypted("!r:test")).toBe(false);
    expect(asked).toEqual([]);
  });
});
