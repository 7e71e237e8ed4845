import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { TurnEvent } from "../../src/core/agent-port.js";
import { asChatId, asTurnId } from "../../src/core/ids.js";
import { toMessageFrame, toTurnEvent } from "../../src/agents/turn-events.js";
import { TurnTable } from "../../src/agents/turns.js";

const logger = pino({ level: "silent" });
const T1 = asTurnId("t1");
const chat = asChatId("7");

function table(overrides: Partial<ConstructorParameters<typeof TurnTable>[0]> = {}) {
  const idle: string[] = [];
  const confirmTimeouts: string[] = [];
  const t = new TurnTable({
    logger,
    idleTimeoutMs: 1000,
    confirmTimeoutMs: 5000,
    onGiveUp: (id) => idle.push(id),
    onConfirmTimeout: (id, c) => confirmTimeouts.push(`${id}/${c}`),
    ...overrides,
  });
  return { t, idle, confirmTimeouts };
}

describe("TurnTable", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("routes frames to the turn and closes it on end, dropping later frames", () => {
    const { t } = table();
    const events: TurnEvent[] = [];
    t.open(T1, chat, (e) => events.push(e));
    t.deliver({ type: "text", request_id: "t1", delta: "a" });
    t.deliver({ type: "end", request_id: "t1" });
    t.deliver({ type: "end", request_id: "t1" });
    t.deliver({ type: "text", request_id: "t1", delta: "late" });
    t.deliver({ type: "text", request_id: "nope", delta: "x" });
    expect(events).toEqual([{ type: "text", delta: "a" }, { type: "end" }]);
    expect(t.size).toBe(0);
  });

  it("fails an idle turn once, and reports it so the agent can be told to cancel", () => {
    const { t, idle } = table();
    const events: TurnEvent[] = [];
    t.open(T1, chat, (e) => events.push(e));
    vi.advanceTimersByTime(900);
    t.deliver({ type: "progress", request_id: "t1", text: "working" }); // resets the timer
    vi.advanceTimersByTime(900);
    expect(events).toHaveLength(1);
    vi.advanceTimersByTime(200);
    expect(events[1]).toMatchObject({ type: "error", code: "idle_timeout", retryable: true });
    expect(idle).toEqual(["t1"]);
    t.deliver({ type: "end", request_id: "t1" });
    expect(events).toHaveLength(2);
  });

  it("does not time out while a confirm waits, and resumes the idle timer after the answer", () => {
    const { t } = table();
    const events: TurnEvent[] = [];
    t.open(T1, chat, (e) => events.push(e));
    t.deliver({ type: "confirm", request_id: "t1", confirm_id: "c1", prompt: "ok?" });
    vi.advanceTimersByTime(4000);
    expect(events).toEqual([{ type: "confirm", confirmId: "c1", prompt: "ok?" }]);
    expect(t.confirmAnswered(T1, "c1")).toBe(true);
    expect(t.confirmAnswered(T1, "c1")).toBe(false);
    vi.advanceTimersByTime(1000);
    expect(events[1]).toMatchObject({ type: "error", code: "idle_timeout" });
  });

  it("refuses an unanswered confirm after the confirm timeout", () => {
    const { t, confirmTimeouts } = table();
    t.open(T1, chat, () => {});
    t.deliver({ type: "confirm", request_id: "t1", confirm_id: "c1", prompt: "ok?" });
    vi.advanceTimersByTime(5000);
    expect(confirmTimeouts).toEqual(["t1/c1"]);
    expect(t.confirmAnswered(T1, "c1")).toBe(false);
  });

  it("failAll ends every open turn exactly once", () => {
    const { t } = table();
    const a: TurnEvent[] = [];
    const b: TurnEvent[] = [];
    t.open(T1, chat, (e) => a.push(e));
    t.open(asTurnId("t2"), asChatId("8"), (e) => b.push(e));
    const lost = { type: "error", code: "connection_lost", message: "gone", retryable: true } as const;
    t.failAll(lost);
    t.failAll(lost);
    vi.advanceTimersByTime(10_000);
    expect(a).toEqual([lost]);
    expect(b).toEqual([lost]);
  });

  it("survives a sink that throws", () => {
    const { t } = table();
    t.open(T1, chat, () => {
      throw new Error("sink bug");
    });
    expect(() => t.deliver({ type: "text", request_id: "t1", delta: "x" })).not.toThrow();
    expect(() => t.deliver({ type: "end", request_id: "t1" })).not.toThrow();
    expect(t.size).toBe(0);
  });

  it("refuses to open the same turn twice", () => {
    const { t } = table();
    t.open(T1, chat, () => {});
    expect(() => t.open(T1, chat, () => {})).toThrow();
  });
});

describe("frame mapping", () => {
  it("maps wire frames to camelCase turn events", () => {
    expect(toTurnEvent({ type: "end", request_id: "r", usage: { input_tokens: 3, output_tokens: 4 } })).toEqual({
      type: "end",
      usage: { inputTokens: 3, outputTokens: 4 },
    });
    expect(toTurnEvent({ type: "tool_call", request_id: "r", call_id: "c", name: "n" })).toEqual({
      type: "tool_call",
      callId: "c",
      name: "n",
    });
    expect(toTurnEvent({ type: "tool_result", request_id: "r", call_id: "c", ok: true, summary: "s" })).toEqual({
      type: "tool_result",
      callId: "c",
      ok: true,
      summary: "s",
    });
    expect(toTurnEvent({ type: "block", request_id: "r", block: { kind: "table", headers: ["h"], rows: [[1, null, true, "x"]] } })).toEqual({
      type: "block",
      block: { kind: "table", headers: ["h"], rows: [["1", "", "true", "x"]] },
    });
    expect(toTurnEvent({ type: "file", request_id: "r", path: "a.txt" })).toEqual({ type: "file", path: "a.txt" });
    expect(toTurnEvent({ type: "confirm", request_id: "r", confirm_id: "c", prompt: "p" })).toEqual({
      type: "confirm",
      confirmId: "c",
      prompt: "p",
    });
  });

  it("builds the message frame in snake_case", () => {
    const frame = toMessageFrame({
      turnId: T1,
      chatId: chat,
      user: { id: "@a:x" as never, displayName: "A" },
      text: "hi",
      attachments: [{ path: "inbox/7/1-a.txt", name: "a.txt", mime: "text/plain", size: 1 }],
    });
    expect(frame).toEqual({
      type: "message",
      request_id: "t1",
      chat_id: "7",
      user: { id: "@a:x", display_name: "A" },
      text: "hi",
      attachments: [{ path: "inbox/7/1-a.txt", name: "a.txt", mime: "text/plain", size: 1 }],
    });
  });
});
