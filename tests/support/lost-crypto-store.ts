/**
 * The "lost crypto store" scenario of the key-backup e2e files. A bot with
 * a recovery key answers an encrypted message (its device gets the user's
 * room key and backs it up); it stops and loses `crypto/` but keeps
 * `surfaces.db`; the user writes while it is down, with that same room key.
 * The bot then comes back as a real process (this test process's
 * IndexedDB shim stays on the deleted directory) with the given env.
 */
import { randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { encodeRecoveryKey } from "matrix-js-sdk/lib/crypto-api/recovery-key.js";
import { eventually, startChat, type ChatFixture } from "./bot.js";
import { spawnBot, type BotProcess } from "./bot-process.js";

export interface LostStore {
  chat: ChatFixture;
  /** The restarted bot process. */
  bot: BotProcess;
  /** The device that lost its store. */
  oldDevice: string;
  /** The megolm session of the message written while the bot was down (the same as before). */
  session: string;
  /** The bot's answer to `text`, as the user's client decrypts it. */
  answered(text: string, timeoutMs?: number): Promise<unknown>;
  /** The bot's device ids on the homeserver. */
  botDevices(): Promise<string[]>;
  stop(): Promise<void>;
}

export const AWAY_TEXT = "while you were away";

async function api<T>(baseUrl: string, token: string, method: string, pathAndQuery: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(new URL(`/_matrix/client/v3${pathAndQuery}`, baseUrl), {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as T };
}

/** Plays the scenario up to the restarted bot's "ready"; `restartEnv` changes the restarted bot's env. */
export async function loseCryptoStore(baseUrl: string, restartEnv: NodeJS.ProcessEnv): Promise<LostStore> {
  const recoveryKey = encodeRecoveryKey(randomBytes(32))!;
  const chat = await startChat({
    agents: [{ id: "helper" }],
    encrypted: true,
    // A password login keeps the token and device in surfaces.db, as in production.
    passwordLogin: true,
    env: { SURFACES_RECOVERY_KEY: recoveryKey, SURFACES_DECRYPT_GRACE_MS: "60000" },
  });
  const room = chat.rooms.chatRoomId;
  const sessionOf = (eventId: string): string => {
    const ev = chat.client.client.getRoom(room)?.findEventById(eventId);
    const sessionId: unknown = ev?.getWireContent()["session_id"];
    if (ev?.getWireType() !== "m.room.encrypted" || typeof sessionId !== "string") throw new Error(`${eventId} is not an encrypted event the user's client knows`);
    return sessionId;
  };
  const answered = (text: string, timeoutMs = 60_000): Promise<unknown> =>
    chat.client.waitForMessage(room, (e, body) => e.getSender() === chat.fx.bot.userId && body === `echo: ${text}`, timeoutMs);

  const crypto = chat.fx.app.client.getCrypto()!;
  const version = await eventually("a key backup in use", async () => (await crypto.getActiveSessionBackupVersion()) ?? undefined);
  const first = await chat.client.sendText(room, "before the loss");
  await answered("before the loss");
  const session = sessionOf(first);
  // The old device backs the room key up (in the background).
  const botToken = chat.fx.app.client.getAccessToken()!;
  await eventually("the room key in the backup", async () => {
    const { status } = await api(baseUrl, botToken, "GET", `/room_keys/keys/${encodeURIComponent(room)}/${encodeURIComponent(session)}?version=${version}`);
    return status === 200 ? true : undefined;
  });

  const oldDevice = chat.fx.app.client.getDeviceId()!;
  await chat.fx.app.stop();
  const cryptoDir = path.join(chat.fx.dir, "data", "crypto");
  if (!existsSync(cryptoDir)) throw new Error(`no crypto store at ${cryptoDir}`);
  rmSync(cryptoDir, { recursive: true, force: true });

  // Written while the bot is down: for the old device, with the room key it had.
  const away = await chat.client.sendText(room, AWAY_TEXT);
  if (sessionOf(away) !== session) throw new Error("the user's client started a new megolm session; the scenario needs the old one");

  const bot = spawnBot({ ...chat.fx.env, ...restartEnv });
  await bot.ready;
  return {
    chat,
    bot,
    oldDevice,
    session,
    answered,
    botDevices: async () => {
      const { json } = await api<{ device_keys?: Record<string, Record<string, unknown>> }>(baseUrl, chat.user.accessToken, "POST", "/keys/query", {
        device_keys: { [chat.fx.bot.userId]: [] },
      });
      return Object.keys(json.device_keys?.[chat.fx.bot.userId] ?? {});
    },
    async stop() {
      if (bot.child.exitCode === null && bot.child.signalCode === null) {
        bot.kill("SIGTERM");
        await bot.exited;
      }
      await chat.stop();
    },
  };
}
