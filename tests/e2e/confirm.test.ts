/**
 * Questions and interruptions while a turn runs: an agent's `confirm`
 * answered with !yes, with a ❌ reaction, or not at all (a short timeout set
 * through SURFACES_CONFIRM_TIMEOUT_MS); `notify`; `!stop` and a ⏹ reaction
 * mid-stream. All of these arrive while the room's queue is busy with the
 * very turn they are about.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RegisteredUser } from "../../src/dev/synapse.js";
import type { ShownMessage } from "../support/room-messages.js";
import { useSynapse } from "../support/synapse-env.js";
import { startUserClient, type UserClient } from "../support/user-client.js";
import { botMessages, eventually, onboard, startBot, type BotFixture, type Onboarded } from "../support/bot.js";

const CONFIRM_TIMEOUT_MS = 4000;

describe("confirm, notify and stop", () => {
  const synapse = useSynapse();
  let fx: BotFixture;
  let alice: RegisteredUser;
  let aliceClient: UserClient;
  let rooms: Onboarded;

  const shown = (): Promise<ShownMessage[]> => botMessages(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId);
  const count = async (): Promise<number> => (await shown()).length;
  const nextBot = (from: number, what: string, match: (m: ShownMessage) => boolean, timeoutMs?: number): Promise<ShownMessage> =>
    eventually(what, async () => (await shown()).slice(from).find(match), timeoutMs);
  const send = (text: string): Promise<string> => aliceClient.sendText(rooms.chatRoomId, text);
  const react = (eventId: string, key: string): Promise<unknown> =>
    aliceClient.client.sendEvent(rooms.chatRoomId, "m.reaction" as never, {
      "m.relates_to": { rel_type: "m.annotation", event_id: eventId, key },
    } as never);

  beforeAll(async () => {
    alice = await synapse.newUser("alice");
    fx = await startBot({
      agents: [{ id: "asker" }],
      users: { [alice.userId]: "asker" },
      env: { SURFACES_CONFIRM_TIMEOUT_MS: String(CONFIRM_TIMEOUT_MS) },
    });
    aliceClient = await startUserClient(synapse.baseUrl, alice);
    rooms = await onboard(aliceClient, alice.accessToken, synapse.baseUrl, fx.bot.userId);
  });
  afterAll(async () => {
    aliceClient?.stop();
    await fx?.stop();
  });

  it("a confirm approved with !yes reaches the agent, which goes on", async () => {
    const from = await count();
    await send("/confirm Delete the draft?");
    const prompt = await nextBot(from, "the confirm prompt", (m) => m.body?.includes("asks: Delete the draft?") ?? false);
    expect(prompt.body).toContain("`!yes` / `!no`");
    expect(prompt.body).toContain("counts as no");
    await send("!yes");
    const answer = await nextBot(from, "the agent's answer", (m) => m.body === "approved");
    expect(answer.msgtype).toBe("m.text");
    await nextBot(from, "the acknowledgement", (m) => m.body === "✅ Approved: Delete the draft?");
    expect(fx.app.store.pending.get(rooms.chatRoomId as never)).toBeUndefined();
  });

  it("a ❌ reaction on the prompt refuses", async () => {
    const from = await count();
    await send("/confirm Send the mail?");
    const prompt = await nextBot(from, "the confirm prompt", (m) => m.body?.includes("asks: Send the mail?") ?? false);
    await react(prompt.eventId, "❌");
    await nextBot(from, "the agent's answer", (m) => m.body === "refused");
    await nextBot(from, "the acknowledgement", (m) => m.body === "❌ Refused.");
  });

  it("no answer within the timeout counts as no, and a late !yes finds nothing to answer", async () => {
    const from = await count();
    await send("/confirm Wait for me?");
    await nextBot(from, "the confirm prompt", (m) => m.body?.includes("asks: Wait for me?") ?? false);
    await nextBot(from, "the agent's refusal", (m) => m.body === "refused", CONFIRM_TIMEOUT_MS + 20_000);
    await nextBot(from, "the expiry notice", (m) => m.body === "⌛ No answer in time, so that counts as no.");
    expect(fx.app.store.pending.get(rooms.chatRoomId as never)).toBeUndefined();

    const late = await count();
    await send("!yes");
    await nextBot(late, "the reply to a late !yes", (m) => m.body === "There is no question waiting for an answer here.");
    // The agent answered exactly once.
    expect((await shown()).slice(from).filter((m) => m.body === "refused")).toHaveLength(1);
  });

  it("a notify from the agent reaches the room that holds its chat id", async () => {
    const from = await count();
    await send("/notify 300 the nightly import finished");
    await nextBot(from, "the turn's answer", (m) => m.body === "will notify");
    const note = await nextBot(from, "the notify", (m) => m.body === "the nightly import finished");
    expect(note.msgtype).toBe("m.text");
  });

  it("!stop mid-stream cancels the turn and keeps what was streamed, marked stopped", async () => {
    const from = await count();
    await send("/slow 50 100");
    const streaming = await nextBot(from, "the first chunks", (m) => m.body?.startsWith("chunk 1 chunk 2") ?? false);
    await send("!stop");
    const final = await nextBot(from, "the stopped answer", (m) => m.eventId === streaming.eventId && (m.body?.endsWith("⏹ _stopped_") ?? false));
    expect(final.body).not.toContain("chunk 50 ");
    expect(final.body).toMatch(/^chunk 1 chunk 2 (chunk \d+ )*\n\n⏹ _stopped_$/u);
    expect(fx.agents.get("asker")?.stats.cancels.length).toBe(1);
    // The room is free again.
    await send("after stop");
    await nextBot(from, "the next answer", (m) => m.body === "echo: after stop");
  });

  it("a ⏹ reaction on the streaming answer stops it too", async () => {
    const from = await count();
    await send("/slow 50 100");
    const streaming = await nextBot(from, "the first chunks", (m) => m.body?.startsWith("chunk 1") ?? false);
    await react(streaming.eventId, "⏹\ufe0f");
    const final = await nextBot(from, "the stopped answer", (m) => m.eventId === streaming.eventId && (m.body?.endsWith("⏹ _stopped_") ?? false));
    expect(final.body).not.toContain("chunk 50 ");
    expect(fx.agents.get("asker")?.stats.cancels.length).toBe(2);
  });
});
