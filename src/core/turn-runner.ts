import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import {
  AgentUnavailableError,
  LIMIT_CODES,
  type AgentPort,
  type Attachment,
  type TurnEvent,
  type TurnRequest,
  type TurnSink,
} from "./agent-port.js";
import type { ChatPort, MediaPort, ReplyStream } from "./chat-port.js";
import { sendAgentFile } from "./file-flow.js";
import { asTurnId, type AgentId, type ChatId, type EventId, type RoomId, type TurnId, type UserId } from "./ids.js";
import { strings } from "./strings.js";
import { ToolTrail } from "./trail.js";

export interface TurnInput {
  roomId: RoomId;
  eventId: EventId;
  agentId: AgentId;
  chatId: ChatId;
  user: { id: UserId; displayName?: string };
  text: string;
  attachments: Attachment[];
}

export interface ActiveTurn {
  turnId: TurnId;
  agentId: AgentId;
  roomId: RoomId;
  reply: ReplyStream;
  stopRequested: boolean;
  /** The tools the agent ran, for the final answer; absent when the trail is off. */
  trail?: ToolTrail;
  /** The agent's answer has begun (its first text or block): typing is off and the answer's event is on its way. */
  answerStarted?: boolean;
}

/** The notice for each of the port's limit codes, given the limit that was passed. */
const LIMIT_NOTICES: Readonly<Record<string, (limit: number) => string>> = {
  [LIMIT_CODES.answerBytes]: strings.limitAnswerBytes,
  [LIMIT_CODES.files]: strings.limitFiles,
  [LIMIT_CODES.confirms]: strings.limitConfirms,
  [LIMIT_CODES.turnLength]: strings.limitTurnLength,
  [LIMIT_CODES.frameRate]: strings.limitFrameRate,
  [LIMIT_CODES.cancelIgnored]: strings.cancelIgnored,
};

/** A turn still running this long after it was forwarded shows its message read at once. */
export const READ_RECEIPT_DELAY_MS = 300;

/** Between two tries to reach an agent that refused at once. */
const RETRY_PAUSE_MS = 1000;

type Outcome = { kind: "end" } | { kind: "error"; code: string; message: string; limit?: number };

/** A message whose turn is being prepared (its files download): `!stop` marks it so it never starts. */
export interface PendingTurn {
  stopRequested: boolean;
}

/** What `!stop` did: stopped the running turn, cancelled one not started yet, or found nothing. */
export type StopOutcome = "stopped" | "cancelled" | "nothing";

export interface TurnRunnerDeps {
  chat: ChatPort;
  agents: AgentPort;
  logger: Logger;
  idleTimeoutMs: number;
  /** How long a message waits for an unreachable agent (default 0: the user is told at once). */
  agentWaitMs?: number;
  /** Called once the turn id is known, before the message leaves (the crash-safety ledger). */
  onForwarded(eventId: EventId, turnId: TurnId): void;
  /** Called with each `confirm` request so the owner can be asked. */
  onConfirm?(turn: ActiveTurn, confirmId: string, prompt: string): Promise<void>;
  /** Called once a turn is over, however it ended (drops a question it left open). */
  onTurnEnded?(turn: ActiveTurn): void;
  /**
   * Runs a happening of the turn that changes what the room shows (a
   * question, a file) as an item of the room's loop, in order with the
   * room's other items. Default: at once.
   */
  inRoom?(roomId: RoomId, task: () => Promise<void>): Promise<void>;
  /** Sends the agent's `file` frames; without it they are logged and dropped. */
  media?: MediaPort;
  /** Tool calls kept in the final answer's trail (the newest); 0 or unset: no trail. */
  trailMaxTools?: number;
}

/**
 * Runs one user turn: forwards it, streams the agent's events into a reply,
 * and turns every way a turn can fail into one short notice.
 */
export class TurnRunner {
  private readonly active = new Map<RoomId, ActiveTurn>();
  private readonly preparing = new Map<RoomId, PendingTurn>();
  /** Each turn's file sends, chained so files arrive in the order the agent sent them. */
  private readonly fileSends = new Map<TurnId, { chain: Promise<void>; count: number }>();
  private readonly sleepers = new Set<() => void>();
  private closing = false;

  constructor(private readonly deps: TurnRunnerDeps) {}

  activeIn(roomId: RoomId): ActiveTurn | undefined {
    return this.active.get(roomId);
  }

  async run(input: TurnInput): Promise<void> {
    const { chat } = this.deps;
    const turnId = asTurnId(randomUUID());
    const log = this.deps.logger.child({
      room_id: input.roomId,
      event_id: input.eventId,
      agent_id: input.agentId,
      chat_id: input.chatId,
      turn: turnId,
    });
    this.deps.onForwarded(input.eventId, turnId);

    const reply = chat.openReply(input.roomId, `t.${turnId}`);
    const turn: ActiveTurn = { turnId, agentId: input.agentId, roomId: input.roomId, reply, stopRequested: false };
    const maxTools = this.deps.trailMaxTools ?? 0;
    if (maxTools > 0 && reply.showTrail) reply.showTrail((turn.trail = new ToolTrail(maxTools)));
    let settle!: (o: Outcome) => void;
    const outcome = new Promise<Outcome>((resolve) => (settle = resolve));
    const sink = (event: TurnEvent): void => this.onEvent(turn, event, settle, log);

    chat.setTyping(input.roomId, true);
    this.active.set(input.roomId, turn);
    try {
      const request = { turnId, chatId: input.chatId, user: input.user, text: input.text, attachments: input.attachments };
      if (!(await this.deliver(turn, request, sink, log))) return;
      // Debug: "turn finished" carries the same context at info, and pino's
      // synchronous write of a second line per answer showed in the profile.
      log.debug("turn forwarded");
      // Element shows the message as read by the bot once the agent has it.
      // Clients take every event as a read receipt of its sender, so the
      // answer itself marks the message read: an explicit m.read goes out
      // only when no answer is under way after a moment (a long turn), or
      // the turn ended without one. Each receipt is a request, a database
      // write and a wake-up of every member's sync.
      let receiptSent = false;
      const sendReceipt = (): void => {
        if (receiptSent) return;
        receiptSent = true;
        void chat.markRead(input.roomId, input.eventId);
      };
      const answerUnderWay = (): boolean => turn.answerStarted === true || reply.firstEventId() !== null;
      const receiptTimer = setTimeout(() => answerUnderWay() || sendReceipt(), READ_RECEIPT_DELAY_MS);
      const result = await outcome.finally(() => clearTimeout(receiptTimer));
      await reply.finish({ stopped: turn.stopRequested });
      if (reply.firstEventId() === null) sendReceipt();
      await this.fileSends.get(turnId)?.chain;
      // After !stop an error is the agent's way of stopping, except when it
      // never stopped: then the user learns the turn was ended here.
      if (result.kind === "error" && (!turn.stopRequested || result.code === LIMIT_CODES.cancelIgnored)) {
        log.warn({ code: result.code, reason: result.message }, "turn failed");
        await chat.sendNotice(input.roomId, this.noticeFor(result), `t.${turnId}.error`);
      } else {
        log.info({ stopped: turn.stopRequested }, "turn finished");
      }
    } finally {
      this.fileSends.delete(turnId);
      this.active.delete(input.roomId);
      this.deps.onTurnEnded?.(turn);
      chat.setTyping(input.roomId, false);
    }
  }

  /**
   * Hands the turn to the agent. An unreachable agent is retried until
   * `agentWaitMs` has passed (the user is told once that the message waits;
   * the room's queue keeps later messages behind it, in order); then, or on
   * `!stop` or shutdown, the user is told it was not delivered.
   */
  private async deliver(turn: ActiveTurn, request: TurnRequest, sink: TurnSink, log: Logger): Promise<boolean> {
    const { chat, agents } = this.deps;
    const waitMs = this.deps.agentWaitMs ?? 0;
    const deadline = Date.now() + waitMs;
    let toldWaiting = false;
    for (;;) {
      try {
        await agents.startTurn(turn.agentId, request, sink);
        if (toldWaiting) log.info("agent is back; waiting message delivered");
        return true;
      } catch (err) {
        const reason = err instanceof AgentUnavailableError ? err.reason : String(err);
        const retry = err instanceof AgentUnavailableError && Date.now() < deadline && !turn.stopRequested && !this.closing;
        if (!retry) {
          log.warn({ reason, waited: toldWaiting }, "agent unavailable; turn not delivered");
          const text = turn.stopRequested ? strings.waitCancelled : strings.agentUnavailable(turn.agentId);
          await chat.sendNotice(turn.roomId, text, `t.${turn.turnId}.unavailable`);
          return false;
        }
        if (!toldWaiting) {
          toldWaiting = true;
          log.warn({ reason, wait_ms: waitMs }, "agent unavailable; the message waits for it");
          await chat.sendNotice(turn.roomId, strings.agentWaiting(turn.agentId, waitMs), `t.${turn.turnId}.waiting`);
        }
        // startTurn already waited the connect grace; this pause only keeps a
        // fast refusal (unknown agent, protocol mismatch) from spinning.
        await this.pause(Math.min(RETRY_PAUSE_MS, Math.max(0, deadline - Date.now())));
      }
    }
  }

  /** Shutdown: messages waiting for an agent stop waiting and their users are told. */
  close(): void {
    this.closing = true;
    for (const wake of this.sleepers) wake();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  /**
   * The room's next turn is being prepared (its message's files download);
   * until `run` starts it, `!stop` marks the returned handle instead. The
   * caller checks it before `run` and calls `prepared` when done either way.
   */
  prepare(roomId: RoomId): PendingTurn {
    const pending: PendingTurn = { stopRequested: false };
    this.preparing.set(roomId, pending);
    return pending;
  }

  prepared(roomId: RoomId, pending: PendingTurn): void {
    if (this.preparing.get(roomId) === pending) this.preparing.delete(roomId);
  }

  /**
   * `!stop` / ⏹: cancels the streaming turn (what was streamed stays, marked
   * as stopped), or a turn still being prepared, which then never starts.
   */
  stop(roomId: RoomId): StopOutcome {
    const turn = this.active.get(roomId);
    if (!turn) {
      const pending = this.preparing.get(roomId);
      if (!pending || pending.stopRequested) return "nothing";
      pending.stopRequested = true;
      return "cancelled";
    }
    turn.stopRequested = true;
    this.deps.agents.cancel(turn.agentId, turn.turnId);
    for (const wake of this.sleepers) wake(); // a message waiting for its agent gives up now
    return "stopped";
  }

  private onEvent(turn: ActiveTurn, event: TurnEvent, settle: (o: Outcome) => void, log: Logger): void {
    switch (event.type) {
      case "text":
        this.answerShows(turn);
        turn.reply.setStatus(null);
        turn.reply.appendText(event.delta);
        return;
      case "tool_call":
        turn.trail?.call(event.callId, event.name);
        turn.reply.setStatus(`🔧 ${event.name}…`);
        return;
      case "tool_result":
        turn.trail?.result(event.callId, event.ok, event.summary);
        turn.reply.setStatus(event.ok ? `✅ ${event.summary ?? "done"}` : `❌ ${event.summary ?? "tool failed"}`);
        return;
      case "progress":
        turn.reply.setStatus(`⏳ ${event.text}`);
        return;
      case "block":
        this.answerShows(turn);
        turn.reply.appendBlock(event.block);
        return;
      case "file": {
        const sends = this.fileSends.get(turn.turnId) ?? { chain: Promise.resolve(), count: 0 };
        const key = `t.${turn.turnId}.file.${++sends.count}`;
        const { type: _type, ...file } = event;
        const send = (): Promise<void> =>
          sendAgentFile(this.deps.media, this.deps.chat, { roomId: turn.roomId, agentId: turn.agentId, file, key }, log);
        sends.chain = sends.chain.then(() => this.inRoom(turn.roomId, send));
        this.fileSends.set(turn.turnId, sends);
        return;
      }
      case "confirm":
        void this.inRoom(turn.roomId, async () => {
          try {
            await this.deps.onConfirm?.(turn, event.confirmId, event.prompt);
          } catch (err) {
            log.error({ err }, "could not ask for confirmation");
          }
        });
        return;
      case "end":
        settle({ kind: "end" });
        return;
      case "error":
        settle({ kind: "error", code: event.code, message: event.message, ...(event.limit !== undefined && { limit: event.limit }) });
        return;
    }
  }

  /**
   * Typing means "the agent is working and nothing shows yet": once the
   * answer itself shows and grows, the indicator goes. Each typing change is
   * a request and a wake-up of every member's sync, which cost the
   * homeserver work per answer whenever a busy homeserver made a turn pass
   * the indicator's delay.
   */
  private answerShows(turn: ActiveTurn): void {
    if (turn.answerStarted) return;
    turn.answerStarted = true;
    this.deps.chat.setTyping(turn.roomId, false);
  }

  private inRoom(roomId: RoomId, task: () => Promise<void>): Promise<void> {
    return this.deps.inRoom ? this.deps.inRoom(roomId, task) : task();
  }

  private noticeFor(result: { code: string; message: string; limit?: number }): string {
    const { limit } = result;
    switch (result.code) {
      case "idle_timeout":
        return strings.agentIdleTimeout(Math.round(this.deps.idleTimeoutMs / 1000));
      case "connection_lost":
        return strings.agentConnectionLost;
    }
    // The port's own limits carry the limit; an agent's error with a look-alike code does not.
    const limitNotice = LIMIT_NOTICES[result.code];
    if (limitNotice && limit !== undefined) return limitNotice(limit);
    return strings.agentError(result.message);
  }
}
