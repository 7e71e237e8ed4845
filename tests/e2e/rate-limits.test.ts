/**
 * Under a homeserver's real default rate limits (rc_message 0.2/s, burst 10 —
 * a private Synapse started with its defaults, since the admin override only
 * takes whole numbers) answers arrive late but whole, and the user sees no
 * error.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSynapse, type SynapseHandle } from "../support/synapse.js";
import { startUserClient, type UserClient } from "../support/user-client.js";
import { allEvents, eventually, onboard, startBot, type BotFixture, type Onboarded } from "../support/bot.js";
import { shownMessages } from "../support/room-messages.js";
import { chunkText } from "../../src/reference-agent/directives.js";
import type { RegisteredUser } from "../../src/dev/synapse.js";

describe("Synapse's default rate limits", () => {
  let synapse: SynapseHandle;
  let fx: BotFixture;
  let alice: RegisteredUser;
  let aliceClient: UserClient;
  let rooms: Onboarded;

  beforeAll(async () => {
    synapse = await startSynapse({ defaultRateLimits: true });
    const newUser = (prefix = "user") => synapse.registerUser(`${prefix}-${randomBytes(4).toString("hex")}`);
    alice = await newUser("alice");
    fx = await startBot({
      synapse: { baseUrl: synapse.baseUrl, newUser, overrideRateLimit: (u, l) => synapse.overrideRateLimit(u, l) },
      rateLimited: true,
      agents: [{ id: "limited" }],
      users: { [alice.userId]: "limited" },
      env: { SURFACES_EDIT_INTERVAL_MS: "200" },
    });
    aliceClient = await startUserClient(synapse.baseUrl, alice);
    rooms = await onboard(aliceClient, alice.accessToken, synapse.baseUrl, fx.bot.userId);
  }, 120_000);
  afterAll(async () => {
    aliceClient?.stop();
    await fx?.stop();
    await synapse?.dispose();
  });

  it("delivers a 200-chunk answer exactly, with no notice, however often the bot is told to wait", async () => {
    const expected = chunkText(200);
    const sent = await aliceClient.sendText(rooms.chatRoomId, "/slow 200 20");
    const answer = await eventually(
      "the complete answer",
      async () => {
        const events = await allEvents(synapse.baseUrl, alice.accessToken, rooms.chatRoomId);
        const after = events.slice(events.findIndex((e) => e.event_id === sent) + 1);
        return shownMessages(after).find((m) => m.sender === fx.bot.userId && m.body === expected);
      },
      110_000,
    );
    expect(answer.body).toBe(expected);
    const events = await allEvents(synapse.baseUrl, alice.accessToken, rooms.chatRoomId);
    const after = events.slice(events.findIndex((e) => e.event_id === sent) + 1).filter((e) => e.sender === fx.bot.userId);
    expect(after.filter((e) => e.content["msgtype"] === "m.notice")).toHaveLength(0);
    // The limit really bit: the homeserver answered 429 at least once.
    const metric = await fx.app.metrics.registry.getSingleMetric("surfaces_matrix_rate_limited_total")?.get();
    const seen429 = metric?.values.reduce((n, v) => n + v.value, 0) ?? 0;
    expect(seen429).toBeGreaterThan(0);
  }, 120_000);
});
