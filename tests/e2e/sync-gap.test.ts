/**
 * More messages arrive while the bot is down than one incremental sync
 * carries: the sync comes back "limited", and the bot backfills the gap so
 * every message is answered exactly once, in order.
 */
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
});
