/** Tokens never reach a log line, and every line of a turn names its room, event, agent, chat and turn. */
import { describe, expect, it } from "vitest";
import type { AgentPort, TurnEvent, TurnSink } from "../../src/core/agent-port.js";
import type { ChatPort, ReplyStream } from "../../src/core/chat-port.js";
import { asAgentId, asChatId, asEventId, asRoomId, asUserId } from "../../src/core/ids.js";
import { TurnRunner } from "../../src/core/turn-runner.js";
import { createLogger } from "../../src/logger.js";

const SECRETS = ["syt_c2VjcmV0_access", "agent-token-s3cret", "hunter2-password", "Bearer abc.def.ghi"];

function capture(level = "trace"): { logger: ReturnType<typeof createLogger>; raw: string[] } {
  const raw: string[] = [];
  return { logger: createLogger(level, { write: (s: string) => void raw.push(s) }), raw };
}

describe("log redaction", () => {
  it("blanks access tokens, passwords, agent tokens and Authorization headers wherever pino is told", () => {
    const { logger, raw } = capture();
    logger.info({ accessToken: SECRETS[0], password: SECRETS[2] }, "config");
    logger.info({ config: { accessToken: SECRETS[0], access_token: SECRETS[0], password: SECRETS[2] } }, "nested config");
    logger.info({ agent: { baseUrl: "http://a:8080", token: SECRETS[1] } }, "agent endpoint");
    logger.info({ token: SECRETS[1] }, "bare token");
    logger.info({ headers: { authorization: SECRETS[3], Authorization: SECRETS[3] } }, "request");
    logger.info({ req: { headers: { authorization: SECRETS[3], Authorization: SECRETS[3] } } }, "nested request");
    logger.child({ component: "x" }).warn({ upgrade: { headers: { Authorization: SECRETS[3] } } }, "child logger");
    const out = raw.join("");
    expect(raw).toHaveLength(7);
    for (const secret of SECRETS) expect(out).not.toContain(secret);
    expect(out.match(/\[redacted\]/g)?.length).toBe(12);
  });
});

describe("turn log context", () => {
  it("puts room_id, event_id, agent_id, chat_id and turn on every line the turn logs", async () => {
    const { logger, raw } = capture("debug");
    const reply: ReplyStream = {
      appendText: () => undefined,
      setStatus: () => undefined,
      appendBlock: () => undefined,
      finish: async () => undefined,
      firstEventId: () => null,
    };
    const chat = {
      openReply: () => reply,
      setTyping: () => undefined,
      sendNotice: async () => asEventId("$n"),
      markRead: async () => undefined,
    } as Partial<ChatPort> as ChatPort;
    const script: TurnEvent[] = [
      { type: "text", delta: "hi" },
      { type: "file", path: "out.txt" },
      { type: "error", code: "boom", message: "failed", retryable: false },
    ];
    const agents = {
      startTurn: async (_a: unknown, _r: unknown, sink: TurnSink) => {
        setTimeout(() => script.forEach(sink), 1);
      },
    } as Partial<AgentPort> as AgentPort;
    const runner = new TurnRunner({ chat, agents, logger, idleTimeoutMs: 1000, onForwarded: () => undefined });
    await runner.run({
      roomId: asRoomId("!r:x"),
      eventId: asEventId("$e"),
      agentId: asAgentId("alice"),
      chatId: asChatId("7"),
      user: { id: asUserId("@u:x") },
      text: "hello",
      attachments: [],
    });
    const lines = raw.map((s) => JSON.parse(s) as Record<string, unknown>);
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(["turn forwarded", "turn failed"]));
    for (const line of lines) {
      expect(line).toMatchObject({ room_id: "!r:x", event_id: "$e", agent_id: "alice", chat_id: "7" });
      expect(typeof line.turn).toBe("string");
    }
  });
});
