/**
 * A runaway agent against the real Synapse: one that ignores `cancel` is
 * stopped by `!stop` within the grace period, one that floods past the answer
 * limit is cut off with a notice, and in both cases the room answers the next
 * message. Limits are lowered through the environment, as an operator would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { strings } from "../../src/core/strings.js";
import { STOPPED_MARK } from "../../src/matrix/reply-stream.js";
import { botMessages, eventually, sayAndWait, startChat, type ChatFixture, type Speaker } from "../support/bot.js";
import type { ShownMessage } from "../support/room-messages.js";
import { useSynapse } from "../support/synapse-env.js";

const STOP_GRACE_MS = 1500;
const ANSWER_LIMIT = 64 * 1024;

describe("a runaway agent", () => {
  const synapse = useSynapse();
  let chat: ChatFixture;
  let who: Speaker;
  let roomId: string;
  const shown = (): Promise<ShownMessage[]> => botMessages(synapse.baseUrl, chat.user.accessToken, roomId, chat.fx.bot.userId);

  beforeAll(async () => {
    chat = await startChat({
      agents: [{ id: "runaway" }],
      env: { SURFACES_STOP_GRACE_MS: String(STOP_GRACE_MS), SURFACES_TURN_MAX_ANSWER_BYTES: String(ANSWER_LIMIT) },
    });
    roomId = chat.rooms.chatRoomId;
    who = { baseUrl: synapse.baseUrl, token: chat.user.accessToken, bot: chat.fx.bot.userId, client: chat.client };
  });
  afterAll(() => chat?.stop());

  it("that ignores cancel: !stop frees the room and the next message is answered", async () => {
    const before = (await shown()).length;
    const answer = await sayAndWait(who, roomId, "/stubborn 100000 100", (m) => m.body?.startsWith("chunk 1 ") ?? false);
    await chat.client.sendText(roomId, "!stop");
    await eventually("the notice that the turn was ended here", async () =>
      (await shown()).slice(before).find((m) => m.body === strings.cancelIgnored(STOP_GRACE_MS)),
    );
    const agent = chat.fx.agents.get("runaway");
    expect(agent?.stats.cancels.length).toBeGreaterThan(0);
    // The answer is closed, marked stopped, and the agent's later chunks do not change it.
    const final = await eventually("the stopped answer", async () => {
      const m = (await shown()).find((s) => s.eventId === answer.eventId);
      return m?.body?.endsWith(STOPPED_MARK) ? m : undefined;
    });
    const reply = await sayAndWait(who, roomId, "are you free?", (m) => m.body === "echo: are you free?");
    expect(reply.msgtype).toBe("m.text");
    expect((await shown()).find((s) => s.eventId === answer.eventId)?.body).toBe(final.body);
  });

  it("that floods past the answer limit: the turn ends with the notice and the room keeps working", async () => {
    const before = (await shown()).length;
    await chat.client.sendText(roomId, "/flood 4000000 8000");
    await eventually(
      "the answer-limit notice",
      async () => (await shown()).slice(before).find((m) => m.body === strings.limitAnswerBytes(ANSWER_LIMIT)),
      60_000,
    );
    const parts = (await shown()).slice(before).filter((m) => m.msgtype === "m.text");
    const answered = parts.reduce((n, m) => n + Buffer.byteLength(m.body ?? ""), 0);
    expect(answered).toBeGreaterThan(0);
    expect(answered).toBeLessThanOrEqual(ANSWER_LIMIT);
    const reply = await sayAndWait(who, roomId, "still there?", (m) => m.body === "echo: still there?", 60_000);
    expect(reply.msgtype).toBe("m.text");
  });
});
