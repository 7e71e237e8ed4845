/**
 * The port's limits on one turn and one connection: past each, the turn ends
 * with its own error code and the limit, the agent is told to cancel, and
 * what it sends afterwards is dropped.
 */
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LIMIT_CODES, type TurnEvent } from "../../src/core/agent-port.js";
import { asChatId, asTurnId } from "../../src/core/ids.js";
import { FrameBudget } from "../../src/agents/frame-budget.js";
import { TurnTable } from "../../src/agents/turns.js";
import type { TurnLimits } from "../../src/agents/turn-limits.js";

const logger = pino({ level: "silent" });
const T1 = asTurnId("t1");
const chat = asChatId("7");

function open(limits: Partial<TurnLimits>) {
  const gaveUp: string[] = [];
  const t = new TurnTable({ logger, idleTimeoutMs: 60_000, confirmTimeoutMs: 60_000, limits, onGiveUp: (id) => gaveUp.push(id), onConfirmTimeout: () => {} });
  const events: TurnEvent[] = [];
  t.open(T1, chat, (e) => events.push(e));
  return { t, events, gaveUp };
}

describe("turn limits", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("ends a turn whose answer passes the byte limit, cancels it, and drops the rest", () => {
    const { t, events, gaveUp } = open({ maxAnswerBytes: 10 });
    t.deliver({ type: "text", request_id: "t1", delta: "12345" });
    t.deliver({ type: "block", request_id: "t1", block: { kind: "code", code: "é" } }); // 2 bytes: 7
    t.deliver({ type: "text", request_id: "t1", delta: "890" }); // 10: still within
    expect(events).toHaveLength(3);
    t.deliver({ type: "text", request_id: "t1", delta: "x" });
    expect(events[3]).toMatchObject({ type: "error", code: LIMIT_CODES.answerBytes, limit: 10 });
    expect(gaveUp).toEqual(["t1"]);
    t.deliver({ type: "text", request_id: "t1", delta: "more" });
    t.deliver({ type: "end", request_id: "t1" });
    expect(events).toHaveLength(4);
    expect(t.size).toBe(0);
  });

  it("ends a turn that sends more files than allowed", () => {
    const { t, events, gaveUp } = open({ maxFiles: 2 });
    for (let i = 0; i < 5; i++) t.deliver({ type: "file", request_id: "t1", path: `f${i}` });
    expect(events.map((e) => e.type)).toEqual(["file", "file", "error"]);
    expect(events[2]).toMatchObject({ code: LIMIT_CODES.files, limit: 2 });
    expect(gaveUp).toEqual(["t1"]);
  });

  it("ends a turn that asks more questions than allowed; a repeated confirm id counts once", () => {
    const { t, events } = open({ maxConfirms: 2 });
    t.deliver({ type: "confirm", request_id: "t1", confirm_id: "a", prompt: "?" });
    t.deliver({ type: "confirm", request_id: "t1", confirm_id: "a", prompt: "?" });
    t.deliver({ type: "confirm", request_id: "t1", confirm_id: "b", prompt: "?" });
    expect(events.every((e) => e.type === "confirm")).toBe(true);
    t.deliver({ type: "confirm", request_id: "t1", confirm_id: "c", prompt: "?" });
    expect(events[3]).toMatchObject({ type: "error", code: LIMIT_CODES.confirms, limit: 2 });
  });

  it("ends a turn at the maximum length even while the agent keeps talking", () => {
    const { t, events, gaveUp } = open({ maxTurnMs: 10_000 });
    for (let i = 0; i < 9; i++) {
      vi.advanceTimersByTime(1_000);
      t.deliver({ type: "progress", request_id: "t1", text: "busy" });
    }
    expect(events.every((e) => e.type === "progress")).toBe(true);
    vi.advanceTimersByTime(1_000);
    expect(events[events.length - 1]).toMatchObject({ type: "error", code: LIMIT_CODES.turnLength, limit: 10_000 });
    expect(gaveUp).toEqual(["t1"]);
  });

  it("after a cancel, ends the turn itself when the agent does not within the grace period", () => {
    const { t, events, gaveUp } = open({ cancelGraceMs: 3_000 });
    t.cancelled(T1);
    vi.advanceTimersByTime(2_000);
    t.deliver({ type: "text", request_id: "t1", delta: "still going" });
    vi.advanceTimersByTime(999);
    expect(events).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(events[1]).toMatchObject({ type: "error", code: LIMIT_CODES.cancelIgnored, limit: 3_000 });
    expect(gaveUp).toEqual([]); // the agent already has its cancel
    t.deliver({ type: "text", request_id: "t1", delta: "late" });
    expect(events).toHaveLength(2);
  });

  it("counts frames dropped after a turn ended (the pool reads a runaway slowly past a few)", () => {
    const { t } = open({ maxFiles: 0 });
    t.deliver({ type: "file", request_id: "t1", path: "a" }); // over the limit: the turn ends here
    expect(t.droppedAfterEnd("t1")).toBe(0);
    for (let i = 0; i < 3; i++) t.deliver({ type: "text", request_id: "t1", delta: "late" });
    expect(t.droppedAfterEnd("t1")).toBe(3);
    expect(t.droppedAfterEnd("never-seen")).toBeUndefined();
  });

  it("an agent that honours the cancel in time ends the turn normally", () => {
    const { t, events } = open({ cancelGraceMs: 3_000 });
    t.cancelled(T1);
    t.deliver({ type: "end", request_id: "t1" });
    vi.advanceTimersByTime(10_000);
    expect(events).toEqual([{ type: "end" }]);
  });
});

describe("FrameBudget", () => {
  it("allows a second's worth at once, then the rate", () => {
    let now = 0;
    const budget = new FrameBudget(100, () => now);
    let taken = 0;
    while (budget.take()) taken++;
    expect(taken).toBe(100);
    now += 50; // half a second's tokens: 5
    taken = 0;
    while (budget.take()) taken++;
    expect(taken).toBe(5);
    now += 60_000; // a long quiet spell refills to one second's worth, no more
    taken = 0;
    while (budget.take()) taken++;
    expect(taken).toBe(100);
  });
});
