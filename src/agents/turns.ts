/**
 * The open turns of one agent connection: routes frames by request_id, keeps
 * the per-turn timers and limits, and guarantees each sink exactly one
 * terminal event. A turn the port ends itself is forgotten at once: whatever
 * the agent still sends for it is dropped.
 */
import type { Logger } from "pino";
import type { TurnEvent, TurnSink } from "../core/agent-port.js";
import type { ChatId, TurnId } from "../core/ids.js";
import type { AgentTurnFrame } from "./protocol.js";
import { toTurnEvent } from "./turn-events.js";
import { LIMIT_CODES } from "../core/agent-port.js";
import { answerBytesOf, DEFAULT_TURN_LIMITS, type TurnLimits } from "./turn-limits.js";

export interface TurnTableOptions {
  logger: Logger;
  idleTimeoutMs: number;
  /** A confirm unanswered this long is refused by the port itself. */
  confirmTimeoutMs: number;
  /** Per-turn limits; defaults in turn-limits.ts. */
  limits?: Partial<TurnLimits>;
  /** The port gave up on a turn (idle timeout, a limit passed): tell the agent to stop it. */
  onGiveUp: (turnId: TurnId) => void;
  /** Nobody answered a confirm in time: send `confirm_result{approved:false}`. */
  onConfirmTimeout: (turnId: TurnId, confirmId: string) => void;
}

interface OpenTurn {
  chatId: ChatId;
  sink: TurnSink;
  log: Logger;
  idleTimer?: NodeJS.Timeout;
  /** Ends the turn at the maximum turn length. */
  lengthTimer: NodeJS.Timeout;
  /** Armed by a cancel: the agent's time to end the turn itself. */
  graceTimer?: NodeJS.Timeout;
  /** confirm_id → its timeout; the turn is not idle while any is pending. */
  confirms: Map<string, NodeJS.Timeout>;
  answerBytes: number;
  files: number;
  /** Distinct confirm ids asked so far. */
  asked: Set<string>;
  /** Frames in the current one-second window, to find the turn flooding the connection. */
  recentFrames: number;
  windowStart: number;
}

/** How many finished request_ids to remember, to tell "after end" from "unknown". */
const RECENT_LIMIT = 1000;

export class TurnTable {
  private readonly turns = new Map<TurnId, OpenTurn>();
  /** Recently finished request_ids → frames dropped for them since (one warning each, not one per frame). */
  private readonly recent = new Map<string, number>();
  private readonly limits: TurnLimits;

  constructor(private readonly options: TurnTableOptions) {
    this.limits = { ...DEFAULT_TURN_LIMITS, ...options.limits };
  }

  get size(): number {
    return this.turns.size;
  }

  has(turnId: TurnId): boolean {
    return this.turns.has(turnId);
  }

  open(turnId: TurnId, chatId: ChatId, sink: TurnSink): void {
    if (this.turns.has(turnId)) throw new Error(`turn ${turnId} is already open`);
    const log = this.options.logger.child({ turn: turnId, chat_id: chatId });
    const { maxTurnMs } = this.limits;
    const lengthTimer = setTimeout(() => {
      this.giveUp(turnId, LIMIT_CODES.turnLength, `the turn ran longer than ${Math.round(maxTurnMs / 1000)} s`, maxTurnMs);
    }, maxTurnMs);
    const turn: OpenTurn = { chatId, sink, log, lengthTimer, confirms: new Map(), answerBytes: 0, files: 0, asked: new Set(), recentFrames: 0, windowStart: Date.now() };
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
      this.dropped(frame);
      return;
    }
    this.countFrame(turn);
    if (this.overLimit(turnId, turn, frame)) return;
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

  /**
   * A cancel went to the agent: unless it ends the turn within the grace
   * period, the port ends it (`cancel_ignored`) and drops what follows.
   */
  cancelled(turnId: TurnId): void {
    const turn = this.turns.get(turnId);
    if (!turn || turn.graceTimer) return;
    const { cancelGraceMs } = this.limits;
    turn.graceTimer = setTimeout(() => {
      turn.log.warn({ grace_ms: cancelGraceMs }, "agent ignored cancel; ending the turn here");
      this.fail(turnId, {
        type: "error",
        code: LIMIT_CODES.cancelIgnored,
        message: `the agent did not end the turn within ${cancelGraceMs} ms of a cancel`,
        retryable: false,
        limit: cancelGraceMs,
      });
    }, cancelGraceMs);
  }

  /** Ends a turn the port gives up on (a limit passed): the sink gets the error, the agent a cancel. */
  giveUp(turnId: TurnId, code: string, message: string, limit: number): void {
    const turn = this.turns.get(turnId);
    if (!turn) return;
    turn.log.warn({ code, limit }, `turn ended by the surface: ${message}; cancelling at the agent`);
    this.fail(turnId, { type: "error", code, message, retryable: false, limit });
    this.options.onGiveUp(turnId);
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
    this.options.onGiveUp(turnId);
  }

  private confirmTimedOut(turnId: TurnId, confirmId: string): void {
    if (!this.confirmAnswered(turnId, confirmId)) return;
    this.turns.get(turnId)?.log.info({ confirm_id: confirmId }, "confirm unanswered in time; refusing it");
    this.options.onConfirmTimeout(turnId, confirmId);
  }

  private countFrame(turn: OpenTurn): void {
    const now = Date.now();
    if (now - turn.windowStart >= 1000) {
      turn.windowStart = now;
      turn.recentFrames = 0;
    }
    turn.recentFrames++;
  }

  /**
   * The open turn that sent the most frames in the last second (ties: the
   * oldest). When a connection goes over its frame rate, this one pays, not
   * whichever quiet turn's frame happened to arrive at that moment.
   */
  busiest(): TurnId | undefined {
    let best: TurnId | undefined;
    let most = -1;
    const now = Date.now();
    for (const [turnId, turn] of this.turns) {
      const frames = now - turn.windowStart < 1000 ? turn.recentFrames : 0;
      if (frames > most) {
        most = frames;
        best = turnId;
      }
    }
    return best;
  }

  /** Counts what the frame adds; past a limit the turn is given up and the frame dropped. */
  private overLimit(turnId: TurnId, turn: OpenTurn, frame: AgentTurnFrame): boolean {
    const { maxAnswerBytes, maxFiles, maxConfirms } = this.limits;
    const bytes = answerBytesOf(frame);
    if (bytes > 0) {
      turn.answerBytes += bytes;
      if (turn.answerBytes > maxAnswerBytes) {
        this.giveUp(turnId, LIMIT_CODES.answerBytes, `the answer passed ${maxAnswerBytes} bytes`, maxAnswerBytes);
        return true;
      }
    }
    if (frame.type === "file" && ++turn.files > maxFiles) {
      this.giveUp(turnId, LIMIT_CODES.files, `the turn sent more than ${maxFiles} files`, maxFiles);
      return true;
    }
    if (frame.type === "confirm" && !turn.asked.has(frame.confirm_id)) {
      turn.asked.add(frame.confirm_id);
      if (turn.asked.size > maxConfirms) {
        this.giveUp(turnId, LIMIT_CODES.confirms, `the turn asked more than ${maxConfirms} questions`, maxConfirms);
        return true;
      }
    }
    return false;
  }

  /** Frames dropped so far for a turn that ended here (0 for one that just ended); undefined for ids never seen. */
  droppedAfterEnd(requestId: string): number | undefined {
    return this.recent.get(requestId);
  }

  /** A frame for no open turn: the first per request_id is a warning, the rest (a runaway's flood) debug. */
  private dropped(frame: AgentTurnFrame & { request_id: string }): void {
    const count = this.recent.get(frame.request_id);
    const detail = { turn: frame.request_id, frame_type: frame.type };
    if (count === undefined) {
      this.options.logger.warn(detail, "dropped frame for an unknown request_id");
      return;
    }
    this.recent.set(frame.request_id, count + 1);
    if (count === 0) this.options.logger.warn(detail, "dropped frame after the turn ended; later ones for it are logged at debug");
    else this.options.logger.debug({ ...detail, dropped: count + 1 }, "dropped frame after the turn ended");
  }

  private finish(turnId: TurnId, turn: OpenTurn): void {
    if (turn.idleTimer) clearTimeout(turn.idleTimer);
    clearTimeout(turn.lengthTimer);
    if (turn.graceTimer) clearTimeout(turn.graceTimer);
    for (const timer of turn.confirms.values()) clearTimeout(timer);
    turn.confirms.clear();
    this.turns.delete(turnId);
    this.recent.set(turnId, 0);
    if (this.recent.size > RECENT_LIMIT) {
      const oldest = this.recent.keys().next().value;
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
