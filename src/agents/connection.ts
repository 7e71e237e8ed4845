/**
 * One long-lived WebSocket to one agent: handshake, liveness pings and
 * reconnects with backoff. Turn bookkeeping lives in turns.ts; this file only
 * knows sockets and frames.
 */
import type { Logger } from "pino";
import WebSocket from "ws";
import type { AgentEndpoint, AgentStatus } from "../core/agent-port.js";
import { backoffDelay, type BackoffOptions } from "./backoff.js";
import {
  encodeFrame,
  parseAgentFrame,
  peekHelloProtocol,
  PROTOCOL_VERSION,
  type AgentFrame,
  type AgentHello,
  type SurfaceFrame,
} from "./protocol.js";
import { agentWsUrl } from "./url.js";

/** Frames above MAX_FRAME_BYTES but below this are dropped; larger ones close the socket (1009). */
const WS_MAX_PAYLOAD = 8 * 1024 * 1024;
export const CLOSE_PROTOCOL_MISMATCH = 4001;

export interface ConnectionOptions {
  endpoint: AgentEndpoint;
  logger: Logger;
  surfaceVersion: string;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  /** Upgrade + agent hello must complete within this. */
  handshakeTimeoutMs: number;
  backoff: BackoffOptions;
  random?: () => number;
}

export interface ConnectionListener {
  /** A validated post-handshake frame (never a hello). */
  onFrame(frame: Exclude<AgentFrame, { type: "hello" }>): void;
  /** An established connection went away (any reason, including close()). */
  onDown(reason: string): void;
  /** The handshake completed; `again` when this connection was up before (a reconnect). */
  onUp?(again: boolean): void;
}

type State = "idle" | "connecting" | "open" | "waiting" | "stopped";

export class AgentConnection {
  private state: State = "idle";
  private ws: WebSocket | undefined;
  private failures = 0;
  private mismatch = false;
  private lastFailed = false;
  private lastAttemptAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private pongTimer: NodeJS.Timeout | undefined;
  private waiters = new Set<(connected: boolean) => void>();
  private everUp = false;
  private closed: Promise<void> | undefined;
  /** The agent's hello of the current connection. */
  agentHello: AgentHello | undefined;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly listener: ConnectionListener,
  ) {}

  get status(): AgentStatus {
    if (this.state === "open") return "connected";
    if (this.state === "stopped" || this.mismatch || this.lastFailed) return "unavailable";
    return "connecting";
  }

  /** True when the agent speaks another protocol: waiting for it is pointless. */
  get protocolMismatch(): boolean {
    return this.mismatch;
  }

  start(): void {
    if (this.state === "idle") this.connect();
  }

  /** Sends a frame if the handshake is done. Returns false when not connected. */
  send(frame: SurfaceFrame): boolean {
    if (this.state !== "open" || this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(encodeFrame(frame));
    return true;
  }

  /**
   * Stops reading from the agent for `ms` (TCP backpressure slows its sends
   * down to what we read). Short pauses only: a pong must get through well
   * within the pong timeout. Returns false (and does nothing) unless open
   * and reading.
   */
  pauseReading(ms: number): boolean {
    const ws = this.ws;
    if (this.state !== "open" || !ws || ws.isPaused) return false;
    ws.pause();
    setTimeout(() => {
      if (this.ws === ws) ws.resume();
    }, ms);
    return true;
  }

  /**
   * Resolves true once connected, false after `timeoutMs`, on protocol
   * mismatch or on close. Cuts a pending backoff wait short so a user's
   * message does not sit out a 30 s delay after the agent came back.
   */
  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.state === "open") return Promise.resolve(true);
    if (this.state === "stopped" || this.mismatch) return Promise.resolve(false);
    if (this.state === "waiting" && Date.now() - this.lastAttemptAt >= this.options.backoff.initialMs) {
      clearTimeout(this.retryTimer);
      this.connect();
    }
    return new Promise((resolve) => {
      const done = (connected: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(connected);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(done);
    });
  }

  /** Stops for good: no more reconnects; resolves once the socket is closed. */
  close(): Promise<void> {
    if (this.closed) return this.closed;
    this.state = "stopped";
    clearTimeout(this.retryTimer);
    this.settleWaiters(false);
    const ws = this.ws;
    this.closed =
      ws === undefined || ws.readyState === WebSocket.CLOSED
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const force = setTimeout(() => ws.terminate(), 1000);
            ws.once("close", () => {
              clearTimeout(force);
              resolve();
            });
            if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
            else ws.close(1001, "surface shutting down");
          });
    return this.closed;
  }

  private connect(): void {
    if (this.state === "stopped") return;
    this.state = "connecting";
    this.lastAttemptAt = Date.now();
    const { endpoint, logger } = this.options;
    const headers: Record<string, string> = {};
    if (endpoint.token) headers.authorization = `Bearer ${endpoint.token}`;
    const ws = new WebSocket(agentWsUrl(endpoint.baseUrl), {
      headers,
      maxPayload: WS_MAX_PAYLOAD,
      handshakeTimeout: this.options.handshakeTimeoutMs,
    });
    this.ws = ws;
    let established = false;
    let error: string | undefined;
    const helloTimer = setTimeout(() => {
      error = "no hello from the agent in time";
      ws.terminate();
    }, this.options.handshakeTimeoutMs);

    ws.on("open", () => {
      const hello: SurfaceFrame = {
        type: "hello",
        protocol: PROTOCOL_VERSION,
        surface: "matrix",
        version: this.options.surfaceVersion,
      };
      ws.send(encodeFrame(hello));
    });
    ws.on("error", (err) => {
      error = err.message;
    });
    ws.on("pong", () => clearTimeout(this.pongTimer));
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        logger.warn("dropped a binary frame; protocol v1 uses text frames only");
        return;
      }
      const raw = rawText(data);
      if (established) {
        this.receive(raw);
        return;
      }
      const outcome = this.handshake(raw);
      if (outcome === "ok") {
        clearTimeout(helloTimer);
        established = true;
        this.opened();
      } else if (outcome === "mismatch") {
        clearTimeout(helloTimer);
        ws.close(CLOSE_PROTOCOL_MISMATCH, "protocol mismatch");
      } else if (outcome === "invalid") {
        clearTimeout(helloTimer);
        error = "invalid hello from the agent";
        ws.close(1002, "invalid hello");
      }
    });
    ws.on("close", (code, reason) => {
      clearTimeout(helloTimer);
      this.stopPing();
      if (this.ws === ws) this.ws = undefined;
      if (established) {
        const detail = { code, reason: reason.toString() };
        if (this.state === "stopped") logger.info(detail, "agent connection closed");
        else logger.warn(detail, "agent connection lost");
        this.listener.onDown("connection_lost");
      } else if (!this.mismatch && this.state !== "stopped") {
        const detail = { code, error: error ?? "closed during handshake", attempt: this.failures + 1 };
        // First failure at warn; repeats at debug so a down agent does not flood the log.
        if (this.failures === 0) logger.warn(detail, "cannot connect to agent; will keep retrying");
        else logger.debug(detail, "agent connection attempt failed");
      }
      this.afterClose(established);
    });
  }

  /** Checks the first frame. "pending" = not a hello yet (dropped). */
  private handshake(raw: string): "ok" | "mismatch" | "invalid" | "pending" {
    const { logger } = this.options;
    const parsed = parseAgentFrame(raw);
    const protocol = parsed.ok ? (parsed.frame.type === "hello" ? parsed.frame.protocol : undefined) : peekHelloProtocol(raw);
    if (protocol !== undefined && protocol !== PROTOCOL_VERSION) {
      this.mismatch = true;
      logger.error(
        { agent_protocol: protocol, surface_protocol: PROTOCOL_VERSION, retry_ms: this.options.backoff.maxMs },
        `agent speaks protocol ${protocol} but this surface speaks protocol ${PROTOCOL_VERSION}; agent marked unavailable`,
      );
      return "mismatch";
    }
    if (parsed.ok && parsed.frame.type === "hello") {
      this.agentHello = parsed.frame;
      return "ok";
    }
    if (!parsed.ok && parsed.type === "hello") {
      logger.warn({ reason: parsed.reason }, "invalid hello from the agent");
      return "invalid";
    }
    logger.warn({ reason: parsed.ok ? `unexpected ${parsed.frame.type}` : parsed.reason }, "dropped a frame before the agent's hello");
    return "pending";
  }

  private opened(): void {
    const hello = this.agentHello;
    this.state = "open";
    this.failures = 0;
    this.lastFailed = false;
    this.mismatch = false;
    this.options.logger.info(
      { agent_name: hello?.agent.name, agent_version: hello?.agent.version, capabilities: hello?.capabilities },
      "agent connected",
    );
    this.startPing();
    this.settleWaiters(true);
    this.listener.onUp?.(this.everUp);
    this.everUp = true;
  }

  private receive(raw: string): void {
    const parsed = parseAgentFrame(raw);
    if (!parsed.ok) {
      this.options.logger.warn(
        { reason: parsed.reason, frame_type: parsed.type, turn: parsed.requestId, bytes: raw.length },
        "dropped an invalid frame from the agent",
      );
      return;
    }
    if (parsed.frame.type === "hello") {
      this.options.logger.warn("dropped a second hello from the agent");
      return;
    }
    this.listener.onFrame(parsed.frame);
  }

  private afterClose(wasOpen: boolean): void {
    if (this.state === "stopped") return;
    let delay: number;
    if (this.mismatch) {
      delay = this.options.backoff.maxMs; // not a hot loop: the agent will not change by itself quickly
    } else if (wasOpen) {
      this.lastFailed = false;
      delay = backoffDelay(0, this.options.backoff, this.options.random);
    } else {
      this.lastFailed = true;
      delay = backoffDelay(this.failures, this.options.backoff, this.options.random);
      this.failures++;
    }
    this.state = "waiting";
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private startPing(): void {
    this.pingTimer = setInterval(() => {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => {
        this.options.logger.warn({ pong_timeout_ms: this.options.pongTimeoutMs }, "agent missed a pong; dropping the connection");
        ws.terminate();
      }, this.options.pongTimeoutMs);
      ws.ping();
    }, this.options.pingIntervalMs);
  }

  private stopPing(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  private settleWaiters(connected: boolean): void {
    for (const done of [...this.waiters]) done(connected);
  }
}

function rawText(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}
