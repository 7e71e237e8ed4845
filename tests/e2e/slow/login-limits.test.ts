/**
 * A bot that has lost its database logs in again with its password while
 * Synapse's default login limit (rc_login: 5 per address, then one per
 * ~333 s) is already spent: it waits as long as the homeserver says, with a
 * log line per wait, instead of dying, then comes up and answers.
 */
import { randomBytes } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSynapse, type SynapseHandle } from "../../support/synapse.js";
import { startUserClient, type UserClient } from "../../support/user-client.js";
import { onboard, sayAndWait, startBot, type BotFixture } from "../../support/bot.js";

async function loginStatus(baseUrl: string, userId: string, password: string): Promise<number> {
  const res = await fetch(new URL("/_matrix/client/v3/login", baseUrl), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user: userId }, password }),
  });
  return res.status;
}

describe("login under Synapse's default login limits", () => {
  let synapse: SynapseHandle;
  let fx: BotFixture | undefined;
  let client: UserClient | undefined;

  beforeAll(async () => {
    synapse = await startSynapse({ defaultRateLimits: true });
  }, 120_000);
  afterAll(async () => {
    client?.stop();
    await fx?.stop();
    await synapse?.dispose();
  });

  it("waits out a 429 on /login (one log line per wait), then comes up and answers", async () => {
    const newUser = (prefix = "user") => synapse.registerUser(`${prefix}-${randomBytes(4).toString("hex")}`);
    const alice = await newUser("alice");
    // Spend the per-address login budget (everything here comes from 127.0.0.1).
    const statuses: number[] = [];
    while (!statuses.includes(429) && statuses.length < 20) statuses.push(await loginStatus(synapse.baseUrl, alice.userId, alice.password));
    expect(statuses.at(-1)).toBe(429);

    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    fx = await startBot({
      synapse: { baseUrl: synapse.baseUrl, newUser, overrideRateLimit: (u, l) => synapse.overrideRateLimit(u, l) },
      passwordLogin: true,
      agents: [{ id: "patient" }],
      users: { [alice.userId]: "patient" },
      logger,
    });
    const waits = lines.filter((l) => String(l["msg"]).includes("rate-limited by the homeserver"));
    expect(waits.length).toBeGreaterThanOrEqual(1);
    expect(waits[0]?.["wait_ms"]).toBeGreaterThan(1000); // the homeserver's own retry_after_ms, not a guess
    expect(lines.some((l) => l["level"] === 60)).toBe(false);
    expect(lines.some((l) => l["msg"] === "logged in with password")).toBe(true);

    client = await startUserClient(synapse.baseUrl, alice);
    const rooms = await onboard(client, alice.accessToken, synapse.baseUrl, fx.bot.userId);
    const answer = await sayAndWait({ baseUrl: synapse.baseUrl, token: alice.accessToken, bot: fx.bot.userId, client }, rooms.chatRoomId, "still there?", (m) => m.body === "echo: still there?");
    expect(answer.msgtype).toBe("m.text");
  }, 600_000);
});
