/**
 * The AgentPort over protocol v1: one AgentConnection + one TurnTable per
 * configured agent.
 */
import type { Logger } from "pino";
import {
  AgentUnavailableError,
  LIMIT_CODES,
  type AgentEndpoint,
  type AgentPort,
  type AgentStatus,
  type TurnRequest,
  type TurnSink,
} from "../core/agent-port.js";
import { asChatId, type AgentId, type ChatId, type TurnId } from "../core/ids.js";
import { DEFAULT_BACKOFF, type BackoffOptions } from "./backoff.js";
import { AgentConnection } from "./connection.js";
import { encodeFrame, MAX_FRAME_BYTES, type AgentFrame, type AgentTurnFrame } from "./protocol.js";
import { toMessageFrame } from "./turn-events.js";
import { FrameBudget } from "./frame-budget.js";
import type { TurnLimits } from "./turn-limits.js";
import { TurnTable } from "./turns.js";
import { agentWsUrl } from "./url.js";
import { surfacesVersion } from "./version.js";

export interface AgentPoolOptions {
  logger: Logger;
  /** How long startTurn waits for a connection before AgentUnavailableError. Default 5 s. */
  connectGraceMs?: number;
  /** A turn with no frame this long fails with idle_timeout. Default 120 s. */
  idleTimeoutMs?: number;
  /** Default 30 s. */
  pingIntervalMs?: number;
  /** Default 10 s. */
  pongTimeoutMs?: number;
  /** Upgrade + agent hello deadline. Default 10 s. */
  handshakeTimeoutMs?: number;
  /** An unanswered confirm is refused after this. Default 5 min. */
  confirmTimeoutMs?: number;
  /** Default 0.5 s → 30 s. */
  backoff?: BackoffOptions;
  /** Per-turn limits (answer bytes, files, confirms, turn length, cancel grace); defaults in turn-limits.ts. */
  turnLimits?: Partial<TurnLimits>;
  /** Frames one agent connection may send per second (bursts up to one second's worth). Default 5000. */
  maxFramesPerSecond?: number;
  /** Sent in the surface hello. Default: package.json version. */
  surfaceVersion?: string;
  random?: () => number;
  /** Each completed handshake; `again` for a reconnect (metrics). */
  onConnected?(agentId: AgentId, again: boolean): void;
}

interface Agent {
  endpoint: AgentEndpoint;
  connection: AgentConnection;
  turns: TurnTable;
  log: Logger;
  budget: FrameBudget;
  /** Frames dropped over the rate since the last warning (one warning a second at most). */
  overRate: { dropped: number; warnedAt: number };
}

export const DEFAULT_MAX_FRAMES_PER_SECOND = 5000;
/** Late frames of an ended turn tolerated at full speed; past them, the connection is read slowly. */
const WASTE_GRACE_FRAMES = 16;
/** Then, after each such frame, the connection is not read for this long (at most one read's worth per pause). */
const WASTE_PAUSE_MS = 25;

type NotifyHandler = (agentId: AgentId, chatId: ChatId, text: string, notifyId?: string) => void;

export function createAgentPool(options: AgentPoolOptions): AgentPort {
  const connectGraceMs = options.connectGraceMs ?? 5000;
  const agents = new Map<AgentId, Agent>();
  let notifyHandler: NotifyHandler | undefined;
  const surfaceVersion = options.surfaceVersion ?? surfacesVersion();
  const maxFramesPerSecond = options.maxFramesPerSecond ?? DEFAULT_MAX_FRAMES_PER_SECOND;

  const sendFrame = (agent: Agent, frame: Parameters<AgentConnection["send"]>[0]): boolean => {
    const sent = agent.connection.send(frame);
    if (!sent) agent.log.debug({ frame_type: frame.type }, "agent not connected; frame not sent");
    return sent;
  };

  function onFrame(agentId: AgentId, agent: Agent, frame: Exclude<AgentFrame, { type: "hello" }>): void {
    // Frames of turns already over are dropped without spending the budget:
    // a runaway that ignores its cancel must not cost the other turns theirs.
    const requestId = "request_id" in frame ? frame.request_id : undefined;
    const live = requestId === undefined || agent.turns.has(requestId as TurnId);
    if (!live) {
      // A turn that is over but whose frames keep coming (a runaway ignoring
      // its cancel) is waste: read it slowly, so the flood costs the bot
      // little and TCP makes the agent wait. A few late frames (an agent
      // racing a cancel) cost nothing extra.
      const dropped = requestId === undefined ? undefined : agent.turns.droppedAfterEnd(requestId);
      if (dropped !== undefined && dropped >= WASTE_GRACE_FRAMES && agent.connection.pauseReading(WASTE_PAUSE_MS)) {
        agent.log.debug({ turn: requestId, pause_ms: WASTE_PAUSE_MS }, "frames for a turn that is over; reading from the agent slowly");
      }
    } else if (!agent.budget.take()) {
      return overRate(agentId, agent, frame);
    }
    if (frame.type === "notify") {
      if (!notifyHandler) {
        agent.log.warn({ chat_id: frame.chat_id }, "dropped a notify: no handler registered");
        return;
      }
      try {
        notifyHandler(agentId, asChatId(frame.chat_id), frame.text, frame.id);
      } catch (err) {
        agent.log.error({ err, chat_id: frame.chat_id }, "notify handler threw; ignored");
      }
      return;
    }
    if (frame.type === "error" && frame.request_id === undefined) {
      // "the agent failed": nothing in flight can complete.
      agent.log.error({ code: frame.code, message: frame.message }, "agent reported a failure; failing its open turns");
      agent.turns.failAll({ type: "error", code: frame.code, message: frame.message, retryable: frame.retryable });
      return;
    }
    agent.turns.deliver(frame as typeof frame & { request_id: string });
  }

  /**
   * Over the connection's frame rate: the turn sending the most frames ends
   * with a notice and a cancel. Frames of other turns still go through (the
   * flood is that turn's, not theirs); other frames are dropped, with one
   * warning a second.
   */
  function overRate(agentId: AgentId, agent: Agent, frame: Exclude<AgentFrame, { type: "hello" }>): void {
    const culprit = agent.turns.busiest();
    if (culprit !== undefined) {
      agent.turns.giveUp(culprit, LIMIT_CODES.frameRate, `the agent sent more than ${maxFramesPerSecond} frames a second`, maxFramesPerSecond);
    }
    if (frame.type !== "notify" && frame.request_id !== undefined && frame.request_id !== culprit && agent.turns.has(frame.request_id as TurnId)) {
      agent.turns.deliver(frame as AgentTurnFrame & { request_id: string });
      return;
    }
    agent.overRate.dropped++;
    const now = Date.now();
    if (now - agent.overRate.warnedAt >= 1000) {
      agent.log.warn(
        { agent_id: agentId, dropped: agent.overRate.dropped, max_frames_per_second: maxFramesPerSecond },
        "agent over its frame rate; dropped frames",
      );
      agent.overRate = { dropped: 0, warnedAt: now };
    }
  }

  function createAgent(agentId: AgentId, endpoint: AgentEndpoint): Agent {
    const log = options.logger.child({ agent_id: agentId });
    const holder: { agent?: Agent } = {};
    const turns = new TurnTable({
      logger: log,
      idleTimeoutMs: options.idleTimeoutMs ?? 120_000,
      confirmTimeoutMs: options.confirmTimeoutMs ?? 5 * 60_000,
      ...(options.turnLimits && { limits: options.turnLimits }),
      onGiveUp: (turnId) => connection.send({ type: "cancel", request_id: turnId }),
      onConfirmTimeout: (turnId, confirmId) =>
        connection.send({ type: "confirm_result", request_id: turnId, confirm_id: confirmId, approved: false }),
    });
    const connection = new AgentConnection(
      {
        endpoint,
        logger: log,
        surfaceVersion,
        pingIntervalMs: options.pingIntervalMs ?? 30_000,
        pongTimeoutMs: options.pongTimeoutMs ?? 10_000,
        handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
        backoff: options.backoff ?? DEFAULT_BACKOFF,
        ...(options.random && { random: options.random }),
      },
      {
        onFrame: (frame) => holder.agent && onFrame(agentId, holder.agent, frame),
        onDown: () => turns.failAll(connectionLost),
        onUp: (again) => options.onConnected?.(agentId, again),
      },
    );
    const budget = new FrameBudget(maxFramesPerSecond);
    holder.agent = { endpoint, connection, turns, log, budget, overRate: { dropped: 0, warnedAt: 0 } };
    return holder.agent;
  }

  async function retire(agent: Agent): Promise<void> {
    const closing = agent.connection.close();
    agent.turns.failAll(connectionLost);
    await closing;
  }

  return {
    async startTurn(agentId: AgentId, request: TurnRequest, sink: TurnSink): Promise<void> {
      const agent = agents.get(agentId);
      if (!agent) throw new AgentUnavailableError(agentId, "not configured");
      if (!(await agent.connection.waitConnected(connectGraceMs))) {
        const reason = agent.connection.protocolMismatch ? "speaks another protocol version" : "not connected";
        throw new AgentUnavailableError(agentId, reason);
      }
      // The agent may have been replaced (hot reload) while we waited.
      if (agents.get(agentId) !== agent) throw new AgentUnavailableError(agentId, "reconfigured");
      const frame = toMessageFrame(request);
      if (Buffer.byteLength(encodeFrame(frame), "utf8") > MAX_FRAME_BYTES) {
        throw new Error(`message for turn ${request.turnId} exceeds ${MAX_FRAME_BYTES} bytes`);
      }
      agent.turns.open(request.turnId, request.chatId, sink);
      if (!agent.connection.send(frame)) {
        agent.turns.discard(request.turnId);
        throw new AgentUnavailableError(agentId, "connection dropped");
      }
      agent.log.debug({ turn: request.turnId, chat_id: request.chatId }, "turn sent");
    },

    cancel(agentId: AgentId, turnId: TurnId): void {
      const agent = agents.get(agentId);
      if (!agent?.turns.has(turnId)) return;
      sendFrame(agent, { type: "cancel", request_id: turnId });
      agent.turns.cancelled(turnId);
    },

    confirmResult(agentId: AgentId, turnId: TurnId, confirmId: string, approved: boolean, always?: boolean): void {
      const agent = agents.get(agentId);
      if (!agent) return;
      if (!agent.turns.confirmAnswered(turnId, confirmId)) {
        agent.log.debug({ turn: turnId, confirm_id: confirmId }, "confirm answer for no pending confirm; dropped");
        return;
      }
      sendFrame(agent, { type: "confirm_result", request_id: turnId, confirm_id: confirmId, approved, ...(always ? { always: true } : {}) });
    },

    chatClosed(agentId: AgentId, chatId: ChatId, reason: "cleared" | "archived"): void {
      const agent = agents.get(agentId);
      if (agent) sendFrame(agent, { type: "chat_closed", chat_id: chatId, reason });
    },

    onNotify(handler: NotifyHandler): void {
      notifyHandler = handler;
    },

    status(agentId: AgentId): AgentStatus {
      return agents.get(agentId)?.connection.status ?? "unavailable";
    },

    setAgents(next: ReadonlyMap<AgentId, AgentEndpoint>): void {
      for (const [agentId, agent] of agents) {
        const wanted = next.get(agentId);
        if (wanted && wanted.baseUrl === agent.endpoint.baseUrl && wanted.token === agent.endpoint.token) continue;
        agents.delete(agentId);
        agent.log.info(wanted ? "agent endpoint changed; reconnecting" : "agent removed; closing");
        void retire(agent);
      }
      for (const [agentId, endpoint] of next) {
        if (agents.has(agentId)) continue;
        try {
          agentWsUrl(endpoint.baseUrl);
        } catch (err) {
          options.logger.error({ agent_id: agentId, err }, "agent base_url is not usable; agent stays unavailable");
          continue;
        }
        const agent = createAgent(agentId, endpoint);
        agents.set(agentId, agent);
        agent.connection.start();
      }
    },

    async close(): Promise<void> {
      const all = [...agents.values()];
      agents.clear();
      await Promise.all(all.map(retire));
    },
  };
}

const connectionLost = {
  type: "error",
  code: "connection_lost",
  message: "the connection to the agent was lost",
  retryable: true,
} as const;
