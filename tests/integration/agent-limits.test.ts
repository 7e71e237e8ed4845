/**
 * A runaway reference agent over a real WebSocket against the pool's limits:
 * each limit ends the turn with its own code and a cancel, whatever the agent
 * keeps sending is dropped, and a cancel the agent ignores still ends the turn.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMIT_CODES, type AgentPort, type TurnEvent } from "../../src/core/agent-port.js";
import { chunkText } from "../../src/reference-agent/directives.js";
import type { ReferenceAgent } from "../../src/reference-agent/server.js";
import { AGENT, captureLogger, makePool, runTurn, sleep, startAgent, textOf, waitFor } from "./agent-harness.js";

let agent: ReferenceAgent;
let pool: AgentPort;
const log = captureLogger();
const ANSWER_LIMIT = 64 * 1024;

beforeAll(async () => {
  agent = await startAgent();
  pool = makePool(
    { ref: { baseUrl: agent.url } },
    {
      logger: log.logger,
      turnLimits: { maxAnswerBytes: ANSWER_LIMIT, maxFiles: 3, maxConfirms: 2, cancelGraceMs: 300, maxTurnMs: 60_000 },
    },
  );
});

afterAll(async () => {
  await pool.close();
  await agent.close();
});

const terminal = (events: TurnEvent[]): TurnEvent | undefined => events.find((e) => e.type === "end" || e.type === "error");

describe("limits against a runaway agent", () => {
  it("a flood past the answer limit ends the turn at the limit; the agent gets a cancel and its rest is dropped", async () => {
    const turn = await runTurn(pool, "/flood 4000000 8000");
    const events = await turn.done;
    expect(terminal(events)).toMatchObject({ type: "error", code: LIMIT_CODES.answerBytes, limit: ANSWER_LIMIT });
    expect(Buffer.byteLength(textOf(events))).toBeLessThanOrEqual(ANSWER_LIMIT);
    await waitFor(() => agent.stats.cancels.includes(turn.turnId), 5000, "the cancel at the agent");
    await sleep(300); // the agent floods on, ignoring the cancel
    expect(events.filter((e) => e.type === "end" || e.type === "error")).toHaveLength(1);
    expect(log.lines.some((l) => l["msg"] === "dropped frame after the turn ended; later ones for it are logged at debug" && l["turn"] === turn.turnId)).toBe(true);
    // …and read slowly, so the flood costs the bot little and TCP makes the agent wait.
    expect(log.lines.some((l) => l["msg"] === "frames for a turn that is over; reading from the agent slowly" && l["turn"] === turn.turnId)).toBe(true);
    // The connection still serves the next turn.
    expect(textOf(await (await runTurn(pool, "after the flood")).done)).toBe("echo: after the flood");
  });

  it("more files than allowed end the turn", async () => {
    const events = await (await runTurn(pool, "/files 10")).done;
    expect(events.filter((e) => e.type === "file")).toHaveLength(3);
    expect(terminal(events)).toMatchObject({ code: LIMIT_CODES.files, limit: 3 });
  });

  it("more questions than allowed end the turn", async () => {
    const events = await (await runTurn(pool, "/confirms 5")).done;
    expect(events.filter((e) => e.type === "confirm")).toHaveLength(2);
    expect(terminal(events)).toMatchObject({ code: LIMIT_CODES.confirms, limit: 2 });
  });

  it("a cancel the agent ignores ends the turn after the grace period; later frames are dropped", async () => {
    const turn = await runTurn(pool, "/stubborn 1000 20");
    while (turn.events.length < 3) await sleep(10);
    pool.cancel(AGENT, turn.turnId);
    const events = await turn.done;
    expect(terminal(events)).toMatchObject({ type: "error", code: LIMIT_CODES.cancelIgnored, limit: 300 });
    const count = events.length;
    await sleep(200);
    expect(events).toHaveLength(count);
    expect(agent.stats.cancels).toContain(turn.turnId);
  });

  it("a cancel the agent honours ends the turn normally", async () => {
    const turn = await runTurn(pool, "/slow 1000 20");
    while (turn.events.length < 2) await sleep(10);
    pool.cancel(AGENT, turn.turnId);
    expect(terminal(await turn.done)).toEqual({ type: "end" });
  });
});

describe("frame rate", () => {
  it("a connection over its frame rate has the flooding turn ended; a turn within it is untouched", async () => {
    const ratePool = makePool({ ref: { baseUrl: agent.url } }, { maxFramesPerSecond: 500 });
    try {
      const ok = await (await runTurn(ratePool, "/chunks 100")).done;
      expect(textOf(ok)).toBe(chunkText(100));
      await sleep(1100); // the bucket refills
      const flood = await (await runTurn(ratePool, "/chunks 5000")).done;
      expect(terminal(flood)).toMatchObject({ type: "error", code: LIMIT_CODES.frameRate, limit: 500 });
      expect(flood.filter((e) => e.type === "text").length).toBeLessThan(5000);
    } finally {
      await ratePool.close();
    }
  });

  it("the flooding turn pays, not a quiet turn sharing the connection", async () => {
    const ratePool = makePool({ ref: { baseUrl: agent.url } }, { maxFramesPerSecond: 500 });
    try {
      const quiet = await runTurn(ratePool, "/slow 30 20", { chatId: "quiet" });
      const flood = await runTurn(ratePool, "/chunks 20000", { chatId: "loud" });
      expect(terminal(await flood.done)).toMatchObject({ code: LIMIT_CODES.frameRate });
      const calm = await quiet.done;
      expect(terminal(calm)).toEqual({ type: "end" });
      expect(textOf(calm)).toBe(chunkText(30));
    } finally {
      await ratePool.close();
    }
  });
});
