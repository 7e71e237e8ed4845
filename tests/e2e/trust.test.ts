/**
 * Trust boundaries against a real Synapse: a binding counts only when the bot
 * wrote it in a room it created (a user's forged `org.surfaces.room` naming
 * someone else's chat id gets nothing), agent text cannot ping anyone (a bot
 * message carries `m.mentions` unless its text could match no mention rule), and a stranger's invites are answered
 * once per interval, then rejected without joining.
 */
import { e2eEncrypted } from "../support/e2e-mode.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RegisteredUser } from "../../src/dev/synapse.js";
import { matrixFetch } from "../support/room-messages.js";
import { useSynapse } from "../support/synapse-env.js";
import { startUserClient, type UserClient } from "../support/user-client.js";
import { allEvents, botMessages, eventually, onboard, sayAndWait, startBot, type BotFixture, type Onboarded } from "../support/bot.js";

describe("trust boundaries", () => {
  const synapse = useSynapse();
  let fx: BotFixture;
  let alice: RegisteredUser;
  let eve: RegisteredUser;
  let aliceClient: UserClient;
  let eveClient: UserClient;
  let aliceRooms: Onboarded;

  const speaker = (who: RegisteredUser, client: UserClient) => ({ baseUrl: synapse.baseUrl, token: who.accessToken, bot: fx.bot.userId, client });
  const agent = () => fx.agents.get("shared")!;

  beforeAll(async () => {
    alice = await synapse.newUser("alice");
    eve = await synapse.newUser("eve");
    fx = await startBot({ agents: [{ id: "shared" }], users: { [alice.userId]: "shared", [eve.userId]: "shared" } });
    aliceClient = await startUserClient(synapse.baseUrl, alice);
    eveClient = await startUserClient(synapse.baseUrl, eve);
    aliceRooms = await onboard(aliceClient, alice.accessToken, synapse.baseUrl, fx.bot.userId);
    await onboard(eveClient, eve.accessToken, synapse.baseUrl, fx.bot.userId);
  });
  afterAll(async () => {
    aliceClient?.stop();
    eveClient?.stop();
    await fx?.stop();
  });

  it("a forged binding naming another user's chat id gets no forwarding and reveals nothing; the victim's chat is untouched", async () => {
    const victimChat = fx.app.store.rooms.get(aliceRooms.chatRoomId as never)!.chatId!;
    const forged = { owner: eve.userId, kind: "chat", agent_id: "shared", platform_chat_id: victimChat, index: 7, archived: false };
    const forge = async (name: string): Promise<string> => {
      const room_id = await eveClient.createRoom({
        name,
        invite: [fx.bot.userId],
        initial_state: [{ type: "org.surfaces.room", state_key: "", content: forged }],
      });
      // The bot joins (the invite makes the room Eve's lobby) and says she already has a Space.
      await eventually(`the bot in ${name}`, async () => ((await botMessages(synapse.baseUrl, eve.accessToken, room_id, fx.bot.userId)).length > 0 ? true : undefined));
      return room_id;
    };
    // Two forged rooms: the second invite makes the second one Eve's lobby, so
    // the first is a joined room the cache does not know — targeted recovery.
    const first = await forge("forged 1");
    const second = await forge("forged 2");
    const before = agent().stats.messages.length;

    for (const roomId of [first, second]) {
      const notice = await sayAndWait(speaker(eve, eveClient), roomId, "hello from eve", (m) => m.msgtype === "m.notice");
      expect(notice.body).toContain("Surfaces ·"); // the pointer to her own Space
      const context = await sayAndWait(speaker(eve, eveClient), roomId, "!context", (m) => m.msgtype === "m.notice");
      expect(context.body).not.toContain(victimChat);
    }
    expect(agent().stats.messages.slice(before).filter((m) => m.text.includes("hello from eve"))).toEqual([]);
    expect(fx.app.store.rooms.get(first as never)).toBeUndefined();
    expect(fx.app.store.rooms.byChatId(victimChat)?.roomId).toBe(aliceRooms.chatRoomId);

    // The victim's notify lands in the victim's room, not in a forged one.
    await sayAndWait(speaker(alice, aliceClient), aliceRooms.chatRoomId, "/notify 100 victim news", (m) => m.body === "victim news");
    for (const roomId of [first, second]) {
      expect((await botMessages(synapse.baseUrl, eve.accessToken, roomId, fx.bot.userId)).some((m) => m.body === "victim news")).toBe(false);
    }
    // And the victim's !clear still closes the old chat.
    await sayAndWait(speaker(alice, aliceClient), aliceRooms.chatRoomId, "!clear", (m) => m.body?.includes("afresh") ?? false);
    await sayAndWait(speaker(alice, aliceClient), aliceRooms.chatRoomId, "!yes", (m) => m.body?.startsWith("Done") ?? false);
    await eventually("chat_closed for the victim's old chat", async () =>
      agent().stats.closedChats.some((c) => c.chat_id === victimChat) ? true : undefined,
    );
  });

  it("an answer carrying @room and user ids highlights nobody: every bot message declares m.mentions", async () => {
    const text = `@room look, ${alice.userId} and ${eve.userId}`;
    const sent = await aliceClient.sendText(aliceRooms.chatRoomId, text);
    await eventually("the echo", async () =>
      (await botMessages(synapse.baseUrl, alice.accessToken, aliceRooms.chatRoomId, fx.bot.userId)).find((m) => m.body === `echo: ${text}`),
    );
    const events = await allEvents(synapse.baseUrl, alice.accessToken, aliceRooms.chatRoomId);
    const fromBot = events.slice(events.findIndex((e) => e.event_id === sent)).filter((e) => e.sender === fx.bot.userId && e.type === "m.room.message");
    expect(fromBot.length).toBeGreaterThan(0);
    for (const e of fromBot) {
      expect(e.content["m.mentions"]).toEqual({});
      const inner = e.content["m.new_content"] as Record<string, unknown> | undefined;
      if (inner) expect(inner["m.mentions"]).toEqual({});
    }
    // Synapse's push rules agree: no highlight for the owner.
    const res = await matrixFetch<{ notifications: Array<{ room_id: string; event: { event_id: string; sender: string } }> }>(
      synapse.baseUrl,
      alice.accessToken,
      "GET",
      "/_matrix/client/v3/notifications?only=highlight&limit=100",
    );
    expect(res.status).toBe(200);
    expect(res.json.notifications.filter((n) => n.event.sender === fx.bot.userId)).toEqual([]);
  });

  it("an answer that names nobody leaves m.mentions out in a plain room (Synapse's costly check of it), one naming the owner declares it, and neither highlights", async () => {
    const localpart = alice.userId.slice(1).split(":")[0]!;
    const quiet = "the weather is fine today";
    const naming = `say hi to ${localpart.toUpperCase()} please`;
    for (const text of [quiet, naming]) {
      await aliceClient.sendText(aliceRooms.chatRoomId, text);
      await eventually("the echo", async () =>
        (await botMessages(synapse.baseUrl, alice.accessToken, aliceRooms.chatRoomId, fx.bot.userId)).find((m) => m.body === `echo: ${text}`),
      );
    }
    const events = await allEvents(synapse.baseUrl, alice.accessToken, aliceRooms.chatRoomId);
    const echo = (text: string) => events.find((e) => e.sender === fx.bot.userId && e.content["body"] === `echo: ${text}`);
    // In an encrypted room Synapse never sees it, so it is always declared there.
    if (e2eEncrypted()) expect(echo(quiet)?.content["m.mentions"]).toEqual({});
    else expect(echo(quiet)?.content).not.toHaveProperty("m.mentions");
    expect(echo(naming)?.content["m.mentions"]).toEqual({});
    const res = await matrixFetch<{ notifications: Array<{ event: { sender: string } }> }>(
      synapse.baseUrl,
      alice.accessToken,
      "GET",
      "/_matrix/client/v3/notifications?only=highlight&limit=100",
    );
    expect(res.json.notifications.filter((n) => n.event.sender === fx.bot.userId)).toEqual([]);
  });

  it("a stranger is answered once, and a second invite soon after is rejected without joining", async () => {
    const stranger = await synapse.newUser("stranger");
    const client = await startUserClient(synapse.baseUrl, stranger);
    try {
      const invite = async (): Promise<string> =>
        client.createRoom({ invite: [fx.bot.userId], name: "hi bot" });
      const membershipsOf = async (roomId: string): Promise<string[]> =>
        (await allEvents(synapse.baseUrl, stranger.accessToken, roomId))
          .filter((e) => e.type === "m.room.member" && e.state_key === fx.bot.userId)
          .map((e) => String(e.content["membership"]));
      const first = await invite();
      await eventually("the bot left the first room", async () => ((await membershipsOf(first)).includes("leave") ? true : undefined));
      expect(await membershipsOf(first)).toEqual(["invite", "join", "leave"]);
      expect((await botMessages(synapse.baseUrl, stranger.accessToken, first, fx.bot.userId)).length).toBe(1);

      const second = await invite();
      await eventually("the second invite rejected", async () => ((await membershipsOf(second)).includes("leave") ? true : undefined));
      expect(await membershipsOf(second)).toEqual(["invite", "leave"]);
    } finally {
      client.stop();
    }
  });
});
