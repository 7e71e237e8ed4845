/**
 * The streamed answer against a fake sender that can rate-limit: the final
 * text is exact, edits target the original, sends are paced and never
 * overlap, and long answers continue in new messages.
 */
import { describe, expect, it } from "vitest";
import pino from "pino";
import { MatrixReplyStream, STOPPED_MARK } from "../../src/matrix/reply-stream.js";
import { ToolTrail } from "../../src/core/trail.js";
import { EditPacer } from "../../src/matrix/edit-pacer.js";
import { MAX_SEGMENT_BYTES, cutPoint } from "../../src/matrix/split.js";
import { TextQueue } from "../../src/matrix/text-queue.js";
import { asEventId, asRoomId, type EventId, type RoomId } from "../../src/core/ids.js";
import type { MatrixSender } from "../../src/matrix/sender.js";

interface Sent { key: string; content: Record<string, unknown>; eventId: EventId }

/** Records sends; every `rateLimitEvery`-th call takes longer, as a send the real sender retried after a 429 would. */
function fakeSender(opts: { latencyMs?: number; rateLimitEvery?: number } = {}) {
  const sent: Sent[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let calls = 0;
  const sender = {
    async send(_room: RoomId, _type: string, content: object, key: string): Promise<EventId> {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      calls++;
      try {
        await new Promise((r) => setTimeout(r, opts.latencyMs ?? 1));
        // A 429 is retried inside the real sender; here it only costs time.
        if (opts.rateLimitEvery && calls % opts.rateLimitEvery === 0) await new Promise((r) => setTimeout(r, 20));
        const eventId = asEventId(`$${sent.length}`);
        sent.push({ key, content: content as Record<string, unknown>, eventId });
        return eventId;
      } finally {
        inFlight--;
      }
    },
  };
  return { sender: sender as unknown as MatrixSender, sent, maxInFlight: () => maxInFlight };
}

const finalBodies = (sent: Sent[]): string[] => {
  const bodies = new Map<string, string>();
  const order: string[] = [];
  for (const s of sent) {
    const rel = s.content["m.relates_to"] as { event_id: string } | undefined;
    if (!rel) {
      bodies.set(s.eventId, String(s.content["body"]));
      order.push(s.eventId);
    } else bodies.set(rel.event_id, String((s.content["m.new_content"] as { body: string }).body));
  }
  return order.map((id) => bodies.get(id) ?? "");
};

const logger = pino({ level: "silent" });

/** Lines of text with natural split points, `n` code units long. */
const longAnswer = (n: number): string => "The quick brown fox jumps over the lazy dog. 1234\n".repeat(Math.ceil(n / 50)).slice(0, n);

describe("MatrixReplyStream", () => {
  it("posts the first text at once, then paced edits of the original, exact at the end", async () => {
    const { sender, sent, maxInFlight } = fakeSender({ latencyMs: 3 });
    const stream = new MatrixReplyStream(sender, asRoomId("!r"), "t.1", new EditPacer(30), logger);
    let expected = "";
    for (let i = 0; i < 200; i++) {
      const delta = `chunk ${i} `;
      expected += delta;
      stream.appendText(delta);
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await stream.finish({});
    expect(finalBodies(sent)).toEqual([expected]);
    expect(sent.length).toBeLessThan(20);
    expect(maxInFlight()).toBe(1);
    for (const s of sent.slice(1)) expect((s.content["m.relates_to"] as { event_id: string }).event_id).toBe(sent[0]!.eventId);
    expect(new Set(sent.map((s) => s.key)).size).toBe(sent.length); // every send has its own transaction key
  });

  it("keeps the final exact when the homeserver slows it down", async () => {
    const { sender, sent } = fakeSender({ latencyMs: 2, rateLimitEvery: 2 });
    const pacer = new EditPacer(10);
    const stream = new MatrixReplyStream(sender, asRoomId("!r"), "t.2", pacer, logger);
    stream.appendText("a");
    pacer.onRateLimited(50);
    expect(pacer.intervalMs()).toBe(50);
    for (let i = 0; i < 50; i++) stream.appendText("b");
    await stream.finish({});
    expect(finalBodies(sent)).toEqual([`a${"b".repeat(50)}`]);
  });

  it("shows status lines while running but not in the final text, and marks a stopped answer", async () => {
    const { sender, sent } = fakeSender();
    const stream = new MatrixReplyStream(sender, asRoomId("!r"), "t.3", new EditPacer(1), logger);
    stream.setStatus("🔧 search…");
    for (let i = 0; i < 100 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(String(sent[0]?.content["body"])).toContain("search");
    stream.appendText("partial");
    await stream.finish({ stopped: true });
    expect(finalBodies(sent)).toEqual([`partial${STOPPED_MARK}`]);
  });

  it("continues a long answer in further messages, each small enough, nothing cut", async () => {
    const { sender, sent } = fakeSender();
    const stream = new MatrixReplyStream(sender, asRoomId("!r"), "t.4", new EditPacer(1), logger);
    const text = "é line of text with unicode ✓\n".repeat(1500);
    for (let i = 0; i < text.length; i += 997) stream.appendText(text.slice(i, i + 997));
    await stream.finish({});
    const parts = finalBodies(sent);
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.join("")).toBe(text);
    for (const p of parts) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
  });

  it("sends a quick answer whose pieces arrive a moment apart as one event", async () => {
    const { sender, sent } = fakeSender();
    const stream = new MatrixReplyStream(sender, asRoomId("!r"), "t.6", new EditPacer(1000), logger);
    stream.appendText("echo: ");
    await new Promise((r) => setTimeout(r, 1));
    stream.appendText("hi");
    await stream.finish({});
    expect(sent).toHaveLength(1);
    expect(sent[0]?.content["body"]).toBe("echo: hi");
  });

  it("holds the first event for the first sentence, split over chunks, then edits", async () => {
    const { sender, sent } = fakeSender();
    const stream = new MatrixReplyStream(sender, asRoomId("!r"), "t.7b", new EditPacer(1), logger);
    stream.appendText("The build");
    await new Promise((r) => setTimeout(r, 50));
    expect(sent).toHaveLength(0); // a fragment is not what a notification should show
    stream.appendText(" passed. ");
    for (let i = 0; i < 100 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(sent[0]?.content["body"]).toBe("The build passed. ");
    stream.appendText("All green.");
    await stream.finish({});
    expect(finalBodies(sent)).toEqual(["The build passed. All green."]);
  });

  it("does not hold the first event for a sentence for long: a slow agent's first words still appear", async () => {
    const { sender, sent } = fakeSender();
    const stream = new MatrixReplyStream(sender, asRoomId("!r"), "t.8", new EditPacer(1), logger);
    stream.appendText("chunk 1 ");
    for (let i = 0; i < 600 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(sent[0]?.content["body"]).toBe("chunk 1 "); // before the answer finished
    await stream.finish({});
  });

  it("shows the tool trail once, in the final edit only", async () => {
    const { sender, sent } = fakeSender();
    const stream = new MatrixReplyStream(sender, asRoomId("!r"), "t.9", new EditPacer(1), logger);
    const trail = new ToolTrail(5);
    stream.showTrail(trail);
    trail.call("1", "search");
    trail.result("1", true, "3 results");
    stream.appendText("Found it.\n");
    for (let i = 0; i < 100 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(String(sent[0]?.content["body"])).not.toContain("🔧");
    await stream.finish({});
    expect(finalBodies(sent)).toEqual(["Found it.\n\n\n🔧 1 tool call:\n✅ search — 3 results"]);
    expect(sent.filter((s) => JSON.stringify(s.content).includes("<details>"))).toHaveLength(1);
  });

  it("an answer with tools but no text still shows the trail", async () => {
    const { sender, sent } = fakeSender();
    const stream = new MatrixReplyStream(sender, asRoomId("!r"), "t.10", new EditPacer(1), logger);
    const trail = new ToolTrail(5);
    stream.showTrail(trail);
    trail.call("1", "build");
    await stream.finish({});
    expect(finalBodies(sent)).toEqual(["_(no text)_\n\n🔧 1 tool call:\n⏳ build"]);
  });

  it("keeps only the unposted tail: a posted message's text leaves memory", async () => {
    const { sender, sent } = fakeSender();
    const held: Array<{ held: number; segment: number }> = [];
    const recording = {
      async send(room: RoomId, type: string, content: Record<string, unknown>, key: string): Promise<EventId> {
        held.push({ held: stream.heldChars(), segment: Number(/\.s(\d+)/.exec(key)?.[1]) });
        return (sender as unknown as { send: typeof recording.send }).send(room, type, content, key);
      },
    };
    const stream = new MatrixReplyStream(recording as unknown as MatrixSender, asRoomId("!r"), "t.7", new EditPacer(1), logger);
    const text = longAnswer(2_000_000);
    for (let i = 0; i < text.length; i += 16_000) stream.appendText(text.slice(i, i + 16_000));
    await stream.finish({});
    const parts = finalBodies(sent);
    expect(parts.join("")).toBe(text);
    expect(parts.length).toBeGreaterThan(200);
    // While message k is sent, messages before it are out: what is held plus
    // what they carried never exceeds the answer, so none of it stays.
    const postedBefore = (k: number): number => parts.slice(0, k).reduce((n, p) => n + p.length, 0);
    for (const h of held) expect(h.held + postedBefore(h.segment)).toBeLessThanOrEqual(text.length);
    expect(stream.heldChars()).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
  });

  it("a stop with a backlog posts only what fits the live message, then the mark", async () => {
    const { sender, sent } = fakeSender();
    const stream = new MatrixReplyStream(sender, asRoomId("!r"), "t.8", new EditPacer(1), logger);
    const text = longAnswer(1_000_000);
    stream.appendText(text);
    await stream.finish({ stopped: true });
    const parts = finalBodies(sent);
    expect(parts.length).toBeLessThanOrEqual(2); // the one already in flight, and the live one with the mark
    expect(text.startsWith(parts[0]!)).toBe(true);
    expect(parts.join("").endsWith(STOPPED_MARK)).toBe(true);
    expect(stream.heldChars()).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
  });

  it("sends nothing for an empty answer", async () => {
    const { sender, sent } = fakeSender();
    const stream = new MatrixReplyStream(sender, asRoomId("!r"), "t.5", new EditPacer(1), logger);
    await stream.finish({});
    expect(sent).toHaveLength(0);
  });
});

describe("cutPoint", () => {
  it("prefers paragraph, then line, then word boundaries, never splitting a code point", () => {
    expect(cutPoint("short")).toBe(5);
    const para = `${"a".repeat(60)}\n\n${"b".repeat(60)}`;
    expect(cutPoint(para, 100)).toBe(62);
    const emoji = "😀".repeat(30); // 4 bytes each
    const cut = cutPoint(emoji, 10);
    expect(cut).toBe(4); // two emoji = 8 bytes; 2 UTF-16 units each
  });

  it("looks only at one message's worth of a huge text", () => {
    const huge = `${"word ".repeat(2_000)}${"x".repeat(50_000_000)}`;
    expect(cutPoint(huge)).toBe(MAX_SEGMENT_BYTES);
    expect(cutPoint(`${"é".repeat(5_000)}tail`)).toBe(4_000); // 2 bytes each
  });
});

describe("TextQueue", () => {
  it("peeks, drops and takes text back in front across chunk edges", () => {
    const q = new TextQueue();
    q.push("abc");
    q.push("");
    q.push("defg");
    expect(q.length).toBe(7);
    expect(q.peek(5)).toBe("abcde");
    expect(q.peek(100)).toBe("abcdefg");
    q.drop(4);
    expect(q.peek(100)).toBe("efg");
    q.unshift("XY");
    expect(q.peek(3)).toBe("XYe");
    expect(q.length).toBe(5);
    q.drop(100);
    expect(q.length).toBe(0);
    expect(q.peek(10)).toBe("");
    for (let i = 0; i < 5_000; i++) q.push(`${i % 10}`);
    q.drop(4_990);
    expect(q.peek(100)).toBe("0123456789");
  });
});

describe("EditPacer", () => {
  it("slows to the homeserver's retry_after and drifts back to the base pace", () => {
    const pacer = new EditPacer(100);
    pacer.onRateLimited(2_000);
    expect(pacer.intervalMs()).toBe(2_000);
    for (let i = 0; i < 30; i++) pacer.onSuccess();
    expect(pacer.intervalMs()).toBe(100);
  });
});

