/**
 * A new encrypted chat room is handed on only once the sync shows its owner
 * invited: the first message's room key goes to the members the synced state
 * holds, and a greeting encrypted before the invite showed would stay
 * undecryptable for the owner.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { MatrixClient } from "matrix-js-sdk";
import { asAgentId, asChatId, asRoomId, asUserId } from "../../src/core/ids.js";
import type { RoomBinding } from "../../src/core/chat-port.js";
import { MatrixChatAdapter } from "../../src/matrix/chat-adapter.js";
import type { MatrixSender } from "../../src/matrix/sender.js";

const OWNER = asUserId("@alice:hs");
const binding: RoomBinding = { owner: OWNER, kind: "chat", agentId: asAgentId("a"), chatId: asChatId("1"), index: 1, archived: false };

/** A client whose synced room shows the owner's membership once `showInvite()` is called. */
function fakeClient() {
  let membership: string | undefined;
  const requests: unknown[] = [];
  const client = {
    getSafeUserId: () => "@bot:hs",
    createRoom: async (req: unknown) => (requests.push(req), { room_id: "!new:hs" }),
    sendStateEvent: async () => ({ event_id: "$s" }),
    getRoom: () => ({ getMember: (u: string) => (u === OWNER && membership ? { membership } : null) }),
  } as unknown as MatrixClient;
  return { client, requests, showInvite: () => void (membership = "invite") };
}

const adapter = (client: MatrixClient, encryptRooms: boolean) =>
  new MatrixChatAdapter(client, {} as MatrixSender, pino({ level: "silent" }), { editIntervalMs: 100, encryptRooms, memberSyncWaitMs: 5_000 });

describe("createChatRoom", () => {
  it("resolves for an encrypted room only once the sync shows the owner's invite", async () => {
    const fake = fakeClient();
    let done = false;
    const created = adapter(fake.client, true).createChatRoom(asRoomId("!space:hs"), "Chat 1", binding).then((id) => ((done = true), id));
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    fake.showInvite();
    expect(await created).toBe("!new:hs");
  });

  it("does not wait for an unencrypted room", async () => {
    const fake = fakeClient();
    expect(await adapter(fake.client, false).createChatRoom(asRoomId("!space:hs"), "Chat 1", binding)).toBe("!new:hs");
  });
});
