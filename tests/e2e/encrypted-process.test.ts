/**
 * The bot as a real process in an encrypted room, SIGKILLed mid-answer: the
 * next process is the same device with the same keys (read back from the
 * data directory, nothing flushed at exit), decrypts the next message and
 * answers it; the cut answer ends with one encrypted notice. The room's
 * encryption settings reach the crypto only after the bot is ready.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MatrixEvent } from "matrix-js-sdk";
import { startChat, type ChatFixture } from "../support/bot.js";
import { spawnBot, type BotProcess } from "../support/bot-process.js";

const INTERRUPTED = "restarted while answering";

describe("an encrypted room, the bot process killed mid-answer", () => {
  let chat: ChatFixture;
  let bot: BotProcess | undefined;

  const botSays = (match: (text: string) => boolean, timeoutMs = 60_000): Promise<MatrixEvent> =>
    chat.client.waitForMessage(chat.rooms.chatRoomId, (e, text) => e.getSender() === chat.fx.bot.userId && text !== undefined && match(text), timeoutMs);

  /** The bot's devices and their identity keys as the user's client sees them on the server. */
  const botDevices = async (): Promise<Record<string, string | undefined>> => {
    const info = await chat.client.client.getCrypto()!.getUserDeviceInfo([chat.fx.bot.userId], true);
    return Object.fromEntries([...(info.get(chat.fx.bot.userId)?.entries() ?? [])].map(([id, d]) => [id, d.getIdentityKey()]));
  };

  async function boot(): Promise<BotProcess> {
    bot = spawnBot(chat.fx.env);
    await bot.ready;
    return bot;
  }

  beforeAll(async () => {
    chat = await startChat({ agents: [{ id: "helper" }], encrypted: true });
    await chat.fx.app.stop(); // from here on the bot runs as a child process on the same data dir
  }, 60_000);
  afterAll(async () => {
    if (bot && bot.child.exitCode === null && bot.child.signalCode === null) {
      bot.kill("SIGKILL");
      await bot.exited;
    }
    await chat?.stop();
  });

  it("SIGKILL: same device and keys after the restart, the cut answer ends with one notice, the next message is read", async () => {
    const devicesBefore = await botDevices();
    expect(Object.keys(devicesBefore)).toHaveLength(1);
    await boot();
    await chat.client.sendText(chat.rooms.chatRoomId, "/slow 100 50");
    await botSays((t) => t.includes("chunk 5 "));
    bot!.kill("SIGKILL");
    expect((await bot!.exited).signal).toBe("SIGKILL");

    await boot();
    const notice = await botSays((t) => t.includes(INTERRUPTED));
    expect(notice.getContent()["msgtype"]).toBe("m.notice");
    expect(notice.isEncrypted()).toBe(true);
    await chat.client.sendText(chat.rooms.chatRoomId, "after the crash");
    const answer = await botSays((t) => t === "echo: after the crash");
    expect(answer.isEncrypted()).toBe(true);
    // The room's encryption settings from the cached sync reached the crypto after readiness (deferred-room-settings.ts).
    const readyAt = bot!.output.findIndex((l) => l.includes('"msg":"ready"'));
    const handedAt = bot!.output.findIndex((l) => l.includes("encrypted rooms' settings handed to the crypto"));
    expect(readyAt).toBeGreaterThanOrEqual(0);
    expect(handedAt).toBeGreaterThan(readyAt);
    expect(await botDevices()).toEqual(devicesBefore);
    const notices = chat.client.messages(chat.rooms.chatRoomId).filter((e) => String(e.getContent()["body"]).includes(INTERRUPTED));
    expect(notices).toHaveLength(1);
  }, 120_000);
});
