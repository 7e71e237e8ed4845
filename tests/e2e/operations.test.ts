/**
 * Operator-facing behaviour: password login that keeps its device across
 * restarts, targeted recovery of a room the cache lost, and `surfaces reset`
 * in both modes, dry-run and for real.
 */
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runReset } from "../../src/cli/reset.js";
import { useSynapse } from "../support/synapse-env.js";
import { eventually, roomState, startChat, type ChatFixture, waitForBotMessage } from "../support/bot.js";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe("operations", () => {
  const synapse = useSynapse();
  let chat: ChatFixture;

  beforeAll(async () => {
    chat = await startChat({ agents: [{ id: "ops" }] });
  });
  afterAll(() => chat?.stop());

  it("logs in with a password once and reuses the same device after a restart", async () => {
    const env = { SURFACES_ACCESS_TOKEN: "", SURFACES_DEVICE_ID: "", SURFACES_PASSWORD: chat.fx.bot.password };
    await chat.fx.restart(env);
    const device = chat.fx.app.client.getDeviceId();
    const token = chat.fx.app.client.getAccessToken();
    expect(token).not.toBe(chat.fx.bot.accessToken); // a password login happened…
    expect(device).toBe(chat.fx.bot.deviceId); // …on the device the bot already had (transaction ids stay valid)
    await chat.fx.restart(env);
    expect(chat.fx.app.client.getDeviceId()).toBe(device);
    expect(chat.fx.app.client.getAccessToken()).toBe(token); // the kept token is reused, no new login
    await chat.client.sendText(chat.rooms.chatRoomId, "after password login");
    await waitForBotMessage(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, chat.fx.bot.userId, (m) => m.body === "echo: after password login");
  });

  it("recovers a room the cache forgot from its state event when a message arrives", async () => {
    chat.fx.app.store.transaction(() => chat.fx.app.store.rooms.clear());
    await chat.client.sendText(chat.rooms.chatRoomId, "do you know me?");
    await waitForBotMessage(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, chat.fx.bot.userId, (m) => m.body === "echo: do you know me?");
    expect(chat.fx.app.store.rooms.get(chat.rooms.chatRoomId as never)?.kind).toBe("chat");
  });

  it("answers a plain message in a room that is not a Surfaces room with a pointer to the Space", async () => {
    await chat.client.sendText(chat.rooms.lobbyId, "hello lobby");
    const notice = await waitForBotMessage(synapse.baseUrl, chat.user.accessToken, chat.rooms.lobbyId, chat.fx.bot.userId, (m) =>
      (m.body ?? "").includes("Your chats live in your Space"),
    );
    expect(notice.msgtype).toBe("m.notice");
  });

  it("reset --mode local-only: dry-run changes nothing; the real run empties the cache, rebuilt at the next start", async () => {
    await chat.fx.app.stop();
    const dry = new Capture();
    expect(await runReset(["--mode", "local-only", "--dry-run"], chat.fx.env, dry as never)).toBe(0);
    expect(dry.text).toContain("[dry-run] would empty the local state");
    const real = new Capture();
    expect(await runReset(["--mode=local-only"], chat.fx.env, real as never)).toBe(0);
    expect(real.text).toMatch(/^empty the local state/m);
    expect(real.text).toContain("Users need do nothing");
    await chat.fx.restart();
    expect(chat.fx.app.store.rooms.get(chat.rooms.chatRoomId as never)?.kind).toBe("chat");
    expect(chat.fx.app.store.rooms.get(chat.rooms.spaceId as never)?.kind).toBe("space");
  });

  it("reset --mode server-leave-forget: dry-run lists the rooms; the real run leaves them and says what users must do", async () => {
    await chat.fx.app.stop();
    const joined = await (async () => {
      const res = await fetch(new URL("/_matrix/client/v3/joined_rooms", synapse.baseUrl), {
        headers: { Authorization: `Bearer ${chat.fx.bot.accessToken}` },
      });
      return ((await res.json()) as { joined_rooms: string[] }).joined_rooms;
    })();
    const dry = new Capture();
    expect(await runReset(["--mode", "server-leave-forget", "--dry-run"], chat.fx.env, dry as never)).toBe(0);
    for (const roomId of joined) expect(dry.text).toContain(`[dry-run] would leave and forget ${roomId}`);
    // Nothing happened in the dry run.
    expect((await roomState(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, "m.room.member", chat.fx.bot.userId))?.["membership"]).toBe("join");

    const real = new Capture();
    expect(await runReset(["--mode", "server-leave-forget"], chat.fx.env, real as never)).toBe(0);
    expect(real.text).toContain(`${joined.length} room(s) were left and forgotten`);
    expect(real.text).toContain("invite the bot again");
    await eventually("the bot to have left", async () => {
      const m = await roomState(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, "m.room.member", chat.fx.bot.userId);
      return m?.["membership"] === "leave" ? true : undefined;
    });
    await chat.fx.restart();
    expect(chat.fx.app.store.rooms.count()).toBe(0);
  });
});
