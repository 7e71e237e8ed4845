/**
 * A message for an agent that is down waits for it (SURFACES_AGENT_WAIT_MS):
 * one "waiting" notice, then the answer once the agent is back — or, after
 * the wait, on `!stop` or at shutdown, one notice that it was not delivered.
 * Real pool, real reference agent on a fixed port, real TurnRunner.
 */
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TurnRunner } from "../../src/core/turn-runner.js";
import { strings } from "../../src/core/strings.js";
import { asChatId, asEventId, asRoomId, asUserId } from "../../src/core/ids.js";
import { startReferenceAgent, type ReferenceAgent } from "../../src/reference-agent/server.js";
import { AGENT, makePool, silent, sleep, waitFor } from "./agent-harness.js";
import { recordingChat, type RecordingChat } from "./recording-chat.js";

const ROOM = asRoomId("!wait:localhost");
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function agentOn(port: number): Promise<ReferenceAgent> {
  const agent = await startReferenceAgent({ port, workspace: mkdtempSync(join(tmpdir(), "surfaces-wait-")), logger: silent });
  cleanups.push(() => agent.close());
  return agent;
}

let seq = 0;
function setup(port: number, agentWaitMs: number): { chat: RecordingChat; runner: TurnRunner } {
  const pool = makePool({ [AGENT]: { baseUrl: `http://127.0.0.1:${port}` } }, { connectGraceMs: 150 });
  cleanups.push(() => pool.close());
  const chat = recordingChat();
  const runner = new TurnRunner({ chat, agents: pool, logger: silent, idleTimeoutMs: 5000, agentWaitMs, onForwarded: () => undefined });
  return { chat, runner };
}

const run = (runner: TurnRunner, text: string): Promise<void> =>
  runner.run({
    roomId: ROOM,
    eventId: asEventId(`$w${++seq}`),
    agentId: AGENT,
    chatId: asChatId("1"),
    user: { id: asUserId("@alice:localhost") },
    text,
    attachments: [],
  });

describe("a message for an agent that is down", () => {
  it("waits with one notice and is answered once when the agent comes back", async () => {
    const port = await freePort();
    const { chat, runner } = setup(port, 30_000);
    const turn = run(runner, "are you back?");
    await waitFor(() => chat.notices.length > 0, 5000, "the waiting notice");
    await sleep(600); // several retries pass while the agent stays down
    expect(chat.notices.map((n) => n.text)).toEqual([strings.agentWaiting(AGENT, 30_000)]);
    await agentOn(port);
    await turn;
    expect(chat.replies.map((r) => r.text)).toEqual(["echo: are you back?"]);
    expect(chat.notices).toHaveLength(1);
  });

  it("is refused with one more notice once the wait is over", async () => {
    const port = await freePort();
    const { chat, runner } = setup(port, 700);
    await run(runner, "hello?");
    expect(chat.notices.map((n) => n.text)).toEqual([strings.agentWaiting(AGENT, 700), strings.agentUnavailable(AGENT)]);
    expect(chat.replies[0]?.text).toBe("");
  });

  it("gives up at once on !stop, and at shutdown", async () => {
    const port = await freePort();
    const { chat, runner } = setup(port, 60_000);
    const first = run(runner, "one");
    await waitFor(() => chat.notices.length > 0, 5000, "the waiting notice");
    expect(runner.stop(ROOM)).toBe("stopped");
    await first;
    expect(chat.notices.map((n) => n.text)).toEqual([strings.agentWaiting(AGENT, 60_000), strings.waitCancelled]);

    const second = run(runner, "two");
    await waitFor(() => chat.notices.length > 2, 5000, "the second waiting notice");
    runner.close();
    await second;
    expect(chat.notices.map((n) => n.text).slice(2)).toEqual([strings.agentWaiting(AGENT, 60_000), strings.agentUnavailable(AGENT)]);
  });

  it("with a wait of 0 is refused at once, as before", async () => {
    const port = await freePort();
    const { chat, runner } = setup(port, 0);
    await run(runner, "now?");
    expect(chat.notices.map((n) => n.text)).toEqual([strings.agentUnavailable(AGENT)]);
  });
});
