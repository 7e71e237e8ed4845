/** The pool against the real reference agent: handshake, turns and every directive. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentPort, TurnEvent } from "../../src/core/agent-port.js";
import { asChatId } from "../../src/core/ids.js";
import { chunkText, longText, MARKDOWN_SAMPLE } from "../../src/reference-agent/directives.js";
import type { ReferenceAgent } from "../../src/reference-agent/server.js";
import { AGENT, makePool, runTurn, startAgent, textOf, waitFor } from "./agent-harness.js";

let agent: ReferenceAgent;
let pool: AgentPort;

beforeAll(async () => {
  agent = await startAgent();
  pool = makePool({ ref: { baseUrl: agent.url } });
});

afterAll(async () => {
  await pool.close();
  await agent.close();
});

const terminals = (events: TurnEvent[]) => events.filter((e) => e.type === "end" || e.type === "error");

describe("reference agent over a real WebSocket", () => {
  it("serves /health", async () => {
    const res = await fetch(`${agent.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok", mode: "scripted" });
  });

  it("completes the handshake and reports connected", async () => {
    await waitFor(() => pool.status(AGENT) === "connected", 5000, "connected");
    expect(agent.stats.connections).toBe(1);
    expect(pool.status(asChatId("nobody") as never)).toBe("unavailable");
  });

  it("echoes a message with its attachments and usage", async () => {
    const attachments = [{ path: "inbox/1/1700000000000-a.png", name: "a.png", mime: "image/png", size: 1234 }];
    const turn = await runTurn(pool, "hello there", { chatId: "41", attachments });
    const events = await turn.done;
    expect(textOf(events)).toBe("echo: hello there\nattachment: a.png (image/png, 1234 bytes) at inbox/1/1700000000000-a.png");
    expect(events.filter((e) => e.type === "text").length).toBeGreaterThanOrEqual(2);
    expect(events.at(-1)).toEqual({ type: "end", usage: { inputTokens: 11, outputTokens: textOf(events).length } });
    expect(agent.stats.messages.at(-1)).toEqual({ chat_id: "41", text: "hello there", attachments });
  });

  it("keeps concurrent turns of different chats apart", async () => {
    const turns = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runTurn(pool, i % 2 ? `/slow 4 5` : `message ${i}`, { chatId: String(100 + i) })),
    );
    const results = await Promise.all(turns.map((t) => t.done));
    results.forEach((events, i) => {
      expect(textOf(events)).toBe(i % 2 ? chunkText(4) : `echo: message ${i}`);
      expect(terminals(events)).toHaveLength(1);
    });
  });

  it("/slow N streams N chunks, /chunks N floods them", async () => {
    const slow = await (await runTurn(pool, "/slow 3 10")).done;
    expect(slow.map((e) => e.type)).toEqual(["text", "text", "text", "end"]);
    expect(textOf(slow)).toBe("chunk 1 chunk 2 chunk 3 ");
    const flood = await (await runTurn(pool, "/chunks 2000")).done;
    expect(flood.filter((e) => e.type === "text")).toHaveLength(2000);
    expect(textOf(flood)).toBe(chunkText(2000));
  });

  it("/file sends the path verbatim with its caption", async () => {
    const events = await (await runTurn(pool, "/file ../../etc/passwd the secrets")).done;
    expect(events).toEqual([
      { type: "file", path: "../../etc/passwd", caption: "the secrets" },
      { type: "text", delta: "sent ../../etc/passwd" },
      { type: "end" },
    ]);
  });

  it("/error fails the turn", async () => {
    const events = await (await runTurn(pool, "/error")).done;
    expect(events).toEqual([{ type: "error", code: "scripted_error", message: "scripted failure", retryable: false }]);
  });

  it("/tool, /progress, /table, /code emit their structured frames", async () => {
    expect(await (await runTurn(pool, "/tool cats")).done).toEqual([
      { type: "tool_call", callId: "call-1", name: "search", args: { query: "cats" } },
      { type: "tool_result", callId: "call-1", ok: true, summary: "3 results" },
      { type: "text", delta: "tool done" },
      { type: "end" },
    ]);
    expect(await (await runTurn(pool, "/progress")).done).toEqual([
      { type: "progress", text: "step 1/3" },
      { type: "progress", text: "step 2/3" },
      { type: "progress", text: "step 3/3" },
      { type: "text", delta: "progress done" },
      { type: "end" },
    ]);
    expect(await (await runTurn(pool, "/table")).done).toEqual([
      { type: "block", block: { kind: "table", headers: ["name", "value"], rows: [["alpha", "1"], ["beta", "2"]] } },
      { type: "end" },
    ]);
    expect(await (await runTurn(pool, "/code")).done).toEqual([
      { type: "block", block: { kind: "code", language: "ts", code: "const answer: number = 42;\nconsole.log(answer);" } },
      { type: "end" },
    ]);
  });

  it("/markdown and /long N answer their exact texts", async () => {
    expect(textOf(await (await runTurn(pool, "/markdown")).done)).toBe(MARKDOWN_SAMPLE);
    const long = await (await runTurn(pool, "/long 2500")).done;
    expect(textOf(long)).toBe(longText(2500));
    expect(long.filter((e) => e.type === "text").map((e) => (e.type === "text" ? e.delta.length : 0))).toEqual([1000, 1000, 500]);
  });

  it("/notify ends the turn, then pushes a notify for the chat", async () => {
    const notes: Array<[string, string, string]> = [];
    pool.onNotify((agentId, chatId, text) => notes.push([agentId, chatId, text]));
    const events = await (await runTurn(pool, "/notify 30 build done", { chatId: "77" })).done;
    expect(events).toEqual([{ type: "text", delta: "will notify" }, { type: "end" }]);
    await waitFor(() => notes.length > 0, 5000, "notify");
    expect(notes).toEqual([["ref", "77", "build done"]]);
  });

  it("/confirm waits for the answer and reports it", async () => {
    for (const approved of [true, false]) {
      const turn = await runTurn(pool, "/confirm Delete 3 files?");
      const ask = await waitFor(() => turn.events.find((e) => e.type === "confirm"), 5000, "confirm");
      expect(ask).toEqual({ type: "confirm", confirmId: "confirm-1", prompt: "Delete 3 files?" });
      pool.confirmResult(AGENT, turn.turnId, "confirm-1", approved);
      const events = await turn.done;
      expect(events.slice(1)).toEqual([{ type: "text", delta: approved ? "approved" : "refused" }, { type: "end" }]);
    }
  });

  it("chat_closed reaches the agent", async () => {
    pool.chatClosed(AGENT, asChatId("41"), "archived");
    await waitFor(() => agent.stats.closedChats.length > 0, 5000, "chat_closed");
    expect(agent.stats.closedChats).toEqual([{ chat_id: "41", reason: "archived" }]);
  });

  it("cancel stops a slow turn with a single end", async () => {
    const turn = await runTurn(pool, "/slow 1000 20");
    await waitFor(() => turn.events.length >= 2, 5000, "first chunks");
    pool.cancel(AGENT, turn.turnId);
    const events = await turn.done;
    expect(events.at(-1)).toEqual({ type: "end" });
    expect(events.filter((e) => e.type === "text").length).toBeLessThan(1000);
    expect(terminals(events)).toHaveLength(1);
    expect(agent.stats.cancels).toContain(turn.turnId);
    // and a /hang can be cancelled too
    const hang = await runTurn(pool, "/hang");
    pool.cancel(AGENT, hang.turnId);
    expect(await hang.done).toEqual([{ type: "end" }]);
  });

  it("rejects turns for unknown agents", async () => {
    await expect(runTurn(pool, "hi", { agentId: "ghost" as never })).rejects.toMatchObject({ name: "AgentUnavailableError" });
  });
});
