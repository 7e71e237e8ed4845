/**
 * The walking skeleton, end to end: a real Synapse, the real bot booted via
 * start(), a real reference agent over a real WebSocket, and matrix-js-sdk
 * playing the user.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendTextAsUser } from "../support/room-messages.js";
import { e2eEncrypted, ENCRYPTION_STATE } from "../support/e2e-mode.js";
import { useSynapse } from "../support/synapse-env.js";
import { startUserClient, type UserClient } from "../support/user-client.js";
import { botMessages, eventually, onboard, roomState, startBot, waitForBotMessage, type BotFixture, type Onboarded } from "../support/bot.js";
import type { RegisteredUser } from "../../src/dev/synapse.js";

describe("walking skeleton", () => {
  const synapse = useSynapse();
  let fx: BotFixture;
  let alice: RegisteredUser;
  let aliceClient: UserClient;
  let rooms: Onboarded;

  beforeAll(async () => {
    alice = await synapse.newUser("alice");
    // (f) checks the no-wait setting; tests/e2e/faults.test.ts the waiting one.
    fx = await startBot({ agents: [{ id: "helper" }], users: { [alice.userId]: "helper" }, env: { SURFACES_AGENT_WAIT_MS: "0" } });
    aliceClient = await startUserClient(synapse.baseUrl, alice);
  });
  afterAll(async () => {
    aliceClient?.stop();
    await fx?.stop();
  });

  it("(a) an invite yields a Space and a chat room, linked both ways, with the binding state event", async () => {
    rooms = await onboard(aliceClient, alice.accessToken, synapse.baseUrl, fx.bot.userId);
    const { spaceId, chatRoomId } = rooms;
    const token = alice.accessToken;

    const spaceBinding = await roomState(synapse.baseUrl, token, spaceId, "org.surfaces.room");
    expect(spaceBinding).toMatchObject({ owner: alice.userId, kind: "space" });
    const chatBinding = await roomState(synapse.baseUrl, token, chatRoomId, "org.surfaces.room");
    expect(chatBinding).toMatchObject({ owner: alice.userId, kind: "chat", agent_id: "helper", index: 1, archived: false });
    expect(chatBinding?.["platform_chat_id"]).toMatch(/^\d+$/);

    expect(await roomState(synapse.baseUrl, token, spaceId, "m.space.child", chatRoomId)).toMatchObject({ via: ["localhost"] });
    expect(await roomState(synapse.baseUrl, token, chatRoomId, "m.space.parent", spaceId)).toMatchObject({ canonical: true });
    const create = await roomState(synapse.baseUrl, token, spaceId, "m.room.create");
    expect(create?.["type"]).toBe("m.space");

    // The bot alone controls encryption, Space children and its binding.
    const levels = await roomState(synapse.baseUrl, token, chatRoomId, "m.room.power_levels");
    const events = levels?.["events"] as Record<string, number>;
    expect(events["m.room.encryption"]).toBe(100);
    expect(events["m.space.child"]).toBe(100);
    expect(events["org.surfaces.room"]).toBe(100);
    // Encrypted exactly when the bot is set to (SURFACES_ENCRYPT_ROOMS follows the harness mode).
    expect(await roomState(synapse.baseUrl, token, chatRoomId, "m.room.encryption")).toEqual(e2eEncrypted() ? ENCRYPTION_STATE.content : undefined);

    // The user was invited to both (and joined them in onboard()).
    expect(aliceClient.client.getRoom(spaceId)?.getMyMembership()).toBe("join");
    expect(aliceClient.client.getRoom(chatRoomId)?.getMyMembership()).toBe("join");
    // The lobby points to the Space.
    await waitForBotMessage(synapse.baseUrl, token, rooms.lobbyId, fx.bot.userId, (m) => (m.body ?? "").includes("Space"));
  });

  it("(b) 'hello' gets the agent's answer back, exactly once", async () => {
    await aliceClient.sendText(rooms.chatRoomId, "hello");
    await waitForBotMessage(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId, (m) => m.body === "echo: hello");
    await new Promise((r) => setTimeout(r, 1000)); // a duplicate would have arrived by now
    const answers = (await botMessages(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId)).filter(
      (m) => m.body === "echo: hello",
    );
    expect(answers).toHaveLength(1);
    expect(answers[0]?.msgtype).toBe("m.text");
  });

  it("(c) a stranger's invite gets one sentence, the bot leaves, and nothing is created", async () => {
    const stranger = await synapse.newUser("stranger");
    const strangerClient = await startUserClient(synapse.baseUrl, stranger);
    try {
      const roomsBefore = fx.app.store.rooms.count();
      const roomId = await strangerClient.createRoom({ invite: [fx.bot.userId] });
      const sentence = await waitForBotMessage(synapse.baseUrl, stranger.accessToken, roomId, fx.bot.userId, () => true);
      expect(sentence.body).toMatch(/only serves people its operator has registered/);
      await eventually("the bot to leave", async () => {
        const member = await roomState(synapse.baseUrl, stranger.accessToken, roomId, "m.room.member", fx.bot.userId);
        return member?.["membership"] === "leave" ? true : undefined;
      });
      expect(await botMessages(synapse.baseUrl, stranger.accessToken, roomId, fx.bot.userId)).toHaveLength(1);
      expect(fx.app.store.rooms.count()).toBe(roomsBefore);
      expect(fx.app.store.users.get(stranger.userId as never)).toBeUndefined();
      expect(strangerClient.client.getRooms().filter((r) => r.getMyMembership() === "invite")).toHaveLength(0);
    } finally {
      strangerClient.stop();
    }
  });

  it("(d) a second invite from the same user creates no second Space", async () => {
    const spacesBefore = fx.app.store.rooms.byOwner(alice.userId as never, { includeArchived: true }).filter((r) => r.kind === "space");
    expect(spacesBefore).toHaveLength(1);
    const lobby2 = await aliceClient.createRoom({ invite: [fx.bot.userId], name: "lobby 2" });
    await waitForBotMessage(synapse.baseUrl, alice.accessToken, lobby2, fx.bot.userId, (m) => (m.body ?? "").includes("already have a Space"));
    const spacesAfter = fx.app.store.rooms.byOwner(alice.userId as never, { includeArchived: true }).filter((r) => r.kind === "space");
    expect(spacesAfter.map((r) => r.roomId)).toEqual(spacesBefore.map((r) => r.roomId));
  });

  it("(e) after a restart on the same database the next message is answered once and nothing old again", async () => {
    const before = await botMessages(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId);
    await fx.restart();
    await aliceClient.sendText(rooms.chatRoomId, "after restart");
    await waitForBotMessage(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId, (m) => m.body === "echo: after restart");
    await new Promise((r) => setTimeout(r, 1000));
    const after = await botMessages(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId);
    expect(after.filter((m) => m.body === "echo: after restart")).toHaveLength(1);
    expect(after.filter((m) => m.body === "echo: hello")).toHaveLength(1);
    expect(after).toHaveLength(before.length + 1);
  });

  it("(e') messages sent while the bot is down are answered once each, in order, after it returns", async () => {
    await fx.app.stop();
    const texts = Array.from({ length: 20 }, (_, i) => `offline ${i + 1}`);
    try {
      for (const text of texts) {
        const res = await sendTextAsUser(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, text);
        expect(res.status).toBe(200);
      }
    } finally {
      await fx.restart(); // a failed send must not leave (f) a stopped bot
    }
    const expected = texts.map((t) => `echo: ${t}`);
    const answers = await eventually("twenty answers", async () => {
      const got = (await botMessages(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId))
        .map((m) => m.body ?? "")
        .filter((b) => b.startsWith("echo: offline"));
      return got.length >= 20 ? got : undefined;
    }, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    const final = (await botMessages(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId))
      .map((m) => m.body ?? "")
      .filter((b) => b.startsWith("echo: offline"));
    expect(answers).toEqual(expected);
    expect(final).toEqual(expected);
  }, 240_000); // under Synapse's default limits the user's burst waits out rc_message: ~5 s a message after ten

  it("(f) an unreachable agent gets the user a notice, and the bot keeps running", async () => {
    const agent = fx.agents.get("helper");
    await agent?.close();
    await aliceClient.sendText(rooms.chatRoomId, "anyone there?");
    const notice = await waitForBotMessage(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId, (m) =>
      (m.body ?? "").includes("not reachable"),
    );
    expect(notice.msgtype).toBe("m.notice");
    expect(fx.app.isReady()).toBe(true);
    // Commands still work while the agent is down.
    await aliceClient.sendText(rooms.chatRoomId, "!help");
    await waitForBotMessage(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId, (m) => (m.body ?? "").includes("!new"));
  });
});
