/**
 * Invites from people the registry does not know, through the real
 * dispatcher: from a server no registry user lives on, rejected without
 * joining; from the registry's own server, one sentence per hour, then
 * rejected without joining.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { AgentPort } from "../../src/core/agent-port.js";
import { Dispatcher, STRANGER_REPLY_INTERVAL_MS } from "../../src/core/dispatcher.js";
import { asAgentId, asEventId, asRoomId, asUserId, type RoomId, type UserId } from "../../src/core/ids.js";
import { openStore } from "../../src/store/index.js";
import { recordingChat } from "./recording-chat.js";

const BOT = asUserId("@bot:home.example");
const ALICE = asUserId("@alice:home.example");

function setup() {
  const calls: Array<[string, RoomId]> = [];
  const chat = Object.assign(recordingChat(), {
    readBinding: async () => null,
    refuseInvite: async (roomId: RoomId) => void calls.push(["join-say-leave", roomId]),
    rejectInvite: async (roomId: RoomId) => void calls.push(["reject", roomId]),
  });
  let now = 1_000_000;
  const dispatcher = new Dispatcher({
    botUserId: BOT,
    chat,
    agents: {} as AgentPort,
    store: openStore(":memory:"),
    logger: pino({ level: "silent" }),
    idleTimeoutMs: 1000,
    newChatId: () => "1" as never,
    agentsFor: (u) => (u === ALICE ? [asAgentId("a")] : []),
    agentKnown: () => true,
    serverHostsUsers: (server) => server === "home.example",
    now: () => now,
  });
  let n = 0;
  const invite = (sender: UserId) =>
    dispatcher.enqueue({ kind: "invite", roomId: asRoomId(`!r${++n}:x`), eventId: asEventId(`$i${n}`), sender });
  return { calls, invite, advance: (ms: number) => void (now += ms) };
}

describe("invites from strangers", () => {
  it("rejects, without joining, an invite from a server no registry user lives on", async () => {
    const { calls, invite } = setup();
    await invite(asUserId("@spammer:far.away"));
    await invite(asUserId("@spammer:far.away"));
    expect(calls.map((c) => c[0])).toEqual(["reject", "reject"]);
  });

  it("tells a local stranger once per hour and rejects the rest unjoined", async () => {
    const { calls, invite, advance } = setup();
    const mallory = asUserId("@mallory:home.example");
    await invite(mallory);
    await invite(mallory);
    await invite(asUserId("@other:home.example"));
    advance(STRANGER_REPLY_INTERVAL_MS);
    await invite(mallory);
    expect(calls.map((c) => c[0])).toEqual(["join-say-leave", "reject", "join-say-leave", "join-say-leave"]);
  });
});
