/**
 * Operator-facing behaviour: password login that keeps its device across
 * restarts, targeted recovery of a room the cache lost, and `surfaces reset`
 * in both modes, dry-run and for real.
 */
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runReset } from "../../src/cli/reset.js";
import type { RegisteredUser } from "../../src/dev/synapse.js";
import { useSynapse } from "../support/synapse-env.js";
import type { UserClient } from "../support/user-client.js";
import { eventually, roomState, startChat, type ChatFixture, waitForBotMessage, type BotFixture, type Onboarded } from "../support/bot.js";

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
  let fx: BotFixture;
  let alice: RegisteredUser;
  let aliceClient: UserClient;
  let rooms: Onboarded;

  beforeAll(async () => {
    chat = await startChat({ agents: [{ id: "ops" }] });
    ({ fx, user: alice, client: aliceClient, rooms } = chat);
  });
  afterAll(() => chat?.stop());

  it("logs in with a password once and reuses the same device after a restart", async () => {
    const env = { SURFACES_ACCESS_TOKEN: "", SURFACES_DEVICE_ID: "", SURFACES_PASSWORD: fx.bot.password };
    await fx.restart(env);
    const device = fx.app.client.getDeviceId();
    const token = fx.app.client.getAccessToken();
    expect(token).not.toBe(fx.bot.accessToken); // a password login happened…
    expect(device).toBe(fx.bot.deviceId); // …on the device the bot already had (transaction ids stay valid)
    await fx.restart(env);
    expect(fx.app.client.getDeviceId()).toBe(device);
    expect(fx.app.client.getAccessToken()).toBe(token); // the kept token is reused, no new login
    await aliceClient.sendText(rooms.chatRoomId, "after password login");
    await waitForBotMessage(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId, (m) => m.body === "echo: after password login");
  });

  it("recovers a room the cache forgot from its state event when a message arrives", async () => {
    fx.app.store.transaction(() => fx.app.store.rooms.clear());
    await aliceClient.sendText(rooms.chatRoomId, "do you know me?");
    await waitForBotMessage(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId, (m) => m.body === "echo: do you know me?");
    expect(fx.app.store.rooms.get(rooms.chatRoomId as never)?.kind).toBe("chat");
  });

  it("answers a plain message in a room that is not a Surfaces room with a pointer to the Space", async () => {
    await aliceClient.sendText(rooms.lobbyId, "hello lobby");
    const notice = await waitForBotMessage(synapse.baseUrl, alice.accessToken, rooms.lobbyId, fx.bot.userId, (m) =>
      (m.body ?? "").includes("Your chats live in your Space"),
    );
    expect(notice.msgtype).toBe("m.notice");
  });

  it("reset --mode local-only: dry-run changes nothing; the real run empties the cache, rebuilt at the next start", async () => {
    await fx.app.stop();
    const dry = new Capture();
    expect(await runReset(["--mode", "local-only", "--dry-run"], fx.env, dry as never)).toBe(0);
    expect(dry.text).toContain("[dry-run] would empty the local state");
    const real = new Capture();
    expect(await runReset(["--mode=local-only"], fx.env, real as never)).toBe(0);
    expect(real.text).toMatch(/^empty the local state/m);
    expect(real.text).toContain("Users need do nothing");
    await fx.restart();
    expect(fx.app.store.rooms.get(rooms.chatRoomId as never)?.kind).toBe("chat");
    expect(fx.app.store.rooms.get(rooms.spaceId as never)?.kind).toBe("space");
  });

  it("reset --mode server-leave-forget: dry-run lists the rooms; the real run leaves them and says what users must do", async () => {
    await fx.app.stop();
    const joined = await (async () => {
      const res = await fetch(new URL("/_matrix/client/v3/joined_rooms", synapse.baseUrl), {
        headers: { Authorization: `Bearer ${fx.bot.accessToken}` },
      });
      return ((await res.json()) as { joined_rooms: string[] }).joined_rooms;
    })();
    const dry = new Capture();
    expect(await runReset(["--mode", "server-leave-forget", "--dry-run"], fx.env, dry as never)).toBe(0);
    for (const roomId of joined) expect(dry.text).toContain(`[dry-run] would leave and forget ${roomId}`);
    // Nothing happened in the dry run.
    expect((await roomState(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, "m.room.member", fx.bot.userId))?.["membership"]).toBe("join");

    const real = new Capture();
    expect(await runReset(["--mode", "server-leave-forget"], fx.env, real as never)).toBe(0);
    expect(real.text).toContain(`${joined.length} room(s) were left and forgotten`);
    expect(real.text).toContain("invite the bot again");
    await eventually("the bot to have left", async () => {
      const m = await roomState(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, "m.room.member", fx.bot.userId);
      return m?.["membership"] === "leave" ? true : undefined;
    });
    await fx.restart();
    expect(fx.app.store.rooms.count()).toBe(0);
  });
});
