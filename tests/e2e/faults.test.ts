/**
 * Faults on the agent side, end to end (real Synapse, the real bot, real
 * reference agents): an agent dying mid-answer, an agent down when a message
 * arrives, an agent hanging, and agent token authentication. Nothing the user
 * sent is lost or answered twice; every failure is one notice.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReferenceAgent, type ReferenceAgent } from "../../src/reference-agent/server.js";
import type { RegisteredUser } from "../../src/dev/synapse.js";
import type { ShownMessage } from "../support/room-messages.js";
import { useSynapse } from "../support/synapse-env.js";
import { startUserClient, type UserClient } from "../support/user-client.js";
import { botMessages, eventually, onboard, startBot, testLogger, type BotFixture, type Onboarded, sayAndWait } from "../support/bot.js";

const RIGHT_TOKEN = "faults-right-token-5e1f";
const WRONG_TOKEN = "faults-wrong-token-9a7c";

describe("agent faults", () => {
  const synapse = useSynapse();
  let fx: BotFixture;
  let alice: RegisteredUser;
  let aliceClient: UserClient;
  let rooms: Onboarded;
  let locked: ReferenceAgent;
  const logLines: string[] = [];
  const room: Record<"twin" | "other" | "locked", string> = { twin: "", other: "", locked: "" };

  const shown = (roomId: string): Promise<ShownMessage[]> => botMessages(synapse.baseUrl, alice.accessToken, roomId, fx.bot.userId);
  const bodies = async (roomId: string): Promise<string[]> => (await shown(roomId)).map((m) => m.body ?? "");
  /** Sends `text`, waits for a new bot message matching `match`. */
  const say = (roomId: string, text: string, match?: (m: ShownMessage) => boolean, timeoutMs?: number): Promise<ShownMessage> =>
    sayAndWait({ baseUrl: synapse.baseUrl, token: alice.accessToken, bot: fx.bot.userId, client: aliceClient }, roomId, text, match, timeoutMs);
  async function newRoom(agentId: string, name: string): Promise<string> {
    await say(rooms.lobbyId, `!agent ${agentId}`, (m) => (m.body ?? "").includes("New rooms will use"));
    await say(rooms.lobbyId, `!new ${name}`, (m) => (m.body ?? "").includes("New chat"));
    const roomId = await eventually("the new room", async () =>
      fx.app.store.rooms.byOwner(alice.userId as never).find((r) => r.name === name)?.roomId,
    );
    await aliceClient.waitForInvite((r) => r.roomId === roomId);
    await aliceClient.joinRoom(roomId);
    return roomId;
  }
  /** The registry with `locked` behind a token read from `tokenEnv`. */
  function writeRegistry(tokenEnv: string): void {
    const ws = (id: string) => join(fx.dir, "agents", id);
    const lines = [
      "agents:",
      `  helper: { base_url: "${fx.agents.get("helper")!.url}", workspace_path: "${ws("helper")}" }`,
      `  other: { base_url: "${fx.agents.get("other")!.url}", workspace_path: "${ws("other")}" }`,
      `  locked: { base_url: "${locked.url}", workspace_path: "${ws("locked")}", token_env: ${tokenEnv} }`,
      "user_agents:",
      `  "${alice.userId}": ["helper", "other", "locked"]`,
    ];
    writeFileSync(fx.registryPath, `${lines.join("\n")}\n`);
  }

  beforeAll(async () => {
    process.env["FAULTS_AGENT_TOKEN"] = RIGHT_TOKEN;
    process.env["FAULTS_WRONG_TOKEN"] = WRONG_TOKEN;
    alice = await synapse.newUser("alice");
    locked = await startReferenceAgent({ workspace: mkdtempSync(join(tmpdir(), "surfaces-locked-")), token: RIGHT_TOKEN, logger: testLogger() });
    const logger = pino({ level: "debug" }, { write: (s: string) => void logLines.push(s) });
    fx = await startBot({
      agents: [{ id: "helper" }, { id: "other" }, { id: "locked", baseUrl: locked.url }],
      users: { [alice.userId]: ["helper", "other", "locked"] },
      logger,
      env: { SURFACES_AGENT_WAIT_MS: "60000", SURFACES_AGENT_CONNECT_GRACE_MS: "1000", SURFACES_TURN_IDLE_TIMEOUT_MS: "120000" },
    });
    writeRegistry("FAULTS_AGENT_TOKEN");
    aliceClient = await startUserClient(synapse.baseUrl, alice);
    rooms = await onboard(aliceClient, alice.accessToken, synapse.baseUrl, fx.bot.userId);
    room.twin = await newRoom("helper", "twin");
    room.other = await newRoom("other", "other room");
    room.locked = await newRoom("locked", "locked room");
  }, 120_000);
  afterAll(async () => {
    aliceClient?.stop();
    await fx?.stop();
    await locked?.close();
    delete process.env["FAULTS_AGENT_TOKEN"];
    delete process.env["FAULTS_WRONG_TOKEN"];
  });

  it("an agent dying mid-answer leaves what was streamed and one notice; a message sent while it is down waits and is answered once it is back", async () => {
    const chat = rooms.chatRoomId;
    const notice = await say(chat, "/die", (m) => (m.body ?? "").includes("connection to the agent was lost"));
    expect(notice.msgtype).toBe("m.notice");
    expect(await bodies(chat)).toContain("dying");

    // Now the agent process is gone altogether.
    const helper = fx.agents.get("helper")!;
    await helper.close();
    const waiting = await say(chat, "are you back?", (m) => (m.body ?? "").includes("waits and goes out"));
    expect(waiting.msgtype).toBe("m.notice");
    await aliceClient.sendText(chat, "and in order?");
    await new Promise((r) => setTimeout(r, 1500)); // both wait; nothing is answered yet
    expect((await bodies(chat)).filter((b) => b.startsWith("echo: "))).toEqual([]);

    const back = await startReferenceAgent({ port: helper.port, workspace: join(fx.dir, "agents", "helper"), logger: testLogger() });
    fx.agents.set("helper", back);
    await eventually("both answers", async () => {
      const echoes = (await bodies(chat)).filter((b) => b.startsWith("echo: "));
      return echoes.length >= 2 ? echoes : undefined;
    }, 45_000);
    await new Promise((r) => setTimeout(r, 1000)); // a duplicate would have arrived by now
    const all = await bodies(chat);
    expect(all.filter((b) => b.startsWith("echo: "))).toEqual(["echo: are you back?", "echo: and in order?"]);
    expect(all.filter((b) => b.includes("waits and goes out"))).toHaveLength(1);
    // The reconnect is counted for operators.
    const reconnects = await fx.app.metrics.registry.getSingleMetric("surfaces_agent_reconnects_total")?.get();
    expect(reconnects?.values.find((v) => v.labels["agent"] === "helper")?.value ?? 0).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it("one agent hanging does not hold up another agent's room, nor the same agent's other room", async () => {
    const chat = rooms.chatRoomId;
    await aliceClient.sendText(chat, "/hang");
    await eventually("the hanging turn", async () => (fx.app.dispatcher.turns.activeIn(chat as never) ? true : undefined));
    await say(room.other, "still there, other?", (m) => m.body === "echo: still there, other?");
    await say(room.twin, "still there, twin?", (m) => m.body === "echo: still there, twin?");
    expect(fx.app.dispatcher.turns.activeIn(chat as never)).toBeDefined();
    // The hung turn is stopped by its owner, and the room answers again.
    await aliceClient.sendText(chat, "!stop");
    await say(chat, "after the hang", (m) => m.body === "echo: after the hang");
  }, 60_000);

  it("an agent behind a token answers when the bot has the token; with a wrong token the message waits, and !stop gives up", async () => {
    await say(room.locked, "open sesame", (m) => m.body === "echo: open sesame");
    writeRegistry("FAULTS_WRONG_TOKEN");
    await eventually("the pool to pick up the wrong token", async () =>
      fx.app.agents.status("locked" as never) !== "connected" ? true : undefined,
    );
    const waiting = await say(room.locked, "let me in", (m) => (m.body ?? "").includes("not reachable"));
    expect(waiting.msgtype).toBe("m.notice");
    await say(room.locked, "!stop", (m) => (m.body ?? "").includes("not delivered"));
    expect((await bodies(room.locked)).filter((b) => b === "echo: let me in")).toEqual([]);
    writeRegistry("FAULTS_AGENT_TOKEN");
    await say(room.locked, "right again", (m) => m.body === "echo: right again");
  }, 60_000);

  it("no token reaches a log line or a message", async () => {
    const logs = logLines.join("\n");
    expect(logs.length).toBeGreaterThan(1000);
    expect(logs).not.toContain(RIGHT_TOKEN);
    expect(logs).not.toContain(WRONG_TOKEN);
    expect(logs).not.toContain(fx.bot.accessToken);
    for (const roomId of [rooms.chatRoomId, room.locked, room.other, room.twin, rooms.lobbyId]) {
      const text = (await shown(roomId)).map((m) => JSON.stringify(m.event.content)).join("\n");
      expect(text).not.toContain(RIGHT_TOKEN);
      expect(text).not.toContain(WRONG_TOKEN);
    }
  });
});
