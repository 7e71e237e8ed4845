/**
 * Rooms survive a lost database: the bot rebuilds its cache from the
 * `org.surfaces.room` state events, creates nothing, and the conversation
 * goes on under the same platform_chat_id.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useSynapse } from "../support/synapse-env.js";
import { botMessages, onboard, sayAndWait, startBot, startChat, type BotFixture, type ChatFixture, waitForBotMessage } from "../support/bot.js";
import { e2eEncrypted } from "../support/e2e-mode.js";
import { startUserClient, type UserClient } from "../support/user-client.js";

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

/**
 * A rebuild loads its rooms through sliding sync (sliding-first-sync.ts):
 * its answer stands in for the classic initial /sync, rooms with their state
 * and pending invites alike, and the classic /sync goes on from there.
 */
describe("a lost database, rebuilt through sliding sync", () => {
  const synapse = useSynapse();
  const logLines: string[] = [];
  const logged = (msg: string): Record<string, unknown>[] =>
    logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l["msg"] === msg);
  let fx: BotFixture;
  const clients: UserClient[] = [];

  afterAll(async () => {
    for (const c of clients) c.stop();
    await fx?.stop();
  });

  it("takes the rooms and a pending invite from it; the conversation goes on and the new user is onboarded", async () => {
    const encrypted = e2eEncrypted();
    const alice = await synapse.newUser("alice");
    const bob = await synapse.newUser("bob");
    fx = await startBot({
      agents: [{ id: "keeper" }],
      users: { [alice.userId]: "keeper", [bob.userId]: "keeper" },
      env: { SURFACES_ENCRYPT_ROOMS: String(encrypted) },
      logger: pino({ level: "info" }, { write: (line: string) => void logLines.push(line) }),
    });
    const aliceClient = await startUserClient(synapse.baseUrl, alice, { crypto: encrypted });
    clients.push(aliceClient);
    const rooms = await onboard(aliceClient, alice.accessToken, synapse.baseUrl, fx.bot.userId, { encryptedLobby: encrypted });
    const roomsBefore = sortById(fx.app.store.rooms.all().map((r) => ({ roomId: r.roomId, kind: r.kind, chatId: r.chatId })));
    // The bot's own first start (a fresh data dir) already took this path.
    expect(logged("first sync loaded through sliding sync")).toHaveLength(1);

    await fx.app.stop();
    for (const f of ["surfaces.db", "surfaces.db-wal", "surfaces.db-shm"]) rmSync(join(fx.dir, "data", f), { force: true });
    // While the bot is down, a second user invites it.
    const bobClient = await startUserClient(synapse.baseUrl, bob, { crypto: encrypted });
    clients.push(bobClient);
    const bobLobby = await bobClient.createRoom({ invite: [fx.bot.userId], name: "bob's lobby", initial_state: [] });
    logLines.length = 0;
    await fx.restart();

    const [loaded] = logged("first sync loaded through sliding sync");
    // Alice's lobby, Space and chat room joined; Bob's lobby invited.
    expect(loaded).toMatchObject({ joined: 3, invited: 1, skipped: 0 });
    expect(logged("first sync through the classic initial /sync")).toHaveLength(0);
    expect(sortById(fx.app.store.rooms.all().map((r) => ({ roomId: r.roomId, kind: r.kind, chatId: r.chatId })))).toEqual(roomsBefore);

    const speaker = { baseUrl: synapse.baseUrl, token: alice.accessToken, bot: fx.bot.userId, client: aliceClient };
    expect((await sayAndWait(speaker, rooms.chatRoomId, "after the rebuild", (m) => m.body === "echo: after the rebuild")).body).toBe("echo: after the rebuild");
    // The invite that waited in the sliding answer was taken: Bob gets his Space, his chat room and the greetings.
    const bobSpace = await bobClient.waitForInvite((r) => r.currentState.getStateEvents("m.room.create", "")?.getContent()["type"] === "m.space", 30_000);
    await bobClient.joinRoom(bobSpace);
    const bobChat = await bobClient.waitForInvite((r) => r.roomId !== bobSpace, 30_000);
    await bobClient.joinRoom(bobChat);
    for (const roomId of [bobChat, bobLobby]) await waitForBotMessage(synapse.baseUrl, bob.accessToken, roomId, fx.bot.userId, () => true);
  });

  it("takes the classic initial /sync when told to (SURFACES_INITIAL_SYNC=classic), with the same rooms", async () => {
    const roomsBefore = sortById(fx.app.store.rooms.all().map((r) => ({ roomId: r.roomId, kind: r.kind, chatId: r.chatId })));
    await fx.app.stop();
    for (const f of ["surfaces.db", "surfaces.db-wal", "surfaces.db-shm"]) rmSync(join(fx.dir, "data", f), { force: true });
    logLines.length = 0;
    await fx.restart({ SURFACES_INITIAL_SYNC: "classic" });
    expect(logged("first sync loaded through sliding sync")).toHaveLength(0);
    expect(sortById(fx.app.store.rooms.all().map((r) => ({ roomId: r.roomId, kind: r.kind, chatId: r.chatId })))).toEqual(roomsBefore);
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
