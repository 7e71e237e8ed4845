/**
 * Cross-signing, secret storage and key backup from an operator recovery
 * key: the bot's device is signed by its own identity, its keys go to
 * secret storage and a key backup; a bot rebuilt from an empty data
 * directory with the same recovery key (and its password) logs in as a new
 * device that is signed by the same identity, and reads the room.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { encodeRecoveryKey } from "matrix-js-sdk/lib/crypto-api/recovery-key.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startChat, type ChatFixture } from "../support/bot.js";
import { useSynapse } from "../support/synapse-env.js";

describe("recovery key", () => {
  const synapse = useSynapse();
  let chat: ChatFixture;
  const recoveryKey = encodeRecoveryKey(randomBytes(32))!;

  /** The bot's master cross-signing key as the homeserver hands it to the user. */
  const masterKey = async (): Promise<string | undefined> => {
    const res = await fetch(new URL("/_matrix/client/v3/keys/query", synapse.baseUrl), {
      method: "POST",
      headers: { Authorization: `Bearer ${chat.user.accessToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ device_keys: { [chat.fx.bot.userId]: [] } }),
    });
    const body = (await res.json()) as { master_keys?: Record<string, { keys: Record<string, string> }> };
    return Object.values(body.master_keys?.[chat.fx.bot.userId]?.keys ?? {})[0];
  };

  const signedByOwner = (deviceId: string): Promise<true> =>
    eventually(`the bot's device ${deviceId} signed by its owner`, async () => {
      const crypto = chat.client.client.getCrypto()!;
      await crypto.getUserDeviceInfo([chat.fx.bot.userId], true);
      return (await crypto.getDeviceVerificationStatus(chat.fx.bot.userId, deviceId))?.signedByOwner ? true : undefined;
    });

  const ask = async (text: string): Promise<void> => {
    await chat.client.sendText(chat.rooms.chatRoomId, text);
    await chat.client.waitForMessage(chat.rooms.chatRoomId, (e, body) => e.getSender() === chat.fx.bot.userId && body === `echo: ${text}`, 60_000);
  };

  beforeAll(async () => {
    chat = await startChat({ agents: [{ id: "helper" }], encrypted: true, env: { SURFACES_RECOVERY_KEY: recoveryKey } });
  });
  afterAll(() => chat?.stop());

  it("sets up cross-signing, secret storage and a key backup with the recovery key", async () => {
    await signedByOwner(chat.fx.app.client.getDeviceId()!);
    const crypto = chat.fx.app.client.getCrypto()!;
    await eventually("a key backup in use", async () => (await crypto.getActiveSessionBackupVersion()) ?? undefined);
    expect(await chat.fx.app.client.secretStorage.hasKey()).toBe(true);
    expect(await crypto.isSecretStorageReady()).toBe(true);
    await ask("before the rebuild");
  });

  it("a bot rebuilt from an empty data directory with the recovery key is a new device under the same identity and reads the room", async () => {
    const oldDevice = chat.fx.app.client.getDeviceId()!;
    const master = await masterKey();
    expect(master).toBeDefined();
    await chat.fx.restart({
      SURFACES_DATA_DIR: path.join(chat.fx.dir, "data-rebuilt"),
      SURFACES_ACCESS_TOKEN: "",
      SURFACES_DEVICE_ID: "",
      SURFACES_PASSWORD: chat.fx.bot.password,
    });
    const newDevice = chat.fx.app.client.getDeviceId()!;
    expect(newDevice).not.toBe(oldDevice);
    await signedByOwner(newDevice);
    expect(await masterKey()).toBe(master);
    await ask("after the rebuild");
  });
});
