/**
 * The open turns of one agent connection: routes frames by request_id, keeps
 * the per-turn idle timer, and guarantees each sink exactly one terminal event.
 */
import type { Logger } from "pino";
import type { TurnEvent, TurnSink } from "../core/agent-port.js";
import type { ChatId, TurnId } from "../core/ids.js";
import type { AgentTurnFrame } from "./protocol.js";
import { toTurnEvent } from "./turn-events.js";

export interface TurnTableOptions {
  logger: Logger;
  idleTimeoutMs: number;
  /** A confirm unanswered this long is refused by the port itself. */
  confirmTimeoutMs: number;
  /** The port gave up on a turn (idle timeout): tell the agent to stop it. */
  onIdleTimeout: (turnId: TurnId) => void;
  /** Nobody answered a confirm in time: send `confirm_result{approved:false}`. */
  onConfirmTimeout: (turnId: TurnId, confirmId: string) => void;
}

interface OpenTurn {
  chatId: ChatId;
  sink: TurnSink;
  log: Logger;
  idleTimer?: NodeJS.Timeout;
  /** confirm_id → its timeout; the turn is not idle while any is pending. */
  confirms: Map<string, NodeJS.Timeout>;
}

/** How many finished request_ids to remember, to tell "after end" from "unknown". */
const RECENT_LIMIT = 1000;

export class TurnTable {
  private readonly turns = new Map<TurnId, OpenTurn>();
  private readonly recent = new Set<string>();

  constructor(private readonly options: TurnTableOptions) {}

  get size(): number {
    return this.turns.size;
  }

  has(turnId: TurnId): boolean {
    return this.turns.has(turnId);
  }

  open(turnId: TurnId, chatId: ChatId, sink: TurnSink): void {
    if (this.turns.has(turnId)) throw new Error(`turn ${turnId} is already open`);
    const log = this.options.logger.child({ turn: turnId, chat_id: chatId });
    const turn: OpenTurn = { chatId, sink, log, confirms: new Map() };
    this.turns.set(turnId, turn);
    this.armIdle(turnId, turn);
  }

  /** Forgets a turn without telling its sink (the message never made it out). */
  discard(turnId: TurnId): void {
    const turn = this.turns.get(turnId);
    if (turn) this.finish(turnId, turn);
  }

  /** Routes one validated frame of a turn; anything that does not fit is logged and dropped. */
  deliver(frame: AgentTurnFrame & { request_id: string }): void {
    const turnId = frame.request_id as TurnId;
    const turn = this.turns.get(turnId);
    if (!turn) {
      const why = this.recent.has(frame.request_id) ? "frame after the turn ended" : "frame for an unknown request_id";
      this.options.logger.warn({ turn: frame.request_id, frame_type: frame.type }, `dropped ${why}`);
      return;
    }
    if (frame.type === "confirm") {
      if (!turn.confirms.has(frame.confirm_id)) {
        const timer = setTimeout(() => this.confirmTimedOut(turnId, frame.confirm_id), this.options.confirmTimeoutMs);
        turn.confirms.set(frame.confirm_id, timer);
      }
    }
    const event = toTurnEvent(frame);
    if (event.type === "end" || event.type === "error") {
      this.finish(turnId, turn);
    } else {
      this.armIdle(turnId, turn);
    }
    this.emit(turn, event);
  }

  /** The user answered a confirm. Returns false when that confirm is not pending (stale or unknown). */
  confirmAnswered(turnId: TurnId, confirmId: string): boolean {
    const turn = this.turns.get(turnId);
    const timer = turn?.confirms.get(confirmId);
    if (!turn || timer === undefined) return false;
    clearTimeout(timer);
    turn.confirms.delete(confirmId);
    this.armIdle(turnId, turn);
    return true;
  }

  /** Ends one turn with a synthesised error. */
  fail(turnId: TurnId, event: Extract<TurnEvent, { type: "error" }>): void {
    const turn = this.turns.get(turnId);
    if (!turn) return;
    this.finish(turnId, turn);
    this.emit(turn, event);
  }

  /** Ends every open turn with the same error (socket gone, agent-wide failure, shutdown). */
  failAll(event: Extract<TurnEvent, { type: "error" }>): void {
    for (const turnId of [...this.turns.keys()]) this.fail(turnId, event);
  }

  private armIdle(turnId: TurnId, turn: OpenTurn): void {
    if (turn.idleTimer) clearTimeout(turn.idleTimer);
    turn.idleTimer = undefined;
    if (turn.confirms.size > 0) return; // waiting on the user is not idleness
    turn.idleTimer = setTimeout(() => this.idleTimedOut(turnId), this.options.idleTimeoutMs);
  }

  private idleTimedOut(turnId: TurnId): void {
    const turn = this.turns.get(turnId);
    if (!turn) return;
    turn.log.warn({ idle_timeout_ms: this.options.idleTimeoutMs }, "turn idle timeout; failing it and cancelling at the agent");
    this.fail(turnId, {
      type: "error",
      code: "idle_timeout",
      message: `the agent sent nothing for ${Math.round(this.options.idleTimeoutMs / 1000)} s`,
      retryable: true,
    });
    this.options.onIdleTimeout(turnId);
  }

  private confirmTimedOut(turnId: TurnId, confirmId: string): void {
    if (!this.confirmAnswered(turnId, confirmId)) return;
    this.turns.get(turnId)?.log.info({ confirm_id: confirmId }, "confirm unanswered in time; refusing it");
    this.options.onConfirmTimeout(turnId, confirmId);
  }

  private finish(turnId: TurnId, turn: OpenTurn): void {
    if (turn.idleTimer) clearTimeout(turn.idleTimer);
    for (const timer of turn.confirms.values()) clearTimeout(timer);
    turn.confirms.clear();
    this.turns.delete(turnId);
    this.recent.add(turnId);
    if (this.recent.size > RECENT_LIMIT) {
      const oldest = this.recent.values().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }

  private emit(turn: OpenTurn, event: TurnEvent): void {
    try {
      turn.sink(event);
    } catch (err) {
      turn.log.error({ err, event_type: event.type }, "turn sink threw; ignored");
    }
  }
}
