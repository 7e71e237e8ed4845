/**
 * The bot's Prometheus metrics. One registry per App (not prom-client's
 * global one) so tests can run several bots in one process and read each
 * one's numbers in isolation.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { LIMIT_CODES, type AgentPort, type AgentStatus } from "../core/agent-port.js";
import type { AgentId } from "../core/ids.js";

export type FileDirection = "inbound" | "outbound";

/** What the files layer reports; a tiny interface so it does not depend on prom-client. */
export interface FileMetrics {
  /** One file moved between Matrix and an agent workspace (inbound: user → agent). */
  fileRelayed(direction: FileDirection, bytes: number): void;
}

export interface MetricsSources {
  /** Tasks queued or running in the dispatcher. */
  queueDepth(): number;
  /** Agents currently in the registry. */
  agentIds(): Iterable<AgentId>;
  agents: Pick<AgentPort, "status">;
}

const STATES: readonly AgentStatus[] = ["connected", "connecting", "unavailable"];
// Turns stream for seconds to minutes; sends take milliseconds to seconds.
const TURN_BUCKETS = [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Metrics implements FileMetrics {
  readonly registry = new Registry();
  readonly turnsStarted = new Counter({ name: "surfaces_turns_started_total", help: "Turns handed to an agent.", labelNames: ["agent"] as const, registers: [this.registry] });
  readonly turnsFinished = new Counter({ name: "surfaces_turns_finished_total", help: "Turns that ended normally.", labelNames: ["agent"] as const, registers: [this.registry] });
  readonly turnsFailed = new Counter({
    name: "surfaces_turns_failed_total",
    help: "Turns that failed (code: one of FAILURE_CODES; any other agent error code counts as other).",
    labelNames: ["agent", "code"] as const,
    registers: [this.registry],
  });
  readonly timeToFirstText = new Histogram({
    name: "surfaces_turn_first_text_seconds",
    help: "From forwarding a turn to the agent's first text delta.",
    labelNames: ["agent"] as const,
    buckets: TURN_BUCKETS,
    registers: [this.registry],
  });
  readonly firstVisible = new Histogram({
    name: "surfaces_reply_first_visible_seconds",
    help: "From opening a reply to its first event being visible in the room.",
    buckets: TURN_BUCKETS,
    registers: [this.registry],
  });
  readonly turnDuration = new Histogram({
    name: "surfaces_turn_duration_seconds",
    help: "From forwarding a turn to its end or error.",
    labelNames: ["agent", "outcome"] as const,
    buckets: TURN_BUCKETS,
    registers: [this.registry],
  });
  readonly sendLatency = new Histogram({
    name: "surfaces_matrix_send_seconds",
    help: "Latency of one successful Matrix send request.",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({ name: "surfaces_matrix_rate_limited_total", help: "HTTP 429 responses seen from the homeserver.", registers: [this.registry] });
  readonly filesRelayed = new Counter({ name: "surfaces_files_relayed_total", help: "Files moved between Matrix and agent workspaces.", labelNames: ["direction"] as const, registers: [this.registry] });
  readonly agentReconnects = new Counter({ name: "surfaces_agent_reconnects_total", help: "Agent connections re-established after a loss.", labelNames: ["agent"] as const, registers: [this.registry] });
  readonly fileBytes = new Counter({ name: "surfaces_file_bytes_total", help: "Bytes of files moved between Matrix and agent workspaces.", labelNames: ["direction"] as const, registers: [this.registry] });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "surfaces_" });
    // Pre-create the label sets an operator alerts on, so they read 0 instead of being absent.
    for (const direction of ["inbound", "outbound"] as const) {
      this.filesRelayed.inc({ direction }, 0);
      this.fileBytes.inc({ direction }, 0);
    }
  }

  fileRelayed(direction: FileDirection, bytes: number): void {
    this.filesRelayed.inc({ direction });
    this.fileBytes.inc({ direction }, Math.max(0, bytes));
  }

  /** Gauges read live state at scrape time, so they can never drift from it. */
  bindSources(sources: MetricsSources): void {
    new Gauge({
      name: "surfaces_queue_depth",
      help: "Events queued or being handled by the dispatcher.",
      registers: [this.registry],
      collect() {
        this.set(sources.queueDepth());
      },
    });
    new Gauge({
      name: "surfaces_agent_connection_state",
      help: "1 for the agent's current connection state, 0 for the others.",
      labelNames: ["agent", "state"] as const,
      registers: [this.registry],
      collect() {
        this.reset(); // agents removed from the registry disappear
        for (const agent of sources.agentIds()) {
          const current = sources.agents.status(agent);
          for (const state of STATES) this.set({ agent, state }, state === current ? 1 : 0);
        }
      },
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * The `code` label of failed turns is a fixed set: an agent chooses its error
 * codes freely, and an unbounded label would grow the metrics without limit.
 * The bot's own codes, the conventional agent ones (docs/agent-protocol.md),
 * and `other` for everything else.
 */
export const FAILURE_CODES = [
  "unavailable",
  "start_failed",
  "idle_timeout",
  "connection_lost",
  ...Object.values(LIMIT_CODES),
  "agent_error",
  "model_error",
  "tool_error",
  "rate_limited",
  "timeout",
  "other",
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

const KNOWN_CODES: ReadonlySet<string> = new Set(FAILURE_CODES);
export const failureLabel = (code: string): FailureCode => (KNOWN_CODES.has(code) ? (code as FailureCode) : "other");
