/**
 * A runaway agent against the real TurnRunner, pool and reference agent: each
 * limit ends the turn with its own notice, `!stop` frees the room when the
 * agent ignores the cancel, and the room answers the next message.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentPort } from "../../src/core/agent-port.js";
import { strings } from "../../src/core/strings.js";
import { TurnRunner } from "../../src/core/turn-runner.js";
import { asChatId, asEventId, asRoomId, asUserId } from "../../src/core/ids.js";
import type { ReferenceAgent } from "../../src/reference-agent/server.js";
import { AGENT, makePool, silent, startAgent, waitFor } from "./agent-harness.js";
import { recordingChat, type RecordingChat } from "./recording-chat.js";

const ROOM = asRoomId("!limits:localhost");
const LIMITS = { maxAnswerBytes: 32 * 1024, maxFiles: 2, maxConfirms: 1, maxTurnMs: 1_500, cancelGraceMs: 400 };
const FRAMES_PER_SEC = 1_000;

let agent: ReferenceAgent;
let pool: AgentPort;
let chat: RecordingChat;
let runner: TurnRunner;
let seq = 0;

beforeAll(async () => {
  agent = await startAgent();
  pool = makePool({ [AGENT]: { baseUrl: agent.url } }, { turnLimits: LIMITS, maxFramesPerSecond: FRAMES_PER_SEC });
  chat = recordingChat();
  runner = new TurnRunner({ chat, agents: pool, logger: silent, idleTimeoutMs: 60_000, onForwarded: () => undefined });
});
afterAll(async () => {
  await pool.close();
  await agent.close();
});

const run = (text: string): Promise<void> =>
  runner.run({ roomId: ROOM, eventId: asEventId(`$l${++seq}`), agentId: AGENT, chatId: asChatId("1"), user: { id: asUserId("@alice:localhost") }, text, attachments: [] });

/** Runs one turn and returns the notices and reply it produced. */
async function turn(text: string, during?: () => Promise<void>) {
  const notices = chat.notices.length;
  const replies = chat.replies.length;
  const done = run(text);
  await during?.();
  await done;
  expect(runner.activeIn(ROOM)).toBeUndefined();
  return { notices: chat.notices.slice(notices).map((n) => n.text), reply: chat.replies[replies] };
}

/** The room still works: the next message is answered. */
async function answersNext(): Promise<void> {
  const text = `still there after turn ${seq}?`;
  const next = await turn(text);
  expect(next.reply?.text).toBe(`echo: ${text}`);
  expect(next.notices).toEqual([]);
}

describe("a runaway agent's turn ends with a notice and the room keeps working", () => {
  it("an answer past the byte limit", async () => {
    const { notices, reply } = await turn("/flood 400000 4000");
    expect(notices).toEqual([strings.limitAnswerBytes(LIMITS.maxAnswerBytes)]);
    expect(reply?.finished).toBe(1);
    expect(Buffer.byteLength(reply?.text ?? "")).toBeLessThanOrEqual(LIMITS.maxAnswerBytes);
    expect(reply?.text.length).toBeGreaterThan(LIMITS.maxAnswerBytes / 2);
    await answersNext();
  });

  it("more files than allowed", async () => {
    expect((await turn("/files 50")).notices).toEqual([strings.limitFiles(LIMITS.maxFiles)]);
    await answersNext();
  });

  it("more questions than allowed", async () => {
    expect((await turn("/confirms 3")).notices).toEqual([strings.limitConfirms(LIMITS.maxConfirms)]);
    await answersNext();
  });

  it("a turn longer than the maximum", async () => {
    const { notices, reply } = await turn("/stubborn 100000 50");
    expect(notices).toEqual([strings.limitTurnLength(LIMITS.maxTurnMs)]);
    expect(reply?.text).toMatch(/^chunk 1 chunk 2 /);
    await answersNext();
  });

  it("frames faster than the connection's rate", async () => {
    expect((await turn("/chunks 20000")).notices).toEqual([strings.limitFrameRate(FRAMES_PER_SEC)]);
    await new Promise((r) => setTimeout(r, 1_100)); // the bucket refills
    await answersNext();
  });

  it("!stop frees the room when the agent ignores the cancel", async () => {
    const { notices, reply } = await turn("/stubborn 100000 20", async () => {
      await waitFor(() => (chat.replies.at(-1)?.text.length ?? 0) > 0, 5000, "the first chunks");
      expect(runner.stop(ROOM)).toBe("stopped");
    });
    expect(notices).toEqual([strings.cancelIgnored(LIMITS.cancelGraceMs)]);
    expect(reply?.stopped).toBe(true);
    await answersNext();
  });

  it("!stop of an agent that honours the cancel ends quietly", async () => {
    const { notices, reply } = await turn("/slow 100000 20", async () => {
      await waitFor(() => (chat.replies.at(-1)?.text.length ?? 0) > 0, 5000, "the first chunks");
      runner.stop(ROOM);
    });
    expect(notices).toEqual([]);
    expect(reply?.stopped).toBe(true);
  });
});
