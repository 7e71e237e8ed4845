/**
 * The registry changes under a running bot: a valid edit takes effect
 * without a restart (new agents for !agent, a new user may invite), an
 * invalid edit is refused and the last good registry stays, and a room whose
 * agent left the registry tells its owner so.
 */
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RegisteredUser } from "../../src/dev/synapse.js";
import type { ShownMessage } from "../support/room-messages.js";
import { useSynapse } from "../support/synapse-env.js";
import { startUserClient, type UserClient } from "../support/user-client.js";
import { eventually, onboard, startBot, type BotFixture, type Onboarded, sayAndWait } from "../support/bot.js";

describe("registry hot reload", () => {
  const synapse = useSynapse();
  let fx: BotFixture;
  let alice: RegisteredUser;
  let aliceClient: UserClient;
  let rooms: Onboarded;

  const say = (roomId: string, text: string, match?: (m: ShownMessage) => boolean, timeoutMs?: number): Promise<ShownMessage> =>
    sayAndWait({ baseUrl: synapse.baseUrl, token: alice.accessToken, bot: fx.bot.userId, client: aliceClient }, roomId, text, match, timeoutMs);
  const agentsOf = (user: string): string[] => fx.app.registry.current().agentsFor(user as never);

  beforeAll(async () => {
    alice = await synapse.newUser("alice");
    fx = await startBot({ agents: [{ id: "first" }, { id: "second" }], users: { [alice.userId]: "first" } });
    aliceClient = await startUserClient(synapse.baseUrl, alice);
    rooms = await onboard(aliceClient, alice.accessToken, synapse.baseUrl, fx.bot.userId);
  });
  afterAll(async () => {
    aliceClient?.stop();
    await fx?.stop();
  });

  it("a valid edit takes effect at once: more agents for !agent, and a new user may invite", async () => {
    expect((await say(rooms.lobbyId, "!agent")).body).not.toContain("second");
    const bob = await synapse.newUser("bob");
    fx.writeRegistry([{ id: "first" }, { id: "second" }], { [alice.userId]: ["first", "second"], [bob.userId]: "second" });
    await eventually("the reload", async () => (agentsOf(bob.userId).length > 0 ? true : undefined));

    const list = await say(rooms.lobbyId, "!agent");
    expect(list.body).toMatch(/✅ \*\*first\*\*/u);
    expect(list.body).toMatch(/\*\*second\*\* — connected/u);

    const bobClient = await startUserClient(synapse.baseUrl, bob);
    try {
      const bobRooms = await onboard(bobClient, bob.accessToken, synapse.baseUrl, fx.bot.userId);
      expect(fx.app.store.rooms.get(bobRooms.chatRoomId as never)?.agentId).toBe("second");
    } finally {
      bobClient.stop();
    }
  });

  it("an invalid edit is refused: the last good registry stays and the bot keeps answering", async () => {
    const before = agentsOf(alice.userId);
    writeFileSync(fx.registryPath, "agents: [this is: not valid\nuser_agents: 42\n");
    // Give the watcher time to see it (and refuse it).
    await new Promise((r) => setTimeout(r, 1000));
    expect(agentsOf(alice.userId)).toEqual(before);
    await say(rooms.chatRoomId, "still here?", (m) => m.body === "echo: still here?");
    expect((await say(rooms.lobbyId, "!agent")).body).toContain("**second**");
  });

  it("a room whose agent left the registry tells its owner instead of failing silently", async () => {
    fx.writeRegistry([{ id: "second" }], { [alice.userId]: "second" });
    await eventually("the reload", async () => (agentsOf(alice.userId).join() === "second" ? true : undefined));
    const sent = fx.agents.get("first")?.stats.messages.length;
    const notice = await say(rooms.chatRoomId, "hello?");
    expect(notice.msgtype).toBe("m.notice");
    expect(notice.body).toContain("This room's agent **first** is no longer configured");
    expect(fx.agents.get("first")?.stats.messages.length).toBe(sent);
    // New rooms now get the agent the user still has.
    expect((await say(rooms.lobbyId, "!settings")).body).toContain("agent for new rooms: **second** (of 1)");
  });
});
