/**
 * More messages arrive while the bot is down than one incremental sync
 * carries: the sync comes back "limited", and the bot backfills the gap so
 * every message is answered exactly once, in order.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendTextAsUser } from "../support/room-messages.js";
import { useSynapse } from "../support/synapse-env.js";
import { botMessages, eventually, startChat, type ChatFixture } from "../support/bot.js";

describe("a sync gap after downtime", () => {
  const synapse = useSynapse();
  let chat: ChatFixture;

  beforeAll(async () => {
    chat = await startChat({ agents: [{ id: "gap" }], startOptions: { syncTimelineLimit: 4 } });
    await chat.client.sendText(chat.rooms.chatRoomId, "before");
    await eventually("the first answer", async () =>
      (await botMessages(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, chat.fx.bot.userId)).find((m) => m.body === "echo: before"),
    );
  });
  afterAll(() => chat?.stop());

  it("backfills the messages the limited sync skipped and answers all of them once, in order", async () => {
    await chat.fx.app.stop();
    const texts = Array.from({ length: 15 }, (_, i) => `missed ${i + 1}`);
    for (const text of texts) expect((await sendTextAsUser(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, text)).status).toBe(200);
    await chat.fx.restart();
    const answered = async () =>
      (await botMessages(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, chat.fx.bot.userId))
        .map((m) => m.body ?? "")
        .filter((b) => b.startsWith("echo: missed") || b === "echo: before");
    await eventually("fifteen answers", async () => ((await answered()).length >= 16 ? true : undefined), 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await answered()).toEqual(["echo: before", ...texts.map((t) => `echo: ${t}`)]);
  }, 240_000); // under Synapse's default limits the user's burst waits out rc_message: ~5 s a message after ten

  it("after a rebuild through sliding sync, backfills a later gap only down to the rebuild: what was said before it stays history", async () => {
    const said = async (): Promise<string[]> => (await botMessages(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, chat.fx.bot.userId)).map((m) => m.body ?? "");
    // Said while the bot is down, then its database is lost: history, never answered.
    await chat.fx.app.stop();
    for (const text of ["old 1", "old 2"]) expect((await sendTextAsUser(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, text)).status).toBe(200);
    for (const f of ["surfaces.db", "surfaces.db-wal", "surfaces.db-shm"]) rmSync(join(chat.fx.dir, "data", f), { force: true });
    await chat.fx.restart();
    // Down again (with its sync position now); more than one sync carries: a gap whose backfill pages back.
    await chat.fx.app.stop();
    const texts = Array.from({ length: 8 }, (_, i) => `later ${i + 1}`);
    for (const text of texts) expect((await sendTextAsUser(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, text)).status).toBe(200);
    await chat.fx.restart();
    await eventually("eight answers", async () => ((await said()).filter((b) => b.startsWith("echo: later")).length >= 8 ? true : undefined), 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await said()).filter((b) => b.startsWith("echo: later"))).toEqual(texts.map((t) => `echo: ${t}`));
    expect((await said()).filter((b) => b.startsWith("echo: old"))).toEqual([]);
  }, 240_000);
});
