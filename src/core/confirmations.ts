import type { Logger } from "pino";
import type { AgentPort } from "./agent-port.js";
import type { ChatPort } from "./chat-port.js";
import { archiveRoom, clearRoom } from "./commands/lifecycle.js";
import type { CoreStore, PendingQuestion } from "./core-store.js";
import type { ChatId, EventId, RoomId } from "./ids.js";
import { strings } from "./strings.js";
import type { ActiveTurn } from "./turn-runner.js";

export interface ConfirmationsDeps {
  chat: ChatPort;
  store: CoreStore;
  agents: AgentPort;
  logger: Logger;
  newChatId: () => ChatId;
  /** An unanswered question counts as "no" after this (default 5 minutes). */
  timeoutMs: number;
  now?: () => number;
  /** Runs an expiry as an item of the room's loop (default: at once). */
  inRoom?(roomId: RoomId, task: () => Promise<void>): Promise<void>;
}

const VARIATION_SELECTORS = /[\ufe0e\ufe0f]/gu;

/** ✅ → true, ❌ → false, anything else → null (keys may carry a variation selector). */
export function reactionAnswer(key: string): boolean | null {
  const k = key.replace(VARIATION_SELECTORS, "").trim();
  if (k === "✅") return true;
  if (k === "❌") return false;
  return null;
}

/** ♾️ (with or without a variation selector): "always in this chat". */
export const isAlwaysReaction = (key: string): boolean => key.replace(VARIATION_SELECTORS, "").trim() === "♾";

/** ⏹ (with or without a variation selector). */
export const isStopReaction = (key: string): boolean => key.replace(VARIATION_SELECTORS, "").trim() === "⏹";

/**
 * The questions the owner answers with `!yes` / `!no` or ✅ / ❌: a `!clear`,
 * an `!archive`, or an agent's `confirm` (which may also be answered
 * `!always` / ♾️: approved, and the same prompt in the same conversation is
 * approved by the bot from then on, until `!clear`). One per room, and a question never
 * replaces another: a second `!clear`/`!archive` is refused with a notice, a
 * second agent `confirm` is answered no at once and the user told why. Kept
 * in the store and timed out here, where silence means no.
 */
export class Confirmations {
  private readonly timers = new Map<RoomId, NodeJS.Timeout>();
  /** Agent prompts by room, so `!yes` can say what it approved (agent questions die with a restart anyway). */
  private readonly prompts = new Map<RoomId, string>();
  private readonly now: () => number;

  constructor(private readonly deps: ConfirmationsDeps) {
    this.now = deps.now ?? Date.now;
  }

  get timeoutMs(): number {
    return this.deps.timeoutMs;
  }

  /** `!clear` / `!archive`: asks before doing anything. */
  async askRoomChange(kind: "clear" | "archive", roomId: RoomId, key: string): Promise<void> {
    const open = this.openQuestion(roomId);
    if (open) return void (await this.deps.chat.sendNotice(roomId, strings.questionAlreadyOpen(open), key));
    const ms = this.deps.timeoutMs;
    const text = kind === "clear" ? strings.confirmClear(ms) : strings.confirmArchive(ms);
    const promptEventId = await this.deps.chat.sendNotice(roomId, text, key);
    this.put({ roomId, kind, turnId: null, confirmId: null, agentId: null, promptEventId, expiresAt: this.now() + ms });
  }

  /** An agent's `confirm` frame: the owner is asked; the turn waits for the answer. */
  async askAgent(turn: ActiveTurn, confirmId: string, prompt: string): Promise<void> {
    const key = `t.${turn.turnId}.confirm.${confirmId}`;
    const chatId = this.deps.store.rooms.get(turn.roomId)?.chatId;
    if (chatId && this.deps.store.alwaysAllowed.has(chatId, turn.agentId, prompt)) {
      this.deps.logger.info({ room_id: turn.roomId, turn: turn.turnId, confirm_id: confirmId }, "agent question approved: always allowed in this chat");
      this.deps.agents.confirmResult(turn.agentId, turn.turnId, confirmId, true, true);
      await this.deps.chat.sendNotice(turn.roomId, strings.confirmAutoApproved(prompt), key);
      return;
    }
    const open = this.openQuestion(turn.roomId);
    if (open) {
      this.deps.logger.info({ room_id: turn.roomId, turn: turn.turnId, confirm_id: confirmId }, "agent question declined: another is open");
      this.deps.agents.confirmResult(turn.agentId, turn.turnId, confirmId, false);
      await this.deps.chat.sendNotice(turn.roomId, strings.agentQuestionDeclined(turn.agentId, prompt, open), key);
      return;
    }
    const ms = this.deps.timeoutMs;
    const promptEventId = await this.deps.chat.sendText(turn.roomId, strings.agentAsks(turn.agentId, prompt, ms), key);
    this.put({
      roomId: turn.roomId,
      kind: "confirm",
      turnId: turn.turnId,
      confirmId,
      agentId: turn.agentId,
      promptEventId,
      expiresAt: this.now() + ms,
    });
    this.prompts.set(turn.roomId, prompt);
  }

  /** `!yes` / `!no` (and `!always`, approved with `always`) in the room. */
  async answer(roomId: RoomId, approved: boolean, key: string, always = false): Promise<void> {
    const peek = always ? this.deps.store.pending.get(roomId, this.now()) : undefined;
    if (peek && peek.kind !== "confirm") return void (await this.deps.chat.sendNotice(roomId, strings.alwaysOnlyForAgent, key));
    this.clearTimer(roomId);
    const prompt = this.prompts.get(roomId);
    this.prompts.delete(roomId);
    const question = this.deps.store.pending.take(roomId, this.now());
    if (!question) {
      await this.deps.chat.sendNotice(roomId, strings.nothingPending, key);
      return;
    }
    this.deps.logger.info({ room_id: roomId, kind: question.kind, approved, always }, "question answered");
    switch (question.kind) {
      case "confirm":
        if (always) {
          const chatId = this.deps.store.rooms.get(roomId)?.chatId;
          if (chatId && question.agentId && prompt !== undefined) this.deps.store.alwaysAllowed.allow(chatId, question.agentId, prompt, this.now());
          this.tellAgent(question, true, true);
          return void (await this.deps.chat.sendNotice(roomId, strings.confirmAlways(prompt), key));
        }
        this.tellAgent(question, approved);
        await this.deps.chat.sendNotice(roomId, approved ? strings.confirmApproved(prompt) : strings.confirmRefused, key);
        return;
      case "clear":
      case "archive":
        if (!approved) return void (await this.deps.chat.sendNotice(roomId, strings.cancelled, key));
        if (question.kind === "clear") await clearRoom(this.deps, roomId, key);
        else await archiveRoom(this.deps, roomId, key);
        return;
    }
  }

  /** A reaction in the room: ✅ / ❌ / ♾️ on a live question's prompt answers it; anything else is ignored. */
  async react(roomId: RoomId, targetEventId: EventId, reactionKey: string, key: string): Promise<boolean> {
    const always = isAlwaysReaction(reactionKey);
    const approved = always ? true : reactionAnswer(reactionKey);
    if (approved === null) return false;
    const question = this.deps.store.pending.byPromptEvent(targetEventId, this.now());
    if (!question || question.roomId !== roomId) return false;
    if (always && question.kind !== "confirm") return false; // ♾️ on a !clear prompt means nothing
    await this.answer(roomId, approved, key, always);
    return true;
  }

  /** A turn ended: a confirm it left unanswered is no longer a question. */
  turnEnded(turn: ActiveTurn): void {
    const question = this.deps.store.pending.get(turn.roomId);
    if (question?.kind === "confirm" && question.turnId === turn.turnId) {
      this.deps.store.pending.delete(turn.roomId);
      this.prompts.delete(turn.roomId);
      this.clearTimer(turn.roomId);
    }
  }

  /**
   * After a restart: an agent's question died with its turn, so it is dropped
   * and the room told; a `!clear` / `!archive` question gets its expiry timer
   * back (one already past its time expires now, with its notice).
   */
  resume(): void {
    for (const question of this.deps.store.pending.all()) {
      if (question.kind === "confirm") {
        this.deps.store.pending.delete(question.roomId);
        void this.deps.chat
          .sendNotice(question.roomId, strings.questionDroppedByRestart, `dropped.${question.promptEventId ?? question.roomId}`)
          .catch((err: unknown) => this.deps.logger.error({ err, room_id: question.roomId }, "could not announce a dropped question"));
        continue;
      }
      const timer = setTimeout(() => void this.expireInRoom(question), Math.max(0, question.expiresAt - this.now()));
      timer.unref();
      this.timers.set(question.roomId, timer);
    }
  }

  /** Stops every timer (shutdown). Questions stay in the store and still expire by their time. */
  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** What the room's live question is about, or null when none is open. */
  private openQuestion(roomId: RoomId): string | null {
    const open = this.deps.store.pending.get(roomId, this.now());
    return open ? strings.questionSubject(open.kind, this.prompts.get(roomId)) : null;
  }

  private put(question: PendingQuestion): void {
    // Callers checked openQuestion(); an expired leftover may still be replaced.
    this.deps.store.pending.delete(question.roomId);
    this.deps.store.pending.set(question);
    this.clearTimer(question.roomId);
    const timer = setTimeout(() => void this.expireInRoom(question), this.deps.timeoutMs);
    timer.unref();
    this.timers.set(question.roomId, timer);
  }

  private expireInRoom(question: PendingQuestion): Promise<void> {
    return this.deps.inRoom ? this.deps.inRoom(question.roomId, () => this.expire(question)) : this.expire(question);
  }

  private async expire(question: PendingQuestion): Promise<void> {
    this.timers.delete(question.roomId);
    const current = this.deps.store.pending.get(question.roomId);
    if (!current || current.promptEventId !== question.promptEventId) return;
    this.deps.store.pending.delete(question.roomId);
    this.prompts.delete(question.roomId);
    this.deps.logger.info({ room_id: question.roomId, kind: question.kind }, "question expired; taken as no");
    if (question.kind === "confirm") this.tellAgent(question, false);
    await this.deps.chat
      .sendNotice(question.roomId, strings.questionExpired(question.kind), `expired.${question.promptEventId}`)
      .catch((err: unknown) => this.deps.logger.error({ err, room_id: question.roomId }, "could not announce expiry"));
  }

  private tellAgent(q: PendingQuestion, approved: boolean, always = false): void {
    if (q.agentId && q.turnId && q.confirmId) this.deps.agents.confirmResult(q.agentId, q.turnId, q.confirmId, approved, always);
  }

  private clearTimer(roomId: RoomId): void {
    const t = this.timers.get(roomId);
    if (t) clearTimeout(t);
    this.timers.delete(roomId);
  }
}
