/**
 * Every room command, end to end: a real Synapse, the real bot, two real
 * reference agents, and matrix-js-sdk playing one user who may use both.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RegisteredUser } from "../../src/dev/synapse.js";
import type { ShownMessage } from "../support/room-messages.js";
import { useSynapse } from "../support/synapse-env.js";
import { startUserClient, type UserClient } from "../support/user-client.js";
import { botMessages, eventually, onboard, roomState, startBot, type BotFixture, type Onboarded, sayAndWait } from "../support/bot.js";

describe("commands", () => {
  const synapse = useSynapse();
  let fx: BotFixture;
  let alice: RegisteredUser;
  let aliceClient: UserClient;
  let rooms: Onboarded;

  const shown = (roomId: string): Promise<ShownMessage[]> => botMessages(synapse.baseUrl, alice.accessToken, roomId, fx.bot.userId);
  /** Sends `text` and waits for the first new bot message in the room that matches. */
  const say = (roomId: string, text: string, match?: (m: ShownMessage) => boolean, timeoutMs?: number): Promise<ShownMessage> =>
    sayAndWait({ baseUrl: synapse.baseUrl, token: alice.accessToken, bot: fx.bot.userId, client: aliceClient }, roomId, text, match, timeoutMs);
  const binding = (roomId: string) => roomState(synapse.baseUrl, alice.accessToken, roomId, "org.surfaces.room");
  const room = (roomId: string) => fx.app.store.rooms.get(roomId as never);

  beforeAll(async () => {
    alice = await synapse.newUser("alice");
    fx = await startBot({ agents: [{ id: "alpha" }, { id: "beta" }], users: { [alice.userId]: ["alpha", "beta"] } });
    aliceClient = await startUserClient(synapse.baseUrl, alice);
    rooms = await onboard(aliceClient, alice.accessToken, synapse.baseUrl, fx.bot.userId);
  });
  afterAll(async () => {
    aliceClient?.stop();
    await fx?.stop();
  });

  it("!help lists every command, and an unknown command points to !help", async () => {
    const help = await say(rooms.chatRoomId, "!help");
    for (const cmd of ["!new", "!clear", "!archive", "!yes", "!always", "!rename", "!chats", "!context", "!save", "!load", "!agent", "!stop", "!settings"]) {
      expect(help.body).toContain(cmd);
    }
    expect(help.msgtype).toBe("m.notice");
    const hint = await say(rooms.chatRoomId, "!frobnicate now");
    expect(hint.body).toBe("Unknown command `!frobnicate`. Type `!help` for the list.");
  });

  it("!agent lists the user's agents, picks one for new rooms, and refuses ids the user may not use", async () => {
    const list = await say(rooms.lobbyId, "!agent");
    expect(list.body).toMatch(/✅ \*\*alpha\*\*/u);
    expect(list.body).toMatch(/▫️ \*\*beta\*\*/u);

    const refused = await say(rooms.lobbyId, "!agent gamma");
    expect(refused.body).toContain("**gamma** is not one of your agents");
    expect(fx.app.store.users.get(alice.userId as never)?.selectedAgent).toBe("alpha");

    const picked = await say(rooms.lobbyId, "!agent beta");
    expect(picked.body).toContain("New rooms will use **beta**");
    expect(fx.app.store.users.get(alice.userId as never)?.selectedAgent).toBe("beta");
    expect((await say(rooms.lobbyId, "!agent")).body).toMatch(/✅ \*\*beta\*\*/u);
  });

  let betaRoomId = "";
  it("!new makes a named room in the Space with the selected agent and invites the user (from the lobby too)", async () => {
    const reply = await say(rooms.lobbyId, "!new Research notes");
    expect(reply.body).toContain("New chat [Research notes](https://matrix.to/#/");
    betaRoomId = await eventually("the new room in the store", async () =>
      fx.app.store.rooms.byOwner(alice.userId as never).find((r) => r.name === "Research notes")?.roomId,
    );
    await aliceClient.waitForInvite((r) => r.roomId === betaRoomId);
    await aliceClient.joinRoom(betaRoomId);
    expect(reply.body).toContain(encodeURIComponent(betaRoomId));

    expect(await binding(betaRoomId)).toMatchObject({ owner: alice.userId, kind: "chat", agent_id: "beta", archived: false });
    expect(await roomState(synapse.baseUrl, alice.accessToken, rooms.spaceId, "m.space.child", betaRoomId)).toMatchObject({ via: ["localhost"] });
    expect(room(betaRoomId)).toMatchObject({ agentId: "beta", name: "Research notes", archived: false });
    // The first chat keeps its agent; the new room talks to beta.
    expect(room(rooms.chatRoomId)?.agentId).toBe("alpha");
    await say(betaRoomId, "hi beta", (m) => m.body === "echo: hi beta");
    expect(fx.agents.get("beta")?.stats.messages.map((m) => m.text)).toContain("hi beta");
  });

  it("!rename sets the room name, stripped of control, bidi and zero-width characters and bounded", async () => {
    const reply = await say(betaRoomId, "!rename \u202eEvil\u200b\u0007 name\u2066 " + "x".repeat(100));
    const name = (await roomState(synapse.baseUrl, alice.accessToken, betaRoomId, "m.room.name"))?.["name"] as string;
    expect(name.startsWith("Evil name x")).toBe(true);
    expect([...name]).toHaveLength(64);
    // eslint-disable-next-line no-control-regex -- the control character is what must have been stripped
    expect(name).not.toMatch(/[\u202e\u200b\u0007\u2066]/u);
    expect(room(betaRoomId)?.name).toBe(name);
    expect(reply.body).toContain("Renamed this room to **Evil name x");
    expect((await say(betaRoomId, "!rename   ")).body).toBe("Usage: `!rename <name>`");
  });

  it("!chats lists the active chat rooms with names, marking the current one", async () => {
    const reply = await say(rooms.chatRoomId, "!chats");
    expect(reply.body).toContain("Your chat rooms (2):");
    expect(reply.body).toMatch(/\[Chat 1\]\(https:\/\/matrix\.to\/#\/[^)]+\) — alpha _\(this room\)_/u);
    expect(reply.body).toContain("Evil name x");
  });

  it("!context shows agent and chat id; !save bookmarks; !load switches and refuses another agent's bookmark", async () => {
    const before = room(rooms.chatRoomId);
    const ctx = await say(rooms.chatRoomId, "!context");
    expect(ctx.body).toContain(`This room talks to **alpha**, conversation \`${before?.chatId}\``);
    expect(ctx.body).toContain("No saved contexts yet");

    expect((await say(rooms.chatRoomId, "!save plan A")).body).toContain("Saved this conversation as **plan A**");
    expect((await say(rooms.chatRoomId, "!context")).body).toContain(`**plan A** — alpha, \`${before?.chatId}\``);
    expect((await say(betaRoomId, "!load plan A")).body).toContain("**plan A** belongs to agent **alpha**");
    expect((await say(rooms.chatRoomId, "!load nothing")).body).toContain("No saved context named **nothing**");

    // !clear moves the room on; the bookmark is kept alive (no chat_closed for it)...
    await say(rooms.chatRoomId, "!clear", (m) => m.body?.startsWith("Start this room's conversation afresh?") ?? false);
    await say(rooms.chatRoomId, "!yes", (m) => m.body?.startsWith("Done") ?? false);
    const cleared = room(rooms.chatRoomId);
    expect(cleared?.chatId).not.toBe(before?.chatId);
    expect(fx.agents.get("alpha")?.stats.closedChats.map((c) => c.chat_id)).not.toContain(before?.chatId);

    // ...and !load brings it back, in the cache and in room state.
    const loaded = await say(rooms.chatRoomId, "!load plan A");
    expect(loaded.body).toContain(`Switched this room to **plan A** (conversation \`${before?.chatId}\`)`);
    expect(room(rooms.chatRoomId)?.chatId).toBe(before?.chatId);
    expect((await binding(rooms.chatRoomId))?.["platform_chat_id"]).toBe(before?.chatId);
    // The context !clear made is now held by nothing, so the agent is told it is closed.
    expect(fx.agents.get("alpha")?.stats.closedChats).toContainEqual({ chat_id: cleared?.chatId, reason: "cleared" });
    await say(rooms.chatRoomId, "back again", (m) => m.body === "echo: back again");
    expect(fx.agents.get("alpha")?.stats.messages.at(-1)).toMatchObject({ chat_id: before?.chatId, text: "back again" });
  });

  it("!clear asks first; !no keeps everything; !yes rotates the chat id, rewrites the binding and closes the old chat", async () => {
    const first = room(betaRoomId);
    const prompt = await say(betaRoomId, "!clear", (m) => m.body?.startsWith("Start this room's conversation afresh?") ?? false);
    expect(prompt.body).toContain("`!yes` / `!no`");
    expect(fx.app.store.pending.get(betaRoomId as never)).toMatchObject({ kind: "clear", promptEventId: prompt.eventId });
    expect((await say(betaRoomId, "!no")).body).toBe("Cancelled; nothing changed.");
    expect(room(betaRoomId)?.chatId).toBe(first?.chatId);
    expect((await say(betaRoomId, "!no")).body).toBe("There is no question waiting for an answer here.");

    await say(betaRoomId, "!reset", (m) => m.body?.startsWith("Start this room's conversation afresh?") ?? false);
    const done = await say(betaRoomId, "!yes", (m) => m.body?.startsWith("Done") ?? false);
    const after = room(betaRoomId);
    expect(after?.chatId).not.toBe(first?.chatId);
    expect(done.body).toContain(`\`${after?.chatId}\``);
    expect((await binding(betaRoomId))?.["platform_chat_id"]).toBe(after?.chatId);
    await eventually("chat_closed at the agent", async () =>
      fx.agents.get("beta")?.stats.closedChats.find((c) => c.chat_id === first?.chatId && c.reason === "cleared"),
    );
    await say(betaRoomId, "fresh start", (m) => m.body === "echo: fresh start");
    expect(fx.agents.get("beta")?.stats.messages.at(-1)).toMatchObject({ chat_id: after?.chatId, text: "fresh start" });
  });

  it("!settings shows user, agent, rooms and limits", async () => {
    const reply = await say(rooms.lobbyId, "!settings");
    expect(reply.body).toContain(`user: ${alice.userId}`);
    expect(reply.body).toContain("agent for new rooms: **beta** (of 2)");
    expect(reply.body).toContain("chat rooms: 2 active, 0 archived");
    expect(reply.body).toContain("edited at most every 200 ms");
    expect(reply.body).toContain("given up after 2 minutes");
    expect(reply.body).toContain("questions expire after 5 minutes");
  });

  it("!archive asks first; a ✅ reaction on the prompt takes the room out of the Space and stops forwarding", async () => {
    const chatId = room(betaRoomId)?.chatId;
    const prompt = await say(betaRoomId, "!archive", (m) => m.body?.startsWith("Archive this room?") ?? false);
    const before = (await shown(betaRoomId)).length;
    // Element sends the emoji with a variation selector.
    await aliceClient.client.sendEvent(betaRoomId, "m.reaction" as never, {
      "m.relates_to": { rel_type: "m.annotation", event_id: prompt.eventId, key: "✅\ufe0f" },
    } as never);
    const done = await eventually("the archive notice", async () => (await shown(betaRoomId)).slice(before).find((m) => m.body?.startsWith("Archived") ?? false));
    expect(done.msgtype).toBe("m.notice");
    expect(await roomState(synapse.baseUrl, alice.accessToken, rooms.spaceId, "m.space.child", betaRoomId)).toEqual({});
    expect(await binding(betaRoomId)).toMatchObject({ archived: true, platform_chat_id: chatId });
    expect(room(betaRoomId)?.archived).toBe(true);
    await eventually("chat_closed(archived) at the agent", async () =>
      fx.agents.get("beta")?.stats.closedChats.find((c) => c.chat_id === chatId && c.reason === "archived"),
    );

    const sent = fx.agents.get("beta")?.stats.messages.length;
    const notice = await say(betaRoomId, "still there?");
    expect(notice.body).toContain("This chat is archived");
    expect(fx.agents.get("beta")?.stats.messages.length).toBe(sent);
    expect((await say(betaRoomId, "!clear")).body).toContain("This chat is archived, so `!clear` does nothing here");
    expect((await say(rooms.chatRoomId, "!chats")).body).toContain("Your chat rooms (1):");
  });

  it("room-only commands in the lobby say where they work, and !stop with nothing running says so", async () => {
    expect((await say(rooms.lobbyId, "!clear")).body).toBe("`!clear` works in one of your chat rooms, not here.");
    expect((await say(rooms.lobbyId, "!context")).body).toBe("`!context` works in one of your chat rooms, not here.");
    expect((await say(rooms.chatRoomId, "!stop")).body).toBe("Nothing is running here.");
  });
});
