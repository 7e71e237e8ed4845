/**
 * Old room keys from the key backup. The bot's data directory keeps
 * `surfaces.db` (login, sync position) but loses its crypto store; the user
 * writes while the bot is down, with the room key the old device had
 * received and backed up. Restarted with the recovery key and its password,
 * the bot logs in as a new device, opens secret storage, fetches that room
 * key from the backup and answers the message. The user's client never
 * sends that key to the new device (it sends nothing after the restart), so
 * the backup is the only place it can come from. The restarted bot is a
 * real process: the IndexedDB shim of this test process stays on the data
 * directory the first bot opened, which the test deletes.
 */
import { randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { encodeRecoveryKey } from "matrix-js-sdk/lib/crypto-api/recovery-key.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startChat, type ChatFixture } from "../support/bot.js";
import { spawnBot, type BotProcess } from "../support/bot-process.js";
import { useSynapse } from "../support/synapse-env.js";

describe("room keys from the key backup", () => {
  const synapse = useSynapse();
  let chat: ChatFixture;
  let bot: BotProcess | undefined;
  const recoveryKey = encodeRecoveryKey(randomBytes(32))!;
  const room = (): string => chat.rooms.chatRoomId;

  const api = async <T>(token: string, method: string, pathAndQuery: string, body?: unknown): Promise<{ status: number; json: T }> => {
    const res = await fetch(new URL(`/_matrix/client/v3${pathAndQuery}`, synapse.baseUrl), {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as T };
  };

  /** The megolm session a message of the user was encrypted with, as the server holds it. */
  const sessionOf = (eventId: string): string => {
    const ev = chat.client.client.getRoom(room())?.findEventById(eventId);
    const sessionId: unknown = ev?.getWireContent()["session_id"];
    if (ev?.getWireType() !== "m.room.encrypted" || typeof sessionId !== "string") throw new Error(`${eventId} is not an encrypted event the user's client knows`);
    return sessionId;
  };

  const answered = (text: string, timeoutMs = 60_000): Promise<unknown> =>
    chat.client.waitForMessage(room(), (e, body) => e.getSender() === chat.fx.bot.userId && body === `echo: ${text}`, timeoutMs);

  const botDevices = async (): Promise<string[]> => {
    const { json } = await api<{ device_keys?: Record<string, Record<string, unknown>> }>(chat.user.accessToken, "POST", "/keys/query", {
      device_keys: { [chat.fx.bot.userId]: [] },
    });
    return Object.keys(json.device_keys?.[chat.fx.bot.userId] ?? {});
  };

  beforeAll(async () => {
    chat = await startChat({
      agents: [{ id: "helper" }],
      encrypted: true,
      // A password login keeps the token and device in surfaces.db, as in production.
      passwordLogin: true,
      env: { SURFACES_RECOVERY_KEY: recoveryKey, SURFACES_DECRYPT_GRACE_MS: "60000" },
    });
  });
  afterAll(async () => {
    if (bot && bot.child.exitCode === null && bot.child.signalCode === null) {
      bot.kill("SIGTERM");
      await bot.exited;
    }
    await chat?.stop();
  });

  it("a bot that lost its crypto store reads, from the key backup, a message encrypted with a key only its old device had", async () => {
    const crypto = chat.fx.app.client.getCrypto()!;
    const version = await eventually("a key backup in use", async () => (await crypto.getActiveSessionBackupVersion()) ?? undefined);

    const first = await chat.client.sendText(room(), "before the loss");
    await answered("before the loss");
    const session = sessionOf(first);
    // The old device backs the room key up (in the background).
    const botToken = chat.fx.app.client.getAccessToken()!;
    await eventually("the room key in the backup", async () => {
      const { status } = await api(botToken, "GET", `/room_keys/keys/${encodeURIComponent(room())}/${encodeURIComponent(session)}?version=${version}`);
      return status === 200 ? true : undefined;
    });

    const oldDevice = chat.fx.app.client.getDeviceId()!;
    await chat.fx.app.stop();
    const cryptoDir = path.join(chat.fx.dir, "data", "crypto");
    expect(existsSync(cryptoDir)).toBe(true);
    rmSync(cryptoDir, { recursive: true, force: true });

    // Written while the bot is down: for the old device, with the room key it had.
    const away = await chat.client.sendText(room(), "while you were away");
    expect(sessionOf(away)).toBe(session);

    bot = spawnBot(chat.fx.env);
    await bot.ready;
    await answered("while you were away", 90_000);
    const login = bot.output.find((line) => line.includes('"msg":"logged in with password"'));
    const newDevice = login && (JSON.parse(login) as { device_id?: string }).device_id;
    expect(newDevice).toBeDefined();
    expect(newDevice).not.toBe(oldDevice);
    // The old device, whose keys nobody holds any more, is gone from the account.
    const devices = await botDevices();
    expect(devices).not.toContain(oldDevice);
    expect(devices).toContain(newDevice);
  }, 240_000);
});
