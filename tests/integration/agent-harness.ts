/** Shared helpers for the agent integration tests (real WebSockets on 127.0.0.1). */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import { createAgentPool, type AgentPoolOptions } from "../../src/agents/pool.js";
import type { AgentEndpoint, AgentPort, Attachment, TurnEvent } from "../../src/core/agent-port.js";
import { asAgentId, asChatId, asTurnId, asUserId, type AgentId } from "../../src/core/ids.js";
import { startReferenceAgent, type ReferenceAgent, type ReferenceAgentOptions } from "../../src/reference-agent/server.js";

export const AGENT = asAgentId("ref");

/** A pino logger whose lines land in an array, to assert on warnings. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "debug" }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

export const silent = pino({ level: "silent" });

export function startAgent(overrides: Partial<ReferenceAgentOptions> = {}): Promise<ReferenceAgent> {
  const workspace = mkdtempSync(join(tmpdir(), "surfaces-agent-"));
  return startReferenceAgent({ workspace, logger: silent, ...overrides });
}

export function makePool(
  endpoints: Record<string, AgentEndpoint>,
  overrides: Partial<AgentPoolOptions> = {},
): AgentPort {
  const pool = createAgentPool({
    logger: silent,
    backoff: { initialMs: 20, maxMs: 200 },
    connectGraceMs: 5000,
    ...overrides,
  });
  pool.setAgents(new Map(Object.entries(endpoints).map(([id, ep]) => [asAgentId(id), ep])));
  return pool;
}

let turnSeq = 0;

export interface RunningTurn {
  turnId: ReturnType<typeof asTurnId>;
  events: TurnEvent[];
  /** Resolves with all events once the terminal one arrived. */
  done: Promise<TurnEvent[]>;
  /** The concatenated text deltas so far. */
  text(): string;
}

export async function runTurn(
  pool: AgentPort,
  text: string,
  opts: { agentId?: AgentId; chatId?: string; attachments?: Attachment[] } = {},
): Promise<RunningTurn> {
  const turnId = asTurnId(`turn-${++turnSeq}-${Math.random().toString(36).slice(2)}`);
  const events: TurnEvent[] = [];
  let resolve!: (e: TurnEvent[]) => void;
  const done = new Promise<TurnEvent[]>((r) => (resolve = r));
  await pool.startTurn(
    opts.agentId ?? AGENT,
    {
      turnId,
      chatId: asChatId(opts.chatId ?? "1"),
      user: { id: asUserId("@alice:localhost"), displayName: "Alice" },
      text,
      attachments: opts.attachments ?? [],
    },
    (event) => {
      events.push(event);
      if (event.type === "end" || event.type === "error") resolve(events);
    },
  );
  return { turnId, events, done, text: () => textOf(events) };
}

export const textOf = (events: TurnEvent[]): string =>
  events.map((e) => (e.type === "text" ? e.delta : "")).join("");

/** Polls until `check` is truthy (or throws after `timeoutMs`). */
export async function waitFor<T>(check: () => T | undefined | false, timeoutMs = 5000, what = "condition"): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
