/**
 * One surface connection to the reference agent: handshake, frame dispatch,
 * and the per-turn bookkeeping that guarantees one terminal frame per turn.
 */
import type { Logger } from "pino";
import WebSocket from "ws";
import {
  encodeFrame,
  parseSurfaceFrame,
  PROTOCOL_VERSION,
  type AgentFrame,
  type MessageFrame,
  type SurfaceFrame,
} from "../agents/protocol.js";
import type { Responder, TurnContext, TurnOutput } from "./responder.js";

export const AGENT_CAPABILITIES = ["files", "blocks", "cancel", "notify", "confirm"];

export interface ReferenceAgentStats {
  /** WebSocket connections accepted (before the handshake). */
  connections: number;
  messages: Array<{ chat_id: string; text: string; attachments: MessageFrame["attachments"] }>;
  /** request_ids the surface cancelled. */
  cancels: string[];
  /** Every `confirm_result` received, in order (tests read `always`). */
  confirmResults: Array<{ confirm_id: string; approved: boolean; always?: boolean }>;
  closedChats: Array<{ chat_id: string; reason: "cleared" | "archived" }>;
}

export interface SessionHost {
  logger: Logger;
  responder: Responder;
  stats: ReferenceAgentStats;
  agent: { name: string; version: string };
  /** Delivers a notify on `origin` if still open, else on any open session. */
  notify(origin: AgentSession, chatId: string, text: string, delayMs: number): void;
}

interface ActiveTurn {
  controller: AbortController;
  finished: boolean;
  confirms: Map<string, (approved: boolean) => void>;
  confirmSeq: number;
  /** A runaway directive: cancels are recorded and ignored. */
  deaf: boolean;
}

/** A flood waits while more than this is queued on the socket. */
const DRAIN_BELOW_BYTES = 4 * 1024 * 1024;

export class AgentSession {
  private greeted = false;
  private readonly turns = new Map<string, ActiveTurn>();

  constructor(
    private readonly ws: WebSocket,
    private readonly host: SessionHost,
  ) {
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        host.logger.warn("dropped a binary frame");
        return;
      }
      this.receive(Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.from(data as ArrayBuffer).toString("utf8"));
    });
    ws.on("close", () => this.abortAll());
    ws.on("error", (err) => host.logger.debug({ err }, "surface socket error"));
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: AgentFrame): void {
    this.sendRaw(encodeFrame(frame));
  }

  sendRaw(raw: string): void {
    if (this.open) this.ws.send(raw);
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  private receive(raw: string): void {
    const { logger } = this.host;
    const parsed = parseSurfaceFrame(raw);
    if (!parsed.ok) {
      logger.warn({ reason: parsed.reason, frame_type: parsed.type, request_id: parsed.requestId }, "dropped an invalid frame");
      if (!this.greeted) this.ws.close(4002, "expected hello");
      return;
    }
    const frame = parsed.frame;
    if (!this.greeted) {
      this.greet(frame);
      return;
    }
    this.dispatch(frame);
  }

  private greet(frame: SurfaceFrame): void {
    if (frame.type !== "hello") {
      this.host.logger.warn({ frame_type: frame.type }, "first frame was not a hello; closing");
      this.ws.close(4002, "expected hello");
      return;
    }
    // Answer with our own hello either way, so a surface of another version sees what we speak.
    this.send({ type: "hello", protocol: PROTOCOL_VERSION, agent: this.host.agent, capabilities: AGENT_CAPABILITIES });
    if (frame.protocol !== PROTOCOL_VERSION) {
      this.host.logger.error({ surface_protocol: frame.protocol }, "surface speaks another protocol; closing");
      this.ws.close(4001, "protocol mismatch");
      return;
    }
    this.greeted = true;
    this.host.logger.info({ surface: frame.surface, surface_version: frame.version }, "surface connected");
  }

  private dispatch(frame: SurfaceFrame): void {
    const { logger, stats, responder } = this.host;
    switch (frame.type) {
      case "hello":
        logger.warn("dropped a second hello");
        return;
      case "message":
        this.startTurn(frame);
        return;
      case "cancel": {
        stats.cancels.push(frame.request_id);
        const turn = this.turns.get(frame.request_id);
        if (!turn) {
          logger.debug({ request_id: frame.request_id }, "cancel for a turn that is not running");
          return;
        }
        if (turn.deaf) {
          logger.info({ request_id: frame.request_id }, "cancel ignored (runaway directive)");
          return;
        }
        this.finish(frame.request_id, turn, { type: "end", request_id: frame.request_id });
        return;
      }
      case "chat_closed":
        stats.closedChats.push({ chat_id: frame.chat_id, reason: frame.reason });
        responder.chatClosed(frame.chat_id, frame.reason);
        return;
      case "confirm_result": {
        stats.confirmResults.push({ confirm_id: frame.confirm_id, approved: frame.approved, ...(frame.always !== undefined && { always: frame.always }) });
        const answer = this.turns.get(frame.request_id)?.confirms.get(frame.confirm_id);
        if (answer) answer(frame.approved);
        else logger.warn({ request_id: frame.request_id, confirm_id: frame.confirm_id }, "confirm_result for nothing pending");
        return;
      }
    }
  }

  private startTurn(message: MessageFrame): void {
    const { logger, stats, responder } = this.host;
    const id = message.request_id;
    if (this.turns.has(id)) {
      logger.warn({ request_id: id }, "duplicate request_id; dropped");
      return;
    }
    stats.messages.push({ chat_id: message.chat_id, text: message.text, attachments: message.attachments });
    const turn: ActiveTurn = { controller: new AbortController(), finished: false, confirms: new Map(), confirmSeq: 0, deaf: false };
    this.turns.set(id, turn);
    const ctx = this.context(message, turn);
    responder
      .handleTurn(ctx)
      .then(() => this.finish(id, turn, { type: "end", request_id: id }))
      .catch((err: unknown) => {
        logger.error({ err, request_id: id }, "responder failed");
        ctx.fail("agent_error", err instanceof Error ? err.message : String(err), false);
      });
  }

  private context(message: MessageFrame, turn: ActiveTurn): TurnContext {
    const id = message.request_id;
    return {
      message,
      signal: turn.controller.signal,
      send: (frame: TurnOutput) => {
        if (!turn.finished) this.send({ ...frame, request_id: id });
      },
      end: (usage) => this.finish(id, turn, { type: "end", request_id: id, ...(usage && { usage }) }),
      fail: (code, text, retryable) => this.finish(id, turn, { type: "error", request_id: id, code, message: text, retryable }),
      confirm: (prompt) => {
        if (turn.finished) return Promise.resolve(false);
        const confirmId = `confirm-${++turn.confirmSeq}`;
        return new Promise<boolean>((resolve) => {
          const answer = (approved: boolean): void => {
            turn.confirms.delete(confirmId);
            turn.controller.signal.removeEventListener("abort", refuse);
            resolve(approved);
          };
          const refuse = (): void => answer(false);
          turn.confirms.set(confirmId, answer);
          turn.controller.signal.addEventListener("abort", refuse, { once: true });
          this.send({ type: "confirm", request_id: id, confirm_id: confirmId, prompt });
        });
      },
      notifyLater: (delayMs, text) => this.host.notify(this, message.chat_id, text, delayMs),
      sendRaw: (raw) => this.sendRaw(raw),
      terminateSocket: () => this.ws.terminate(),
      open: () => this.open,
      ignoreCancel: () => {
        turn.deaf = true;
      },
      drained: async () => {
        while (this.open && this.ws.bufferedAmount > DRAIN_BELOW_BYTES) await new Promise((r) => setTimeout(r, 2));
      },
    };
  }

  /** Sends the turn's single terminal frame (if the socket is still there) and stops it. */
  private finish(id: string, turn: ActiveTurn, terminal: AgentFrame): void {
    if (turn.finished) return;
    turn.finished = true;
    this.turns.delete(id);
    this.send(terminal);
    turn.controller.abort();
  }

  private abortAll(): void {
    for (const [id, turn] of this.turns) {
      turn.finished = true;
      this.turns.delete(id);
      turn.controller.abort();
    }
  }
}
