/**
 * Streamed answers as a user sees them: posted at once, edited in place at a
 * bounded pace, exact when finished (also under Synapse's default rate
 * limits), rendered as sanitised HTML, split when long, failures as notices.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useSharedAgent, useSynapse } from "../support/synapse-env.js";
import type { UserClient } from "../support/user-client.js";
import { allEvents, botMessages, eventually, startChat, type ChatFixture, waitForBotMessage, type BotFixture, type Onboarded } from "../support/bot.js";
import { chunkText, longText, CODE_SAMPLE } from "../../src/reference-agent/directives.js";
import type { RegisteredUser } from "../../src/dev/synapse.js";
import type { ShownMessage } from "../support/room-messages.js";

const EDIT_INTERVAL_MS = 250;
/** The tool answer as it ends: the text, then the trail of the one tool (docs/user-guide.md). */
const TOOL_DONE = "tool done\n\n🔧 1 tool call:\n✅ search — 3 results";

describe("streamed answers", () => {
  const synapse = useSynapse();
  let fx: BotFixture;
  let alice: RegisteredUser;
  let aliceClient: UserClient;
  let rooms: Onboarded;

  const ask = async (text: string, done: (m: ShownMessage) => boolean, timeoutMs = 60_000): Promise<ShownMessage> => {
    const sent = await aliceClient.sendText(rooms.chatRoomId, text);
    return eventually(`the answer to ${text.slice(0, 30)}`, async () => {
      const events = await allEvents(synapse.baseUrl, alice.accessToken, rooms.chatRoomId);
      const after = events.slice(events.findIndex((e) => e.event_id === sent) + 1);
      const { shownMessages } = await import("../support/room-messages.js");
      return shownMessages(after).find((m) => m.sender === fx.bot.userId && done(m));
    }, timeoutMs);
  };

  /** Bot events (originals and edits) after the user's message `sentText`. */
  const eventsAfter = async (sentText: string) => {
    const events = await allEvents(synapse.baseUrl, alice.accessToken, rooms.chatRoomId);
    const start = events.findIndex((e) => e.type === "m.room.message" && e.content["body"] === sentText);
    return events.slice(start + 1).filter((e) => e.sender === fx.bot.userId && e.type === "m.room.message");
  };

  let chat: ChatFixture;
  beforeAll(async () => {
    chat = await startChat({
      // The run's shared reference agent (started once by the global setup).
      agents: [{ id: "streamer", baseUrl: useSharedAgent().url, workspace: useSharedAgent().workspace }],
      env: { SURFACES_EDIT_INTERVAL_MS: String(EDIT_INTERVAL_MS), SURFACES_TURN_IDLE_TIMEOUT_MS: "1500" },
    });
    ({ fx, user: alice, client: aliceClient, rooms } = chat);
  });
  afterAll(() => chat?.stop());

  it("streams a 200-chunk answer as one message edited at a bounded pace, exact at the end", async () => {
    const expected = chunkText(200);
    const msg = await ask("/slow 200 10", (m) => m.body === expected);
    expect(msg.msgtype).toBe("m.text");
    await new Promise((r) => setTimeout(r, 2 * EDIT_INTERVAL_MS));
    const events = await eventsAfter("/slow 200 10");
    const first = events[0]!;
    const last = events[events.length - 1]!;
    const spanMs = last.origin_server_ts - first.origin_server_ts;
    // One original, the rest edits of that original (never an edit of an edit).
    expect(events.filter((e) => !e.content["m.relates_to"])).toHaveLength(1);
    for (const e of events.slice(1)) expect((e.content["m.relates_to"] as { event_id: string }).event_id).toBe(first.event_id);
    // The pace bounds the count: at most one edit per interval, plus the final.
    expect(events.length).toBeLessThanOrEqual(Math.ceil(spanMs / EDIT_INTERVAL_MS) + 2);
    expect(events.length).toBeLessThan(200);
  });

  it("renders Markdown, tables and code as sanitised HTML with a plain body", async () => {
    await ask("/markdown", (m) => (m.body ?? "").length > 0 && !m.body!.startsWith("_"));
    const latest = await eventually("the final markdown", async () => {
      const events = await eventsAfter("/markdown");
      const lastEvent = events[events.length - 1];
      const content = (lastEvent?.content["m.new_content"] ?? lastEvent?.content) as Record<string, unknown> | undefined;
      return content?.["formatted_body"] ? content : undefined;
    });
    expect(latest["format"]).toBe("org.matrix.custom.html");
    expect(String(latest["formatted_body"])).toMatch(/<strong>|<h\d>/);

    const table = await ask("/table", (m) => (m.body ?? "").includes("| alpha | 1 |"));
    const tableHtml = await finalHtml(table);
    expect(tableHtml).toContain("<table>");
    expect(tableHtml).toContain("<td>alpha</td>");

    const code = await ask("/code", (m) => (m.body ?? "").includes(CODE_SAMPLE.code));
    expect(await finalHtml(code)).toContain('<pre><code class="language-ts">');
  });

  it("never lets HTML or script from the text reach formatted_body as markup", async () => {
    const evil = `<script>alert(1)</script><img src=x onerror=alert(2)> **bold**`;
    const msg = await ask(evil, (m) => (m.body ?? "") === `echo: ${evil}`);
    const html = await finalHtml(msg);
    // Escaped text (&lt;script&gt;) is harmless; a real tag or attribute is not.
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain("&lt;script&gt;");
    expect(html).toContain("<strong>bold</strong>");
  });

  it("shows tool progress while running; the final answer keeps the trail, not the status line", async () => {
    // The agent's tool runs for 4 s, reporting progress every 0.5 s. A status
    // line can only be the answer's latest version while the turn runs (the
    // final edit drops it), so seeing one here is seeing the running turn.
    const running = await ask("/slowtool 4000", (m) => /^_⏳ searching \d\/7_$/u.test(m.body ?? ""));
    expect(fx.app.dispatcher.turns.activeIn(rooms.chatRoomId as never)).toBeDefined();
    const done = await waitForBotMessage(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId, (m) => m.eventId === running.eventId && m.body === TOOL_DONE);
    expect(done.msgtype).toBe("m.text");
    // The room's history: the tool's status first, its progress, then only the
    // answer (its text may show once before the final edit adds the trail).
    const versions = (await eventsAfter("/slowtool 4000")).map((e) => String((e.content["m.new_content"] as { body?: string } | undefined)?.body ?? e.content["body"]));
    expect(versions[0]).toBe("_🔧 search…_");
    expect(versions).toContain(running.body);
    expect(versions.at(-1)).toBe(TOOL_DONE);
    expect(versions.slice(0, -1).every((v) => (v.startsWith("_") && v.endsWith("_")) || v === "tool done")).toBe(true);
  });

  it("continues answers longer than one event in further messages, nothing cut", async () => {
    const expected = longText(20_000);
    await aliceClient.sendText(rooms.chatRoomId, "/long 20000");
    const parts = await eventually("all parts of the long answer", async () => {
      const shown = (await botMessages(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId)).map((m) => m.body ?? "");
      const start = shown.findIndex((b) => expected.startsWith(b) && b.length > 100);
      if (start < 0) return undefined;
      const joined = shown.slice(start).join("");
      return joined === expected ? shown.slice(start) : undefined;
    });
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const part of parts) expect(Buffer.byteLength(part)).toBeLessThanOrEqual(8000);
  });

  it("turns an agent error and an idle agent into short notices", async () => {
    const err = await ask("/error", (m) => m.msgtype === "m.notice" && (m.body ?? "").includes("scripted failure"));
    expect(err.body).toMatch(/error/i);
    const idle = await ask("/hang", (m) => m.msgtype === "m.notice" && (m.body ?? "").includes("stopped answering"), 20_000);
    expect(idle.msgtype).toBe("m.notice");
    // The room still works afterwards.
    await ask("still there?", (m) => m.body === "echo: still there?");
  });

  it("shows typing while the agent works before its answer shows, and clears it once the answer shows", async () => {
    const seen: boolean[] = [];
    const member = (): boolean => {
      const room = aliceClient.client.getRoom(rooms.chatRoomId);
      const typing = room?.getMember(fx.bot.userId)?.typing ?? false;
      seen.push(typing);
      return typing;
    };
    // A tool runs for 2 s before any text: typing shows meanwhile.
    await aliceClient.sendText(rooms.chatRoomId, "/slowtool 2000");
    await eventually("typing on", async () => (member() ? true : undefined), 10_000);
    await waitForBotMessage(synapse.baseUrl, alice.accessToken, rooms.chatRoomId, fx.bot.userId, (m) => m.body === TOOL_DONE);
    await eventually("typing off", async () => (!member() ? true : undefined), 10_000);
  });

  async function finalHtml(msg: ShownMessage): Promise<string> {
    const events = await allEvents(synapse.baseUrl, alice.accessToken, rooms.chatRoomId);
    const edits = events.filter((e) => (e.content["m.relates_to"] as { event_id?: string } | undefined)?.event_id === msg.eventId);
    const content = (edits.length ? edits[edits.length - 1]!.content["m.new_content"] : msg.event.content) as Record<string, unknown>;
    return String(content["formatted_body"] as string | undefined ?? "");
  }
});
