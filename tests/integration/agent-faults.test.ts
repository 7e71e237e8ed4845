/** Failure handling of the pool: timeouts, mismatches, auth, restarts, bad frames, dead sockets. */
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import type { AgentPort, TurnEvent } from "../../src/core/agent-port.js";
import { asAgentId } from "../../src/core/ids.js";
import type { ReferenceAgent } from "../../src/reference-agent/server.js";
import { AGENT, captureLogger, makePool, runTurn, sleep, startAgent, textOf, waitFor } from "./agent-harness.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function agentUp(overrides = {}): Promise<ReferenceAgent> {
  const agent = await startAgent(overrides);
  cleanups.push(() => agent.close());
  return agent;
}

function pool(...args: Parameters<typeof makePool>): AgentPort {
  const p = makePool(...args);
  cleanups.push(() => p.close());
  return p;
}

/** A bare WebSocket server at /agent_ws/ whose behaviour each test scripts. */
async function fakeAgent(onSocket: (ws: WebSocket) => void, opts: { autoPong?: boolean } = {}) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/agent_ws/", autoPong: opts.autoPong ?? true });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  let connections = 0;
  wss.on("connection", (ws) => {
    connections++;
    onSocket(ws);
  });
  cleanups.push(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`, connections: () => connections };
}

const hello = (protocol: number) => JSON.stringify({ type: "hello", protocol, agent: { name: "fake", version: "9" } });
const terminals = (events: TurnEvent[]) => events.filter((e) => e.type === "end" || e.type === "error");

describe("agent pool faults", () => {
  it("fails an idle turn with idle_timeout and cancels it at the agent", async () => {
    const agent = await agentUp();
    const p = pool({ ref: { baseUrl: agent.url } }, { idleTimeoutMs: 150 });
    const turn = await runTurn(p, "/hang");
    const events = await turn.done;
    expect(events).toEqual([{ type: "error", code: "idle_timeout", message: expect.any(String) as unknown, retryable: true }]);
    // the agent is told to stop; its `end` for the cancelled turn is dropped, not delivered twice
    await waitFor(() => agent.stats.cancels.includes(turn.turnId), 5000, "cancel at the agent");
    await (await runTurn(p, "after")).done;
    expect(turn.events).toHaveLength(1);
  });

  it("does not time out a turn that waits on a confirm", async () => {
    const agent = await agentUp();
    const p = pool({ ref: { baseUrl: agent.url } }, { idleTimeoutMs: 100 });
    const turn = await runTurn(p, "/confirm");
    await waitFor(() => turn.events.length === 1, 5000, "confirm");
    await sleep(400); // four idle timeouts' worth
    expect(turn.events).toEqual([{ type: "confirm", confirmId: "confirm-1", prompt: "Proceed?" }]);
    p.confirmResult(AGENT, turn.turnId, "confirm-1", true);
    expect(textOf(await turn.done)).toBe("approved");
  });

  for (const [label, agentHello] of [
    ["a v2 hello", hello(2)],
    ["a v2 hello of another shape", JSON.stringify({ type: "hello", protocol: 2, agent: "fake/2.0" })],
  ] as const) {
    it(`marks an agent that sends ${label} unavailable and does not hot-loop`, async () => {
      const { logger, lines } = captureLogger();
      const fake = await fakeAgent((ws) => ws.once("message", () => ws.send(agentHello)));
      const p = pool({ ref: { baseUrl: fake.url } }, { logger, backoff: { initialMs: 1, maxMs: 600 }, connectGraceMs: 60_000 });
      await waitFor(() => fake.connections() === 1 && p.status(AGENT) === "unavailable", 5000, "mismatch");
      // with a 1 ms initial backoff a hot loop would reconnect dozens of times here
      await sleep(250);
      expect(fake.connections()).toBe(1);
      expect(lines.some((l) => l.level === 50 && String(l.msg).includes("protocol 2"))).toBe(true);
      // no waiting out the 60 s grace: it rejects at once
      await expect(runTurn(p, "hi")).rejects.toMatchObject({ name: "AgentUnavailableError" });
      // it does retry, at the cap
      await waitFor(() => fake.connections() >= 2, 5000, "retry at the cap");
    });
  }

  it("sends the bearer token and is refused without the right one", async () => {
    const agent = await agentUp({ token: "s3cret" });
    const good = pool({ ref: { baseUrl: agent.url, token: "s3cret" } });
    expect(textOf(await (await runTurn(good, "hi")).done)).toBe("echo: hi");
    const accepted = agent.stats.connections;

    const bad = pool({ ref: { baseUrl: agent.url, token: "wrong" }, none: { baseUrl: agent.url } }, { connectGraceMs: 300 });
    await expect(runTurn(bad, "hi")).rejects.toMatchObject({ name: "AgentUnavailableError" });
    await expect(runTurn(bad, "hi", { agentId: asAgentId("none") })).rejects.toMatchObject({ name: "AgentUnavailableError" });
    expect(bad.status(AGENT)).toBe("unavailable");
    expect(agent.stats.connections).toBe(accepted);
  });

  it("reconnects after the agent restarts on the same port; the open turn gets connection_lost", async () => {
    const first = await startAgent();
    const port = first.port;
    const p = pool({ ref: { baseUrl: first.url } });
    const hanging = await runTurn(p, "/hang");
    await first.close();
    expect(await hanging.done).toEqual([
      { type: "error", code: "connection_lost", message: expect.any(String) as unknown, retryable: true },
    ]);
    await waitFor(() => p.status(AGENT) !== "connected", 5000, "disconnect");
    const second = await agentUp({ port });
    expect(textOf(await (await runTurn(p, "back again")).done)).toBe("echo: back again");
    expect(second.stats.connections).toBe(1);
  });

  it("waits for a connection within the grace period when the agent comes up late", async () => {
    const probe = await startAgent();
    const port = probe.port;
    await probe.close();
    const p = pool({ ref: { baseUrl: `http://127.0.0.1:${port}` } }, { backoff: { initialMs: 50, maxMs: 30_000 } });
    await waitFor(() => p.status(AGENT) === "unavailable", 5000, "first failure");
    const pending = runTurn(p, "late");
    await agentUp({ port });
    expect(textOf(await (await pending).done)).toBe("echo: late");
  });

  it("fails every open turn with connection_lost when the socket dies mid-answer, then recovers", async () => {
    const agent = await agentUp();
    const p = pool({ ref: { baseUrl: agent.url } });
    const other = await runTurn(p, "/hang", { chatId: "2" });
    const dying = await runTurn(p, "/die", { chatId: "1" });
    const lost = { type: "error", code: "connection_lost", message: expect.any(String) as unknown, retryable: true };
    expect(await dying.done).toEqual([{ type: "text", delta: "dying" }, lost]);
    expect(await other.done).toEqual([lost]);
    expect(textOf(await (await runTurn(p, "still here")).done)).toBe("echo: still here");
    expect(agent.stats.connections).toBe(2);
  });

  it("drops a connection whose pongs stop coming", async () => {
    const fake = await fakeAgent(
      (ws) => ws.once("message", () => ws.send(hello(1))),
      { autoPong: false },
    );
    const p = pool({ ref: { baseUrl: fake.url } }, { pingIntervalMs: 50, pongTimeoutMs: 50 });
    const turn = await runTurn(p, "anyone?");
    expect(await turn.done).toMatchObject([{ type: "error", code: "connection_lost" }]);
    await waitFor(() => fake.connections() >= 2, 5000, "reconnect");
  });

  it("fails open turns on an agent-wide error and keeps the connection", async () => {
    let socket: WebSocket | undefined;
    const fake = await fakeAgent((ws) => {
      socket = ws;
      ws.once("message", () => ws.send(hello(1)));
    });
    const p = pool({ ref: { baseUrl: fake.url } });
    const turn = await runTurn(p, "x");
    socket?.send(JSON.stringify({ type: "error", code: "overloaded", message: "too busy", retryable: true }));
    expect(await turn.done).toEqual([{ type: "error", code: "overloaded", message: "too busy", retryable: true }]);
    expect(p.status(AGENT)).toBe("connected");
    expect(fake.connections()).toBe(1);
  });

  it("drops bad frames with a warning, never a crash or a duplicate terminal", async () => {
    const { logger, lines } = captureLogger();
    const agent = await agentUp();
    const p = pool({ ref: { baseUrl: agent.url } }, { logger });
    for (const kind of ["json", "type", "fields", "unknown-request", "double-end", "after-end", "huge"]) {
      const warnsBefore = lines.filter((l) => l.level === 40).length;
      const turn = await runTurn(p, `/bad ${kind}`);
      const events = await turn.done;
      // a later turn on the same socket proves the late frames were read (frames arrive in order)
      await (await runTurn(p, "sync")).done;
      expect(textOf(turn.events), kind).toBe(`bad ${kind} sent`);
      expect(terminals(turn.events), kind).toEqual([{ type: "end" }]);
      expect(turn.events, kind).toEqual(events);
      expect(lines.filter((l) => l.level === 40).length, kind).toBeGreaterThan(warnsBefore);
    }
    expect(agent.stats.connections).toBe(1);
  });

  it("setAgents closes removed agents (their turns get connection_lost) and connects new ones", async () => {
    const a = await agentUp();
    const b = await agentUp();
    const p = pool({ ref: { baseUrl: a.url } });
    const turn = await runTurn(p, "/hang");
    p.setAgents(new Map([[asAgentId("other"), { baseUrl: b.url }]]));
    expect(await turn.done).toMatchObject([{ type: "error", code: "connection_lost" }]);
    expect(p.status(AGENT)).toBe("unavailable");
    expect(textOf(await (await runTurn(p, "hi", { agentId: asAgentId("other") })).done)).toBe("echo: hi");
  });

  it("close() ends pending turns with connection_lost", async () => {
    const agent = await agentUp();
    const p = makePool({ ref: { baseUrl: agent.url } });
    const turn = await runTurn(p, "/hang");
    await p.close();
    expect(await turn.done).toMatchObject([{ type: "error", code: "connection_lost" }]);
    expect(p.status(AGENT)).toBe("unavailable");
  });
});
