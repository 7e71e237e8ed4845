/**
 * The bot as a real process, killed mid-answer: SIGKILL (nothing posted
 * twice, the cut turn ends with one notice after the restart, later messages
 * work) and SIGTERM (the running turn finishes, the process exits by itself,
 * nothing is replayed after the next start).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chunkText } from "../../src/reference-agent/directives.js";
import type { RegisteredUser } from "../../src/dev/synapse.js";
import type { ShownMessage } from "../support/room-messages.js";
import { useSynapse } from "../support/synapse-env.js";
import { startUserClient, type UserClient } from "../support/user-client.js";
import { botMessages, eventually, onboard, startBot, type BotFixture, type Onboarded } from "../support/bot.js";
import { spawnBot, type BotProcess } from "../support/bot-process.js";

const INTERRUPTED = "restarted while answering";

describe("the bot process killed mid-answer", () => {
  const synapse = useSynapse();
  let fx: BotFixture;
  let alice: RegisteredUser;
  let aliceClient: UserClient;
  let rooms: Onboarded;
  let bot: BotProcess | undefined;

  const shown = (): Promise<ShownMessage[]> => botMessages(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId);
  const bodies = async (): Promise<string[]> => (await shown()).map((m) => m.body ?? "");
  const waitFor = (what: string, match: (m: ShownMessage) => boolean, timeoutMs = 30_000): Promise<ShownMessage> =>
    eventually(what, async () => (await shown()).find(match), timeoutMs);
  async function boot(): Promise<BotProcess> {
    bot = spawnBot(fx.env);
    await bot.ready;
    return bot;
  }

  beforeAll(async () => {
    alice = await synapse.newUser("alice");
    fx = await startBot({ agents: [{ id: "helper" }], users: { [alice.userId]: "helper" } });
    aliceClient = await startUserClient(synapse.baseUrl, alice);
    rooms = await onboard(aliceClient, alice.accessToken, synapse.baseUrl, fx.bot.userId);
    await fx.app.stop(); // from here on the bot runs as a child process on the same data dir
  }, 60_000);
  afterAll(async () => {
    if (bot && bot.child.exitCode === null && bot.child.signalCode === null) {
      bot.kill("SIGKILL");
      await bot.exited;
    }
    aliceClient?.stop();
    await fx?.stop();
  });

  it("SIGKILL: no message is posted twice, the cut answer ends with one notice, later messages work", async () => {
    await boot();
    const before = await bodies();
    await aliceClient.sendText(rooms.chatRoomId, "/slow 100 50");
    await waitFor("the answer to stream", (m) => (m.body ?? "").includes("chunk 5 "));
    bot!.kill("SIGKILL");
    expect((await bot!.exited).signal).toBe("SIGKILL");

    await boot();
    const notice = await waitFor("the interrupted notice", (m) => (m.body ?? "").includes(INTERRUPTED));
    expect(notice.msgtype).toBe("m.notice");
    await aliceClient.sendText(rooms.chatRoomId, "after the crash");
    await waitFor("the next answer", (m) => m.body === "echo: after the crash");
    await new Promise((r) => setTimeout(r, 1500)); // a duplicate would have arrived by now

    const after = await bodies();
    expect(after.slice(0, before.length)).toEqual(before);
    const added = after.slice(before.length);
    expect(added).toHaveLength(3);
    expect(added[0]).toMatch(/^chunk 1 chunk 2 chunk 3 chunk 4 chunk 5 /);
    expect(added[0]).not.toBe(chunkText(100)); // it was cut short
    expect(added[1]).toContain(INTERRUPTED);
    expect(added[2]).toBe("echo: after the crash");
  }, 90_000);

  it("SIGTERM: the running answer finishes, the process exits by itself, and the next start replays nothing", async () => {
    const running = bot ?? (await boot());
    const before = await bodies();
    await aliceClient.sendText(rooms.chatRoomId, "/slow 20 100");
    // Only a new message counts: the answer cut by the SIGKILL above also holds "chunk 3 ".
    await eventually("the answer to stream", async () => (await shown()).slice(before.length).find((m) => (m.body ?? "").includes("chunk 3 ")));
    running.kill("SIGTERM");
    const exit = await Promise.race([
      running.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the bot did not exit after SIGTERM")), 30_000)),
    ]);
    expect(exit.code).toBe(0);
    const finished = await waitFor("the finished answer", (m) => m.body === chunkText(20), 5_000);
    expect(finished.msgtype).toBe("m.text");

    await boot();
    await aliceClient.sendText(rooms.chatRoomId, "after the stop");
    await waitFor("the next answer", (m) => m.body === "echo: after the stop");
    await new Promise((r) => setTimeout(r, 1500));
    const added = (await bodies()).slice(before.length);
    expect(added).toEqual([chunkText(20), "echo: after the stop"]);
  }, 90_000);
});
