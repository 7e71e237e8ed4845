/**
 * Bad input from agents, generated: a fake agent (a real `ws` server on
 * 127.0.0.1) answers each turn with a fast-check-generated mix of valid and
 * broken frames, and the real pool + the real TurnRunner carry it into a
 * recording ChatPort. Whatever the agent sends, the turn never throws, ends
 * exactly once, posts exactly the valid text it was sent (nothing else) and
 * never posts a notice twice.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { MAX_FRAME_BYTES, PROTOCOL_VERSION } from "../../src/agents/protocol.js";
import { TurnRunner } from "../../src/core/turn-runner.js";
import { strings } from "../../src/core/strings.js";
import { asAgentId, asChatId, asEventId, asRoomId, asUserId } from "../../src/core/ids.js";
import { makePool, silent } from "./agent-harness.js";
import { recordingChat, type RecordingChat } from "./recording-chat.js";

const AGENT = asAgentId("fuzz");
const ROOM = asRoomId("!fuzz:localhost");
const IDLE_MS = 150;

/** One step of the fake agent's answer; `id` says which request_id a frame names. */
type Step =
  | { k: "text"; id: "turn" | "other"; delta: string }
  | { k: "flood"; n: number }
  | { k: "progress"; text: string }
  | { k: "tool"; name: string }
  | { k: "end"; id: "turn" | "other" }
  | { k: "error"; id: "turn" | "other" | "none"; message: string }
  | { k: "raw"; raw: string }
  | { k: "wrongType"; variant: number; value: unknown }
  | { k: "unknownType"; type: string }
  | { k: "huge" }
  | { k: "hello"; protocol: number }
  | { k: "close" };

const delta = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "**bold**", "\u200b\u202e", "```", ""),
);
const id = fc.constantFrom<"turn" | "other">("turn", "turn", "turn", "other");
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ k: fc.constant("text" as const), id, delta }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("flood" as const), n: fc.integer({ min: 50, max: 400 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("progress" as const), text: fc.string({ maxLength: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("tool" as const), name: fc.string({ minLength: 1, maxLength: 10 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("end" as const), id }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("error" as const),
      id: fc.constantFrom<"turn" | "other" | "none">("turn", "other", "none"),
      message: fc.string({ maxLength: 30 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant("raw" as const),
      raw: fc.oneof(fc.string({ unit: "binary", maxLength: 60 }), fc.constantFrom("{", "null", "[]", '{"type":', "\u0000", '{"type":"text"}', "1e999")),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant("wrongType" as const),
      variant: fc.integer({ min: 0, max: 4 }),
      value: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 1 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("unknownType" as const), type: fc.constantFrom("zap", "TEXT", "", "end ", "hello2", "__proto__") }) },
  { weight: 1, arbitrary: fc.constant({ k: "huge" as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("hello" as const), protocol: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: "close" as const }) },
);

/** The frames (as wire strings) a step sends for `turn`. */
function wire(s: Step, turn: string): string[] | "close" {
  const rid = (which: "turn" | "other"): string => (which === "turn" ? turn : `unknown-${turn.slice(0, 8)}`);
  switch (s.k) {
    case "text":
      return [JSON.stringify({ type: "text", request_id: rid(s.id), delta: s.delta })];
    case "flood":
      return Array.from({ length: s.n }, () => JSON.stringify({ type: "text", request_id: turn, delta: "." }));
    case "progress":
      return [JSON.stringify({ type: "progress", request_id: turn, text: s.text })];
    case "tool":
      return [JSON.stringify({ type: "tool_call", request_id: turn, call_id: "c1", name: s.name })];
    case "end":
      return [JSON.stringify({ type: "end", request_id: rid(s.id) })];
    case "error":
      return [
        JSON.stringify({ type: "error", ...(s.id === "none" ? {} : { request_id: rid(s.id) }), code: "boom", message: s.message, retryable: false }),
      ];
    case "raw":
      return [s.raw];
    case "wrongType": {
      const base: Record<string, unknown> = { type: "text", request_id: turn, delta: "never shown" };
      const field = (["delta", "request_id", "type", "delta", "request_id"] as const)[s.variant] ?? "delta";
      // Strings are the right type for every one of these fields; keep the frame wrong.
      base[field] = typeof s.value === "string" ? 42 : s.value;
      if (s.variant === 4) delete base["request_id"];
      return [JSON.stringify(base)];
    }
    case "unknownType":
      return [JSON.stringify({ type: s.type, request_id: turn, delta: "never shown" })];
    case "huge":
      return [JSON.stringify({ type: "text", request_id: turn, delta: "x".repeat(MAX_FRAME_BYTES + 10) })];
    case "hello":
      return [JSON.stringify({ type: "hello", protocol: s.protocol, agent: { name: "again", version: "0" }, capabilities: [] })];
    case "close":
      return "close";
  }
}

type Terminal = { kind: "end" } | { kind: "error"; message: string } | { kind: "lost" } | { kind: "idle" };

/** What the surface must make of a script: the text the user sees and how the turn ends. */
function model(steps: Step[]): { text: string; terminal: Terminal } {
  let text = "";
  for (const s of steps) {
    if (s.k === "text" && s.id === "turn") text += s.delta;
    if (s.k === "flood") text += ".".repeat(s.n);
    if (s.k === "end" && s.id === "turn") return { text, terminal: { kind: "end" } };
    if (s.k === "error" && s.id !== "other") return { text, terminal: { kind: "error", message: s.message } };
    if (s.k === "close") return { text, terminal: { kind: "lost" } };
  }
  return { text, terminal: { kind: "idle" } };
}

/** A fake agent: greets with `hello`, then plays `script` for each message. */
async function fakeAgent(): Promise<{ url: string; script: Step[]; greeting: number; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, maxPayload: 16 * 1024 * 1024 });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  const state = {
    url: `http://127.0.0.1:${(wss.address() as { port: number }).port}`,
    script: [] as Step[],
    greeting: PROTOCOL_VERSION,
    close: () => new Promise<void>((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => r());
    }),
  };
  wss.on("connection", (ws: WebSocket) => {
    ws.once("message", () => {
      ws.send(JSON.stringify({ type: "hello", protocol: state.greeting, agent: { name: "fuzz", version: "0" }, capabilities: [] }));
      ws.on("message", (data) => {
        const frame = JSON.parse((data as Buffer).toString("utf8")) as { type: string; request_id?: string };
        if (frame.type !== "message" || !frame.request_id) return;
        for (const s of state.script) {
          const out = wire(s, frame.request_id);
          if (out === "close") return void ws.terminate();
          for (const raw of out) ws.send(raw);
        }
      });
    });
  });
  return state;
}

let seq = 0;
function turnInput(text = "hi") {
  return {
    roomId: ROOM,
    eventId: asEventId(`$e${++seq}`),
    agentId: AGENT,
    chatId: asChatId("1"),
    user: { id: asUserId("@alice:localhost") },
    text,
    attachments: [],
  };
}

function runner(chat: RecordingChat, pool: ReturnType<typeof makePool>, agentWaitMs = 0): TurnRunner {
  return new TurnRunner({ chat, agents: pool, logger: silent, idleTimeoutMs: IDLE_MS, agentWaitMs, onForwarded: () => undefined });
}

describe("frames from a misbehaving agent (property-based)", () => {
  let agent: Awaited<ReturnType<typeof fakeAgent>>;
  beforeAll(async () => {
    agent = await fakeAgent();
  });
  afterAll(async () => {
    await agent?.close();
  });

  it("never throws, ends each turn once, posts exactly the valid text and never doubles a notice", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 0, maxLength: 25 }), async (steps) => {
        agent.script = steps;
        const chat = recordingChat();
        const pool = makePool({ [AGENT]: { baseUrl: agent.url } }, { idleTimeoutMs: IDLE_MS, connectGraceMs: 3000 });
        try {
          await runner(chat, pool).run(turnInput());
        } finally {
          await pool.close();
        }
        const expected = model(steps);
        expect(chat.replies).toHaveLength(1);
        const reply = chat.replies[0]!;
        expect(reply.finished).toBe(1);
        expect(reply.text).toBe(expected.text);
        const keys = chat.notices.map((n) => n.key);
        expect(new Set(keys).size).toBe(keys.length);
        const notices = chat.notices.map((n) => n.text);
        switch (expected.terminal.kind) {
          case "end":
            expect(notices).toEqual([]);
            break;
          case "error":
            expect(notices).toEqual([strings.agentError(expected.terminal.message)]);
            break;
          case "lost":
            expect(notices).toEqual([strings.agentConnectionLost]);
            break;
          case "idle":
            expect(notices).toEqual([strings.agentIdleTimeout(Math.round(IDLE_MS / 1000))]);
            break;
        }
        expect(chat.typing.at(-1)).toBe(false);
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it.each([0, 2, 99])("an agent whose hello names protocol %i gets the message refused with one notice, nothing posted", async (protocol) => {
    agent.greeting = protocol;
    agent.script = [{ k: "text", id: "turn", delta: "never" }, { k: "end", id: "turn" }];
    const chat = recordingChat();
    const pool = makePool({ [AGENT]: { baseUrl: agent.url } }, { connectGraceMs: 500 });
    try {
      await runner(chat, pool).run(turnInput());
    } finally {
      await pool.close();
      agent.greeting = PROTOCOL_VERSION;
    }
    expect(chat.replies[0]?.text ?? "").toBe("");
    expect(chat.replies[0]?.finished ?? 0).toBe(0);
    expect(chat.notices.map((n) => n.text)).toEqual([strings.agentUnavailable(AGENT)]);
  });
});
