/**
 * The homeserver itself fails: a private Synapse is killed and started again
 * while the bot runs. The bot reconnects by itself, and every message sent
 * around the outage is answered exactly once, in order.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chunkText } from "../../src/reference-agent/directives.js";
import type { RegisteredUser } from "../../src/dev/synapse.js";
import { sendTextAsUser } from "../support/room-messages.js";
import { useSynapse } from "../support/synapse-env.js";
import { startSynapse, type SynapseHandle } from "../support/synapse.js";
import { startUserClient, type UserClient } from "../support/user-client.js";
import { botMessages, eventually, onboard, startBot, type BotFixture, type Onboarded } from "../support/bot.js";

describe("the homeserver fails: restarted, then rate-limiting hard", () => {
  let synapse: SynapseHandle;
  let fx: BotFixture;
  let alice: RegisteredUser;
  let aliceClient: UserClient;
  let rooms: Onboarded;

  const echoes = async (): Promise<string[]> =>
    (await botMessages(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId))
      .map((m) => m.body ?? "")
      .filter((b) => b.startsWith("echo: "));

  beforeAll(async () => {
    // The run's limits mode (SURFACES_E2E_DEFAULT_LIMITS) holds for this private server too.
    synapse = await startSynapse({ defaultRateLimits: useSynapse().defaultRateLimits });
    const newUser = (prefix = "user") => synapse.registerUser(`${prefix}-${randomBytes(4).toString("hex")}`);
    alice = await newUser("alice");
    fx = await startBot({
      synapse: { baseUrl: synapse.baseUrl, newUser, overrideRateLimit: (u, l) => synapse.overrideRateLimit(u, l) },
      agents: [{ id: "helper" }],
      users: { [alice.userId]: "helper" },
    });
    aliceClient = await startUserClient(synapse.baseUrl, alice);
    rooms = await onboard(aliceClient, alice.accessToken, synapse.baseUrl, fx.bot.userId);
    aliceClient.stop(); // raw sends from here on: the test's own client is not under test
  }, 120_000);
  afterAll(async () => {
    await fx?.stop();
    await synapse?.dispose();
  });

  it("reconnects and answers every message sent around a crash of the homeserver, once each, in order", async () => {
    const send = async (text: string): Promise<void> => {
      expect((await sendTextAsUser(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, text)).status).toBe(200);
    };
    await send("before");
    await eventually("the first answer", async () => ((await echoes()).includes("echo: before") ? true : undefined));

    await send("/slow 10 100"); // an answer streaming while the homeserver dies
    await send("just before the crash");
    await synapse.kill();
    await new Promise((r) => setTimeout(r, 2000)); // the bot's sync and sends fail meanwhile
    await synapse.restart();
    await send("after the restart 1");
    await send("after the restart 2");

    const expected = ["echo: before", "echo: just before the crash", "echo: after the restart 1", "echo: after the restart 2"];
    await eventually("every answer", async () => ((await echoes()).length >= expected.length ? true : undefined), 90_000);
    await new Promise((r) => setTimeout(r, 1500)); // a duplicate would have arrived by now
    expect(await echoes()).toEqual(expected);
    // The answer that was streaming when the homeserver died still ends whole.
    const all = (await botMessages(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId)).map((m) => m.body);
    expect(all.filter((b) => b === chunkText(10))).toHaveLength(1);
    expect(fx.app.isReady()).toBe(true);
  }, 150_000);

  it("under a hard rate limit (1 message/s, burst 1) answers still arrive whole and once, late but with no error", async () => {
    await synapse.overrideRateLimit(fx.bot.userId, { messagesPerSecond: 1, burstCount: 1 });
    const texts = ["/slow 30 30", "limited 1", "limited 2"];
    for (const text of texts) expect((await sendTextAsUser(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, text)).status).toBe(200);
    const shown = async () => (await botMessages(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId)).map((m) => m.body ?? "");
    await eventually("the limited answers", async () => ((await shown()).includes("echo: limited 2") ? true : undefined), 90_000);
    await eventually("the streamed answer, exact", async () => ((await shown()).includes(chunkText(30)) ? true : undefined), 30_000);
    await new Promise((r) => setTimeout(r, 2000));
    const all = await shown();
    expect(all.filter((b) => b === chunkText(30))).toHaveLength(1);
    expect(all.filter((b) => b === "echo: limited 1")).toHaveLength(1);
    expect(all.filter((b) => b === "echo: limited 2")).toHaveLength(1);
    expect(all.filter((b) => b.startsWith("⚠️"))).toEqual([]);
    const limited = (await fx.app.metrics.rateLimited.get()).values[0]?.value ?? 0;
    expect(limited).toBeGreaterThan(0); // the homeserver really did push back
  }, 150_000);
});
