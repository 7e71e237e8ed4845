import { describe, expect, it } from "vitest";
import {
  AGENT_FRAME_TYPES,
  MAX_FRAME_BYTES,
  parseAgentFrame,
  parseSurfaceFrame,
  peekHelloProtocol,
  PROTOCOL_VERSION,
  SURFACE_FRAME_TYPES,
} from "../../src/agents/protocol.js";

const rid = "6f1c1a1e-6a2b-4c1d-9e3f-0a1b2c3d4e5f";

const validSurface: Record<string, object> = {
  hello: { type: "hello", protocol: 1, surface: "matrix", version: "0.1.0" },
  message: {
    type: "message",
    request_id: rid,
    chat_id: "17",
    user: { id: "@alice:example.org", display_name: "Alice" },
    text: "hi",
    attachments: [{ path: "inbox/17/1-a.png", name: "a.png", mime: "image/png", size: 12 }],
  },
  cancel: { type: "cancel", request_id: rid },
  chat_closed: { type: "chat_closed", chat_id: "17", reason: "cleared" },
  confirm_result: { type: "confirm_result", request_id: rid, confirm_id: "c1", approved: true },
};

const invalidSurface: Record<string, object[]> = {
  hello: [
    { type: "hello", protocol: "1", surface: "matrix", version: "0.1.0" },
    { type: "hello", protocol: 1, version: "0.1.0" },
  ],
  message: [
    { ...validSurface.message, request_id: "" },
    { ...validSurface.message, user: {} },
    { ...validSurface.message, text: 5 },
    { ...validSurface.message, attachments: [{ path: "a", name: "a", mime: "x", size: -1 }] },
    { ...validSurface.message, attachments: undefined },
  ],
  cancel: [{ type: "cancel" }],
  chat_closed: [{ type: "chat_closed", chat_id: "17", reason: "deleted" }],
  confirm_result: [{ type: "confirm_result", request_id: rid, confirm_id: "c1", approved: "yes" }],
};

const validAgent: Record<string, object[]> = {
  hello: [
    { type: "hello", protocol: 1, agent: { name: "ref", version: "1.0.0" }, capabilities: ["files", "cancel"] },
    { type: "hello", protocol: 1, agent: { name: "ref", version: "1.0.0" } },
  ],
  text: [{ type: "text", request_id: rid, delta: "hello" }, { type: "text", request_id: rid, delta: "" }],
  tool_call: [
    { type: "tool_call", request_id: rid, call_id: "c1", name: "search", args: { q: "x" } },
    { type: "tool_call", request_id: rid, call_id: "c1", name: "search" },
  ],
  tool_result: [
    { type: "tool_result", request_id: rid, call_id: "c1", ok: true, summary: "3 hits" },
    { type: "tool_result", request_id: rid, call_id: "c1", ok: false },
  ],
  progress: [{ type: "progress", request_id: rid, text: "reading 3 files…" }],
  block: [
    { type: "block", request_id: rid, block: { kind: "table", headers: ["a", "b"], rows: [["1", 2, true, null]] } },
    { type: "block", request_id: rid, block: { kind: "code", language: "ts", code: "let a = 1;" } },
    { type: "block", request_id: rid, block: { kind: "code", code: "x" } },
  ],
  file: [
    { type: "file", request_id: rid, path: "out/report.pdf", name: "report.pdf", mime: "application/pdf", caption: "here" },
    { type: "file", request_id: rid, path: "../../etc/passwd" },
  ],
  end: [
    { type: "end", request_id: rid },
    { type: "end", request_id: rid, usage: { input_tokens: 10, output_tokens: 20 } },
  ],
  error: [
    { type: "error", request_id: rid, code: "boom", message: "failed", retryable: false },
    { type: "error", code: "overloaded", message: "agent failed", retryable: true },
  ],
  notify: [{ type: "notify", chat_id: "17", text: "done" }],
  confirm: [{ type: "confirm", request_id: rid, confirm_id: "c1", prompt: "Delete 3 files?" }],
};

const invalidAgent: Record<string, object[]> = {
  hello: [{ type: "hello", protocol: 1 }, { type: "hello", protocol: 1.5, agent: { name: "r", version: "1" } }],
  text: [{ type: "text", request_id: rid }, { type: "text", delta: "x" }, { type: "text", request_id: rid, delta: 42 }],
  tool_call: [{ type: "tool_call", request_id: rid, name: "search" }, { type: "tool_call", request_id: rid, call_id: "c", name: "" }],
  tool_result: [{ type: "tool_result", request_id: rid, call_id: "c1" }, { type: "tool_result", request_id: rid, call_id: "c1", ok: 1 }],
  progress: [{ type: "progress", request_id: rid }],
  block: [
    { type: "block", request_id: rid, block: { kind: "chart" } },
    { type: "block", request_id: rid, block: { kind: "table", headers: "a", rows: [] } },
    { type: "block", request_id: rid, block: { kind: "table", headers: [], rows: [[{}]] } },
    { type: "block", request_id: rid, block: { kind: "code" } },
  ],
  file: [{ type: "file", request_id: rid }, { type: "file", request_id: rid, path: "" }],
  end: [{ type: "end" }, { type: "end", request_id: rid, usage: { input_tokens: -1, output_tokens: 0 } }],
  error: [{ type: "error", request_id: rid, code: "x", message: "y" }, { type: "error", code: "", message: "y", retryable: true }],
  notify: [{ type: "notify", chat_id: "17" }, { type: "notify", text: "x" }, { type: "notify", chat_id: "17", text: "" }],
  confirm: [{ type: "confirm", request_id: rid, prompt: "ok?" }, { type: "confirm", request_id: rid, confirm_id: "c1" }],
};

describe("protocol constants", () => {
  it("speaks version 1 with 1 MiB frames", () => {
    expect(PROTOCOL_VERSION).toBe(1);
    expect(MAX_FRAME_BYTES).toBe(1024 * 1024);
  });

  it("covers every frame type of v1 in both directions", () => {
    expect([...SURFACE_FRAME_TYPES].sort()).toEqual(Object.keys(validSurface).sort());
    expect([...AGENT_FRAME_TYPES].sort()).toEqual(Object.keys(validAgent).sort());
  });
});

describe("parseSurfaceFrame", () => {
  for (const [type, frame] of Object.entries(validSurface)) {
    it(`accepts a valid ${type}`, () => {
      const result = parseSurfaceFrame(JSON.stringify(frame));
      expect(result).toEqual({ ok: true, frame });
    });
  }
  for (const [type, frames] of Object.entries(invalidSurface)) {
    it(`rejects invalid ${type} frames`, () => {
      for (const frame of frames) {
        const result = parseSurfaceFrame(JSON.stringify(frame));
        expect(result.ok, JSON.stringify(frame)).toBe(false);
        if (!result.ok) expect(result.reason).toContain(`invalid ${type} frame`);
      }
    });
  }
  it("rejects agent-only frame types", () => {
    expect(parseSurfaceFrame(JSON.stringify({ type: "text", request_id: rid, delta: "x" }))).toMatchObject({
      ok: false,
      reason: 'unknown type "text"',
    });
  });
});

describe("parseAgentFrame", () => {
  for (const [type, frames] of Object.entries(validAgent)) {
    it(`accepts valid ${type} frames`, () => {
      for (const frame of frames) {
        const result = parseAgentFrame(JSON.stringify(frame));
        expect(result.ok, JSON.stringify(frame)).toBe(true);
        if (result.ok) expect(result.frame.type).toBe(type);
      }
    });
  }
  for (const [type, frames] of Object.entries(invalidAgent)) {
    it(`rejects invalid ${type} frames`, () => {
      for (const frame of frames) {
        const result = parseAgentFrame(JSON.stringify(frame));
        expect(result.ok, JSON.stringify(frame)).toBe(false);
        if (!result.ok) expect(result.reason).toContain(`invalid ${type} frame`);
      }
    });
  }

  it("defaults missing capabilities to an empty list", () => {
    const result = parseAgentFrame(JSON.stringify(validAgent.hello?.[1]));
    expect(result.ok && result.frame.type === "hello" && result.frame.capabilities).toEqual([]);
  });

  it("strips unknown extra fields instead of rejecting them", () => {
    const result = parseAgentFrame(JSON.stringify({ type: "text", request_id: rid, delta: "x", extra: 1 }));
    expect(result).toEqual({ ok: true, frame: { type: "text", request_id: rid, delta: "x" } });
  });

  it.each([
    ["{not json", "invalid JSON"],
    ["", "invalid JSON"],
    ["[1,2]", "frame is not a JSON object"],
    ["null", "frame is not a JSON object"],
    ['"text"', "frame is not a JSON object"],
    ['{"request_id":"x"}', "missing type"],
    ['{"type":7}', "missing type"],
    ['{"type":"mystery","request_id":"r1"}', 'unknown type "mystery"'],
    ['{"type":"message","request_id":"r1"}', 'unknown type "message"'],
  ])("rejects %j with %j", (raw, reason) => {
    expect(parseAgentFrame(raw)).toMatchObject({ ok: false, reason });
  });

  it("reports the type and request_id of a rejected frame for logging", () => {
    expect(parseAgentFrame(JSON.stringify({ type: "mystery", request_id: "r1" }))).toEqual({
      ok: false,
      reason: 'unknown type "mystery"',
      type: "mystery",
      requestId: "r1",
    });
  });

  it("rejects frames over 1 MiB, counting UTF-8 bytes, and accepts one at the limit", () => {
    const overhead = JSON.stringify({ type: "text", request_id: rid, delta: "" }).length;
    const atLimit = JSON.stringify({ type: "text", request_id: rid, delta: "a".repeat(MAX_FRAME_BYTES - overhead) });
    expect(Buffer.byteLength(atLimit)).toBe(MAX_FRAME_BYTES);
    expect(parseAgentFrame(atLimit).ok).toBe(true);
    // 400k characters of "é" are 800k UTF-16 units below the limit but 2 bytes each in UTF-8.
    const multibyte = JSON.stringify({ type: "text", request_id: rid, delta: "é".repeat(600_000) });
    expect(multibyte.length).toBeLessThan(MAX_FRAME_BYTES);
    expect(parseAgentFrame(multibyte)).toMatchObject({ ok: false, reason: `frame larger than ${MAX_FRAME_BYTES} bytes` });
    expect(parseSurfaceFrame("x".repeat(MAX_FRAME_BYTES + 1)).ok).toBe(false);
  });

  it("never throws, whatever the input", () => {
    const inputs = ["", "{", "}", "\u0000", "1e999", '{"type":null}', '{"__proto__":{"type":"text"}}', "\ud800"];
    for (const raw of inputs) {
      expect(() => parseAgentFrame(raw)).not.toThrow();
      expect(() => parseSurfaceFrame(raw)).not.toThrow();
    }
    expect(parseAgentFrame(undefined as unknown as string)).toEqual({ ok: false, reason: "not a text frame" });
  });
});

describe("peekHelloProtocol", () => {
  it("reads the protocol of a hello that fails full validation", () => {
    expect(peekHelloProtocol('{"type":"hello","protocol":2,"agent":"v2-shape"}')).toBe(2);
    expect(peekHelloProtocol('{"type":"text","protocol":2}')).toBeUndefined();
    expect(peekHelloProtocol("nope")).toBeUndefined();
  });
});
