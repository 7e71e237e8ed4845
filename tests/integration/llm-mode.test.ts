/**
 * The reference agent's `llm` mode against a small local fake of the
 * chat-completions API, over a real WebSocket with the real agent pool.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { AgentPort } from "../../src/core/agent-port.js";
import { asChatId } from "../../src/core/ids.js";
import { sseData } from "../../src/reference-agent/llm-stream.js";
import { startReferenceAgent, type ReferenceAgent } from "../../src/reference-agent/server.js";
import { AGENT, makePool, runTurn, silent, waitFor } from "./agent-harness.js";

type Reply = { chunks: object[] } | { status: number; body: string } | { hang: true };
interface Seen {
  auth: string | undefined;
  body: { model: string; stream: boolean; messages: Array<Record<string, unknown>>; tools?: Array<{ function: { name: string } }> };
  aborted: boolean;
}

/** Answers each POST /v1/chat/completions with the next scripted reply. */
async function fakeProvider(replies: Reply[]): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString("utf8")));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
        res.writeHead(404).end();
        return;
      }
      const record: Seen = { auth: req.headers.authorization, body: JSON.parse(raw) as Seen["body"], aborted: false };
      seen.push(record);
      res.on("close", () => (record.aborted = !res.writableFinished));
      const reply = replies.shift() ?? { status: 500, body: "no scripted reply" };
      if ("status" in reply) {
        res.writeHead(reply.status, { "content-type": "application/json" }).end(reply.body);
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      if ("hang" in reply) {
        res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: "thinking" } }] })}\n\n`);
        return; // never finishes; the client must abort
      }
      void (async () => {
        for (const chunk of reply.chunks) {
          res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
          await new Promise((r) => setTimeout(r, 2));
        }
        res.end("data: [DONE]\n\n");
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const text = (s: string): object => ({ choices: [{ index: 0, delta: { content: s }, finish_reason: null }] });
const usage = (i: number, o: number): object => ({ choices: [], usage: { prompt_tokens: i, completion_tokens: o } });
const toolFrag = (index: number, frag: { id?: string; name?: string; args?: string }): object => ({
  choices: [
    {
      index: 0,
      delta: {
        tool_calls: [{ index, ...(frag.id && { id: frag.id, type: "function" }), function: { ...(frag.name && { name: frag.name }), arguments: frag.args ?? "" } }],
      },
    },
  ],
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(replies: Reply[]): Promise<{ pool: AgentPort; agent: ReferenceAgent; seen: Seen[]; workspace: string }> {
  const provider = await fakeProvider(replies);
  const workspace = mkdtempSync(join(tmpdir(), "surfaces-llm-"));
  const agent = await startReferenceAgent({
    workspace,
    logger: silent,
    mode: "llm",
    provider: { url: provider.url, model: "fake-model", apiKey: "sk-test-key" },
  });
  const pool = makePool({ [AGENT]: { baseUrl: agent.url } });
  cleanups.push(provider.close, () => agent.close(), () => pool.close());
  return { pool, agent, seen: provider.seen, workspace };
}

describe("llm mode", () => {
  it("streams the completion as text frames and ends with the usage", async () => {
    const { pool, seen } = await setup([{ chunks: [text("Hel"), text("lo "), text("there"), usage(12, 3)] }]);
    const turn = await runTurn(pool, "hi");
    const events = await turn.done;
    expect(events.filter((e) => e.type === "text").length).toBe(3);
    expect(turn.text()).toBe("Hello there");
    expect(events.at(-1)).toEqual({ type: "end", usage: { inputTokens: 12, outputTokens: 3 } });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.auth).toBe("Bearer sk-test-key");
    expect(seen[0]?.body.model).toBe("fake-model");
    expect(seen[0]?.body.stream).toBe(true);
    expect(seen[0]?.body.tools?.map((t) => t.function.name)).toEqual(["list_files", "read_file", "send_file"]);
    expect(seen[0]?.body.messages.map((m) => m.role)).toEqual(["system", "user"]);
    expect(seen[0]?.body.messages[1]).toEqual({ role: "user", content: "hi" });
  });

  it("keeps history per chat_id and forgets it on chat_closed", async () => {
    const { pool, agent, seen } = await setup([
      { chunks: [text("one")] },
      { chunks: [text("other chat")] },
      { chunks: [text("two")] },
      { chunks: [text("fresh")] },
    ]);
    await (await runTurn(pool, "first", { chatId: "a" })).done;
    await (await runTurn(pool, "elsewhere", { chatId: "b" })).done;
    await (await runTurn(pool, "second", { chatId: "a" })).done;
    expect(seen[1]?.body.messages.slice(1)).toEqual([{ role: "user", content: "elsewhere" }]);
    expect(seen[2]?.body.messages.slice(1)).toEqual([
      { role: "user", content: "first" },
      { role: "assistant", content: "one" },
      { role: "user", content: "second" },
    ]);

    pool.chatClosed(AGENT, asChatId("a"), "cleared");
    await waitFor(() => agent.stats.closedChats.length === 1, 5000, "chat_closed");
    await (await runTurn(pool, "again", { chatId: "a" })).done;
    expect(seen[3]?.body.messages.slice(1)).toEqual([{ role: "user", content: "again" }]);
  });

  it("runs a tool round: read_file and send_file, with tool_call/tool_result and file frames", async () => {
    const { pool, seen, workspace } = await setup([
      {
        chunks: [
          toolFrag(0, { id: "call_r", name: "read_file", args: '{"pa' }),
          toolFrag(0, { args: 'th":"notes.txt"}' }),
          toolFrag(1, { id: "call_s", name: "send_file", args: '{"path":"./notes.txt","caption":"here"}' }),
        ],
      },
      { chunks: [text("I sent it.")] },
    ]);
    writeFileSync(join(workspace, "notes.txt"), "remember the milk");
    const turn = await runTurn(pool, "send me my notes");
    const events = await turn.done;
    expect(events).toEqual([
      { type: "tool_call", callId: "call_r", name: "read_file", args: { path: "notes.txt" } },
      { type: "tool_result", callId: "call_r", ok: true, summary: "read 17 bytes" },
      { type: "tool_call", callId: "call_s", name: "send_file", args: { path: "./notes.txt", caption: "here" } },
      { type: "file", path: "notes.txt", name: "notes.txt", caption: "here" },
      { type: "tool_result", callId: "call_s", ok: true, summary: "sent notes.txt" },
      { type: "text", delta: "I sent it." },
      { type: "end" },
    ]);
    const second = seen[1]?.body.messages ?? [];
    expect(second.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "tool"]);
    expect(second[2]).toMatchObject({ tool_calls: [{ id: "call_r" }, { id: "call_s" }] });
    expect(second[3]).toEqual({ role: "tool", tool_call_id: "call_r", content: "remember the milk" });
  });

  it("refuses tool paths outside the workspace without sending a file", async () => {
    const { pool, seen } = await setup([
      { chunks: [toolFrag(0, { id: "c1", name: "send_file", args: '{"path":"../../etc/passwd"}' })] },
      { chunks: [text("cannot")] },
    ]);
    const events = await (await runTurn(pool, "leak")).done;
    expect(events.some((e) => e.type === "file")).toBe(false);
    expect(events).toContainEqual({ type: "tool_result", callId: "c1", ok: false, summary: 'path "../../etc/passwd" is outside the workspace' });
    expect(seen[1]?.body.messages.at(-1)).toMatchObject({ role: "tool", content: expect.stringMatching(/^error: path/) as unknown });
  });

  it("honours cancel by aborting the provider request", async () => {
    const { pool, agent, seen } = await setup([{ hang: true }]);
    const turn = await runTurn(pool, "think hard");
    await waitFor(() => turn.events.some((e) => e.type === "text"), 5000, "first delta");
    pool.cancel(AGENT, turn.turnId);
    const events = await turn.done;
    expect(events.at(-1)?.type).toBe("end");
    await waitFor(() => seen[0]?.aborted, 5000, "provider request aborted");
    expect(agent.stats.cancels).toHaveLength(1);
  });

  it("fails the turn with provider_error when the provider answers an error status", async () => {
    const { pool } = await setup([{ status: 503, body: '{"error":"overloaded"}' }]);
    const events = await (await runTurn(pool, "hi")).done;
    expect(events).toEqual([
      { type: "error", code: "provider_error", message: 'provider answered HTTP 503: {"error":"overloaded"}', retryable: true },
    ]);
  });
});

describe("sseData", () => {
  it("joins multi-line data, ignores comments and handles CRLF and split chunks", async () => {
    const parts = [": keep-alive\n\ndata: {\"a\":", "1}\r\n\r\ndata: line1\ndata: line2\n\n", "data: [DONE]"];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of parts) c.enqueue(new TextEncoder().encode(p));
        c.close();
      },
    });
    const out: string[] = [];
    for await (const d of sseData(body)) out.push(d);
    expect(out).toEqual(['{"a":1}', "line1\nline2", "[DONE]"]);
  });
});
