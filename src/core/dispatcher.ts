import type { Logger } from "pino";
import type { AgentPort } from "./agent-port.js";
import type { BindingReader, ChatPort, MediaPort } from "./chat-port.js";
import type { CoreStore, RoomRecord } from "./core-store.js";
import type { AgentId, ChatId, EventId, UserId } from "./ids.js";
import type { IncomingEvent } from "./incoming.js";
import { prepareFiles } from "./file-flow.js";
import { RoomLoop, roomKey } from "./room-loop.js";
import { decide, type Action, type RoomContext } from "./routing.js";
import { strings } from "./strings.js";
import { TurnRunner } from "./turn-runner.js";
import { spaceNameFor, welcomeUser } from "./onboarding.js";
import { CommandHandler } from "./commands/handler.js";
import { Confirmations } from "./confirmations.js";

export interface DispatcherDeps {
  botUserId: UserId;
  chat: ChatPort & BindingReader;
  agents: AgentPort;
  store: CoreStore;
  logger: Logger;
  idleTimeoutMs: number;
  /** How long a message waits for an unreachable agent; default 0. */
  agentWaitMs?: number;
  newChatId: () => ChatId;
  agentsFor(user: UserId): AgentId[];
  agentKnown(agentId: AgentId): boolean;
  /** An unanswered question (`!clear`, `!archive`, agent `confirm`) is a no after this; default 5 min. */
  confirmTimeoutMs?: number;
  /** Shown by `!settings`; default 1 s. */
  editIntervalMs?: number;
  /** Files both ways; without it, messages' files are not delivered. */
  media?: MediaPort;
  /** Tool calls kept in a final answer's trail; 0 or unset: no trail. */
  trailMaxTools?: number;
  /** Whether any registry user lives on `server`; strangers from other servers are not answered. Default: all. */
  serverHostsUsers?(server: string): boolean;
  now?: () => number;
}

/** The reaction on a message that waits for the running turn. */
export const WAITING_MARK = "⏳";

/** `perform` handed the event to a turn, which settles it in the ledger. */
const DEFERRED = Symbol("deferred");

/** A stranger who invites the bot again within this time is rejected without a word. */
export const STRANGER_REPLY_INTERVAL_MS = 60 * 60_000;
/** Bound on the strangers remembered for that (oldest forgotten first). */
const STRANGERS_REMEMBERED = 10_000;

/**
 * The one place where actions meet I/O: each event is routed by the pure
 * `decide`, performed here as an item of its room's loop (room-loop.ts), and
 * every failure is caught, logged once and told to the user once.
 */
export class Dispatcher {
  readonly loop = new RoomLoop();
  readonly turns: TurnRunner;
  readonly confirmations: Confirmations;
  private readonly commands: CommandHandler;
  /** A waiting message → its ⏳ reaction being sent (then kept in the store until the message's turn starts). */
  private readonly waitMarks = new Map<EventId, Promise<unknown>>();
  /** Stranger → when they were last answered (insertion-ordered, bounded). */
  private readonly strangersTold = new Map<UserId, number>();

  constructor(private readonly deps: DispatcherDeps) {
    this.turns = new TurnRunner({
      chat: deps.chat,
      agents: deps.agents,
      logger: deps.logger,
      idleTimeoutMs: deps.idleTimeoutMs,
      ...(deps.agentWaitMs !== undefined ? { agentWaitMs: deps.agentWaitMs } : {}),
      ...(deps.media ? { media: deps.media } : {}),
      ...(deps.trailMaxTools !== undefined ? { trailMaxTools: deps.trailMaxTools } : {}),
      onForwarded: (eventId, turnId) => deps.store.inbox.setStatus(eventId, "forwarded", turnId),
      onConfirm: (turn, confirmId, prompt) => this.confirmations.askAgent(turn, confirmId, prompt),
      inRoom: (roomId, task) => this.loop.inRoom(roomId, task),
      // An item too, so it comes after a question the turn asked just before it ended.
      onTurnEnded: (turn) =>
        void this.loop
          .inRoom(turn.roomId, () => this.confirmations.turnEnded(turn))
          .catch((err: unknown) => deps.logger.error({ err, room_id: turn.roomId }, "could not drop the ended turn's question")),
    });
    const confirmTimeoutMs = deps.confirmTimeoutMs ?? 5 * 60_000;
    this.confirmations = new Confirmations({ ...deps, timeoutMs: confirmTimeoutMs, inRoom: (roomId, task) => this.loop.inRoom(roomId, task) });
    const limits = { editIntervalMs: deps.editIntervalMs ?? 1000, idleTimeoutMs: deps.idleTimeoutMs, confirmTimeoutMs };
    this.commands = new CommandHandler({ ...deps, turns: this.turns, limits }, this.confirmations);
  }

  /**
   * Queues an event as its room's next item; resolves when it has been
   * handled (a message's turn may still be running then). Never rejects.
   * Invites are serialised per user so two quick invites cannot build two Spaces.
   */
  enqueue(event: IncomingEvent): Promise<void> {
    const key = event.kind === "invite" ? `user:${event.sender}` : roomKey(event.roomId);
    return this.loop.run(key, () => this.handle(event));
  }

  private async handle(event: IncomingEvent): Promise<void> {
    const log = this.deps.logger.child({ room_id: event.roomId, event_id: event.eventId, sender: event.sender });
    const room = this.deps.store.rooms.get(event.roomId);
    const action = this.route(event, room);
    log.debug({ action: action.type }, "routed");
    let deferred = false;
    try {
      deferred = (await this.perform(action, event, room, log)) === DEFERRED;
    } catch (err) {
      await this.failed(event, err, log, action.type);
    } finally {
      // A message handed to a turn is finished by the turn (the crash-safety ledger).
      if (!deferred) this.deps.store.inbox.setStatus(event.eventId, action.type === "ignore" ? "ignored" : "done");
    }
  }

  private route(event: IncomingEvent, room: RoomRecord | undefined): Action {
    const senderAllowed = this.deps.agentsFor(event.sender).length > 0;
    return decide(event, {
      botUserId: this.deps.botUserId,
      senderAllowed,
      room: contextOf(room),
      strangerMayBeTold: event.kind === "invite" && !senderAllowed && this.mayTellStranger(event.sender),
    });
  }

  /** The error boundary: logged once, and a message's sender told once. */
  private async failed(event: IncomingEvent, err: unknown, log: Logger, what: string): Promise<void> {
    log.error({ err, action: what }, "handling failed");
    if (event.kind !== "message") return;
    await this.deps.chat
      .sendNotice(event.roomId, strings.internalError, `err.${event.eventId}`)
      .catch((e: unknown) => log.error({ err: e }, "could not tell the user about the failure"));
  }

  private async perform(action: Action, event: IncomingEvent, room: RoomRecord | undefined, log: Logger): Promise<void | typeof DEFERRED> {
    const { chat } = this.deps;
    switch (action.type) {
      case "ignore":
        log.debug({ reason: action.reason }, "ignored");
        return;
      case "refuse-invite":
        if (!action.tell) {
          log.info("invite from a stranger of another server, or one answered lately; rejected without joining");
          await chat.rejectInvite(event.roomId);
          return;
        }
        log.info("invite from a user not in the registry; refusing");
        this.rememberStranger(event.sender);
        await chat.refuseInvite(event.roomId, strings.strangerInvite);
        return;
      case "accept-invite":
        await welcomeUser(this.deps, event.sender, event.roomId);
        return;
      case "encrypted-notice":
        await chat.sendNotice(event.roomId, strings.encrypted, `enc.${event.eventId}`);
        return;
      case "archived-notice":
        await chat.sendNotice(event.roomId, strings.roomArchived, `arch.${event.eventId}`);
        return;
      case "command":
        if (event.kind !== "message") return;
        await this.commands.run(action.command, event, room);
        return;
      case "reaction":
        if (event.kind !== "reaction") return;
        await this.commands.react(event, room);
        return;
      case "recover-room":
        return this.recover(event, log);
      case "forward":
        return this.forward(event, room, log);
    }
  }

  /**
   * A message for the room's agent: waits if a turn is running, else starts
   * one beside the loop. Returns DEFERRED: the turn settles the ledger.
   */
  private async forward(event: IncomingEvent, room: RoomRecord | undefined, log: Logger): Promise<void | typeof DEFERRED> {
    if (event.kind !== "message" || !room?.agentId || !room.chatId) return;
    // A binding names its agent; the registry decides whether the owner may
    // still use it (a look-alike binding cannot borrow someone else's agent).
    if (!this.deps.agentKnown(room.agentId) || !this.deps.agentsFor(room.owner).includes(room.agentId)) {
      log.warn({ agent_id: room.agentId }, "room's agent left the registry");
      await this.deps.chat.sendNotice(event.roomId, strings.agentNotInRegistry(room.agentId), `gone.${event.eventId}`);
      return;
    }
    if (this.loop.isBusy(event.roomId)) {
      log.info("a turn is running; the message waits for it");
      this.loop.park(event.roomId, event);
      this.markWaiting(event, log);
      return DEFERRED;
    }
    this.loop.startTurn(event.roomId, () => this.runTurn(event, room, log), (next) => this.takeWaiting(next));
    return DEFERRED;
  }

  /** Seen, and waiting: ⏳ on the message until its turn starts (remembered in the store, for restarts). */
  private markWaiting(event: IncomingEvent, log: Logger): void {
    const sent = this.deps.chat
      .react(event.roomId, event.eventId, WAITING_MARK, `wait.${event.eventId}`)
      .then((id) => id && this.deps.store.waitMarks.set(event.eventId, event.roomId, id))
      .catch((err: unknown) => log.error({ err }, "could not remember the waiting mark"));
    this.waitMarks.set(event.eventId, sent);
  }

  /** The message's turn comes (or it is handled otherwise): its ⏳, if any, goes, in the background. */
  private unmarkWaiting(event: IncomingEvent, log: Logger): void {
    const sending = this.waitMarks.get(event.eventId) ?? Promise.resolve();
    this.waitMarks.delete(event.eventId);
    void sending
      .then(() => {
        const mark = this.deps.store.waitMarks.take(event.eventId);
        return mark && this.deps.chat.redact(mark.roomId, mark.reactionId, `unwait.${event.eventId}`);
      })
      .catch((err: unknown) => log.error({ err }, "could not remove the waiting mark"));
  }

  /** A waiting message's turn comes: its ⏳ goes, then it is handled as if new. */
  private takeWaiting(event: IncomingEvent): Promise<void> {
    this.unmarkWaiting(event, this.deps.logger.child({ room_id: event.roomId, event_id: event.eventId }));
    return this.handle(event);
  }

  /** Fetches the message's files, then runs the turn under the room's chat id as it is *then*. */
  private async runTurn(event: Extract<IncomingEvent, { kind: "message" }>, room: RoomRecord, log: Logger): Promise<void> {
    // A message that waited when the bot restarted still wears its ⏳ (the store remembers it).
    this.unmarkWaiting(event, log);
    // While the files download no turn runs yet; `!stop` marks this instead.
    const pending = this.turns.prepare(event.roomId);
    try {
      const { agentId } = room;
      if (!agentId || !room.chatId) return;
      const input = { roomId: event.roomId, agentId, chatId: room.chatId, userId: event.sender, text: event.text, files: event.files, key: `in.${event.eventId}` };
      const prepared = await prepareFiles(this.deps.media, this.deps.chat, input, log);
      if (!prepared) return; // the user was told why
      // A `!clear` approved while the files downloaded has rotated the chat id
      // (and closed the old one): read the binding again, in the room's order.
      // `!stop` already told the user the message will not be passed on.
      if (pending.stopRequested) return void log.info("stopped before its turn started; not forwarded");
      const current = await this.loop.inRoom(event.roomId, () => this.deps.store.rooms.get(event.roomId));
      if (!current?.chatId || current.archived || current.agentId !== agentId) {
        log.info("the room changed while the message's files arrived; not forwarded");
        await this.deps.chat.sendNotice(event.roomId, strings.roomChangedMeanwhile, `moved.${event.eventId}`);
        return;
      }
      if (pending.stopRequested) return void log.info("stopped before its turn started; not forwarded");
      // From here `!stop` finds the running turn (run() makes it active before its first await).
      this.turns.prepared(event.roomId, pending);
      await this.turns.run({
        roomId: event.roomId,
        eventId: event.eventId,
        agentId,
        chatId: current.chatId,
        user: { id: event.sender, ...(event.senderName ? { displayName: event.senderName } : {}) },
        ...prepared,
      });
    } catch (err) {
      await this.failed(event, err, log, "forward");
    } finally {
      this.turns.prepared(event.roomId, pending);
      this.deps.store.inbox.setStatus(event.eventId, "done");
    }
  }

  /** A stranger gets the sentence only from a server with registry users, and once per interval. */
  private mayTellStranger(user: UserId): boolean {
    if (this.deps.serverHostsUsers && !this.deps.serverHostsUsers(serverOf(user))) return false;
    const last = this.strangersTold.get(user);
    return last === undefined || this.now() - last >= STRANGER_REPLY_INTERVAL_MS;
  }

  private rememberStranger(user: UserId): void {
    this.strangersTold.delete(user);
    this.strangersTold.set(user, this.now());
    if (this.strangersTold.size > STRANGERS_REMEMBERED) {
      const oldest = this.strangersTold.keys().next().value;
      if (oldest !== undefined) this.strangersTold.delete(oldest);
    }
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /**
   * One targeted recovery attempt for a room the cache does not know. The
   * user's lobby (the room they invited the bot to) is never a chat room, and
   * the chat port trusts only a binding the bot wrote in a room it created.
   */
  private async recover(event: IncomingEvent, log: Logger): Promise<void | typeof DEFERRED> {
    const user = this.deps.store.users.get(event.sender);
    const binding = user?.lobbyRoomId === event.roomId ? null : await this.deps.chat.readBinding(event.roomId);
    if (binding && binding.owner === event.sender) {
      log.info("room recovered from its state event");
      this.deps.store.rooms.upsert({
        roomId: event.roomId,
        owner: binding.owner,
        kind: binding.kind,
        agentId: binding.agentId,
        chatId: binding.chatId,
        name: null,
        index: binding.index,
        archived: binding.archived,
      });
      // Routed again and performed here, so a message handed to a turn stays
      // the turn's to settle in the ledger (DEFERRED reaches handle()).
      const room = this.deps.store.rooms.get(event.roomId);
      const action = this.route(event, room);
      if (action.type === "recover-room") return;
      return this.perform(action, event, room, log);
    }
    const text = user?.spaceId ? strings.lobbyPointer(spaceNameFor(event.sender)) : strings.roomUnknown;
    await this.deps.chat.sendNotice(event.roomId, text, `unknown.${event.eventId}`);
  }

  /**
   * An agent's `notify`: posted in the room that holds `chatId`, only if that
   * room is bound to this agent, still live, and its owner may still use the
   * agent. `key` makes the send idempotent (the agent's notify id, or one
   * made for this notify).
   */
  async notify(agentId: AgentId, chatId: ChatId, text: string, key: string): Promise<void> {
    const log = this.deps.logger.child({ agent_id: agentId, chat_id: chatId });
    const roomId = this.deps.store.rooms.byChatId(chatId)?.roomId;
    if (!roomId) return void log.warn("notify for a chat no room holds; dropped");
    // Checked in the room's order: a `!clear` or `!archive` approved just
    // before must not receive the old conversation's notify.
    await this.loop.inRoom(roomId, async () => {
      const room = this.deps.store.rooms.get(roomId);
      if (!room || room.chatId !== chatId || room.agentId !== agentId || room.archived || room.kind !== "chat") {
        return void log.warn({ room_id: roomId }, "notify for a chat no live room of this agent holds; dropped");
      }
      if (!this.deps.agentsFor(room.owner).includes(agentId)) {
        return void log.warn({ room_id: roomId, owner: room.owner }, "notify for a room whose owner may no longer use the agent; dropped");
      }
      try {
        await this.deps.chat.sendText(roomId, text, key);
      } catch (err) {
        log.error({ err, room_id: roomId }, "could not deliver notify");
      }
    });
  }
}

function serverOf(user: UserId): string {
  return user.slice(user.indexOf(":") + 1);
}

function contextOf(room: RoomRecord | undefined): RoomContext {
  if (!room) return { kind: "unknown", owner: null, archived: false };
  return { kind: room.kind, owner: room.owner, archived: room.archived };
}
