/**
 * Key sharing keeps up with the user's devices: after the bot has answered
 * in an encrypted room (its room key already shared), the user signs in on
 * a second device; the bot's next answers — a message and a reaction — are
 * readable there. Whatever the bot caches to send faster, a new device must
 * still get its room key.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startChat, type ChatFixture } from "../support/bot.js";
import { useSynapse } from "../support/synapse-env.js";
import { startUserClient, type UserClient } from "../support/user-client.js";

describe("an encrypted room, the user's new device", () => {
  const synapse = useSynapse();
  let chat: ChatFixture;
  let second: UserClient | undefined;
  const room = (): string => chat.rooms.chatRoomId;
  const bot = (): string => chat.fx.bot.userId;

  beforeAll(async () => {
    chat = await startChat({ agents: [{ id: "alpha" }], encrypted: true });
  });
  afterAll(async () => {
    second?.stop();
    await chat?.stop();
  });

  it("reads the bot's answers sent after it signed in, though the bot's room key was shared before", async () => {
    await chat.client.sendText(room(), "from the first device");
    const before = await chat.client.waitForMessage(room(), (e, body) => e.getSender() === bot() && body === "echo: from the first device", 60_000);
    const sessionBefore: unknown = before.getWireContent()["session_id"];

    const res = await fetch(new URL("/_matrix/client/v3/login", synapse.baseUrl), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user: chat.user.userId }, password: chat.user.password }),
    });
    const login = (await res.json()) as { access_token: string; device_id: string };
    second = await startUserClient(synapse.baseUrl, { userId: chat.user.userId, accessToken: login.access_token, deviceId: login.device_id }, { crypto: true });
    const newDevice = login.device_id;
    // The new device's keys are on the server before the first device writes again.
    await eventually("the second device's keys published", async () => {
      const info = await chat.client.client.getCrypto()!.getUserDeviceInfo([chat.user.userId], true);
      return info.get(chat.user.userId)?.has(newDevice) ? true : undefined;
    });

    await chat.client.sendText(room(), "/slow 25 200");
    const queued = await chat.client.sendText(room(), "after the new device");
    // The ⏳ while the queued message waits (it is redacted once its turn starts).
    const mark = await eventually("the bot's ⏳ decrypted on the second device", async () =>
      second!.client
        .getRoom(room())
        ?.getLiveTimeline()
        .getEvents()
        .find((e) => e.getSender() === bot() && e.getType() === "m.reaction" && e.getRelation()?.event_id === queued),
    );
    expect(mark.isDecryptionFailure()).toBe(false);
    expect(mark.getRelation()?.key).toBe("⏳");
    const answer = await second.waitForMessage(room(), (e, body) => e.getSender() === bot() && body === "echo: after the new device", 90_000);
    expect(answer.isEncrypted()).toBe(true);
    expect(answer.isDecryptionFailure()).toBe(false);
    // The bot's session from before (a new device needs no new one): its key went to the new device.
    expect(answer.getWireContent()["session_id"]).toBe(sessionBefore);
  });
});
