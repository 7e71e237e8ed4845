/**
 * Rooms survive a lost database: the bot rebuilds its cache from the
 * `org.surfaces.room` state events, creates nothing, and the conversation
 * goes on under the same platform_chat_id.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useSynapse } from "../support/synapse-env.js";
import { botMessages, startChat, type ChatFixture, waitForBotMessage } from "../support/bot.js";

describe("a lost database", () => {
  const synapse = useSynapse();
  let chat: ChatFixture;

  beforeAll(async () => {
    chat = await startChat({ agents: [{ id: "keeper" }] });
  });
  afterAll(() => chat?.stop());

  it("is rebuilt from room state: same rooms, same chat ids, no new rooms, the conversation continues", async () => {
    await chat.client.sendText(chat.rooms.chatRoomId, "before the loss");
    await waitForBotMessage(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, chat.fx.bot.userId, (m) => m.body === "echo: before the loss");
    const roomsBefore = chat.fx.app.store.rooms.all().map((r) => ({ roomId: r.roomId, kind: r.kind, chatId: r.chatId, agentId: r.agentId }));
    const joinedBefore = (await chat.fx.app.client.getJoinedRooms()).joined_rooms.length;

    await chat.fx.app.stop();
    for (const f of ["surfaces.db", "surfaces.db-wal", "surfaces.db-shm"]) rmSync(join(chat.fx.dir, "data", f), { force: true });
    await chat.fx.restart();

    const roomsAfter = chat.fx.app.store.rooms.all().map((r) => ({ roomId: r.roomId, kind: r.kind, chatId: r.chatId, agentId: r.agentId }));
    expect(sortById(roomsAfter)).toEqual(sortById(roomsBefore));
    expect(chat.fx.app.store.users.get(chat.user.userId as never)?.spaceId).toBe(chat.rooms.spaceId);
    expect((await chat.fx.app.client.getJoinedRooms()).joined_rooms.length).toBe(joinedBefore);

    await chat.client.sendText(chat.rooms.chatRoomId, "after the loss");
    await waitForBotMessage(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, chat.fx.bot.userId, (m) => m.body === "echo: after the loss");
    // The agent saw both turns under the same chat id, and old messages were not answered again.
    const agent = chat.fx.agents.get("keeper");
    const chatIds = new Set(agent?.stats.messages.map((m) => m.chat_id));
    expect(chatIds.size).toBe(1);
    const bodies = (await botMessages(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, chat.fx.bot.userId)).map((m) => m.body);
    expect(bodies.filter((b) => b === "echo: before the loss")).toHaveLength(1);
  });
});

const sortById = <T extends { roomId: string }>(list: T[]): T[] => [...list].sort((a, b) => a.roomId.localeCompare(b.roomId));

describe("a lost database with a password login", () => {
  const synapse = useSynapse();
  let chat: ChatFixture;

  beforeAll(async () => {
    // The token and device id live in surfaces.db: losing it loses them too.
    chat = await startChat({ agents: [{ id: "keeper" }], passwordLogin: true });
  });
  afterAll(() => chat?.stop());

  it("logs in again as the same device (the one the crypto store names), leaving no device behind", async () => {
    await chat.client.sendText(chat.rooms.chatRoomId, "before the loss");
    await waitForBotMessage(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, chat.fx.bot.userId, (m) => m.body === "echo: before the loss");
    const device = chat.fx.app.client.getDeviceId();
    const devicesBefore = (await chat.fx.app.client.getDevices()).devices.map((d) => d.device_id).sort();
    expect(devicesBefore).toContain(device);

    await chat.fx.app.stop();
    for (const f of ["surfaces.db", "surfaces.db-wal", "surfaces.db-shm"]) rmSync(join(chat.fx.dir, "data", f), { force: true });
    await chat.fx.restart();

    expect(chat.fx.app.client.getDeviceId()).toBe(device);
    expect((await chat.fx.app.client.getDevices()).devices.map((d) => d.device_id).sort()).toEqual(devicesBefore);
    await chat.client.sendText(chat.rooms.chatRoomId, "after the loss");
    await waitForBotMessage(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, chat.fx.bot.userId, (m) => m.body === "echo: after the loss");
  });
});
