/**
 * Rooms survive a lost database: the bot rebuilds its cache from the
 * `org.surfaces.room` state events, creates nothing, and the conversation
 * goes on under the same platform_chat_id.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useSynapse } from "../support/synapse-env.js";
import type { UserClient } from "../support/user-client.js";
import { botMessages, startChat, type ChatFixture, waitForBotMessage, type BotFixture, type Onboarded } from "../support/bot.js";
import type { RegisteredUser } from "../../src/dev/synapse.js";

describe("a lost database", () => {
  const synapse = useSynapse();
  let chat: ChatFixture;
  let fx: BotFixture;
  let alice: RegisteredUser;
  let aliceClient: UserClient;
  let rooms: Onboarded;

  beforeAll(async () => {
    chat = await startChat({ agents: [{ id: "keeper" }] });
    ({ fx, user: alice, client: aliceClient, rooms } = chat);
  });
  afterAll(() => chat?.stop());

  it("is rebuilt from room state: same rooms, same chat ids, no new rooms, the conversation continues", async () => {
    await aliceClient.sendText(rooms.chatRoomId, "before the loss");
    await waitForBotMessage(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId, (m) => m.body === "echo: before the loss");
    const roomsBefore = fx.app.store.rooms.all().map((r) => ({ roomId: r.roomId, kind: r.kind, chatId: r.chatId, agentId: r.agentId }));
    const joinedBefore = (await fx.app.client.getJoinedRooms()).joined_rooms.length;

    await fx.app.stop();
    for (const f of ["surfaces.db", "surfaces.db-wal", "surfaces.db-shm"]) rmSync(join(fx.dir, "data", f), { force: true });
    await fx.restart();

    const roomsAfter = fx.app.store.rooms.all().map((r) => ({ roomId: r.roomId, kind: r.kind, chatId: r.chatId, agentId: r.agentId }));
    expect(sortById(roomsAfter)).toEqual(sortById(roomsBefore));
    expect(fx.app.store.users.get(alice.userId as never)?.spaceId).toBe(rooms.spaceId);
    expect((await fx.app.client.getJoinedRooms()).joined_rooms.length).toBe(joinedBefore);

    await aliceClient.sendText(rooms.chatRoomId, "after the loss");
    await waitForBotMessage(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId, (m) => m.body === "echo: after the loss");
    // The agent saw both turns under the same chat id, and old messages were not answered again.
    const agent = fx.agents.get("keeper");
    const chatIds = new Set(agent?.stats.messages.map((m) => m.chat_id));
    expect(chatIds.size).toBe(1);
    const bodies = (await botMessages(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId)).map((m) => m.body);
    expect(bodies.filter((b) => b === "echo: before the loss")).toHaveLength(1);
  });
});

const sortById = <T extends { roomId: string }>(list: T[]): T[] => [...list].sort((a, b) => a.roomId.localeCompare(b.roomId));
