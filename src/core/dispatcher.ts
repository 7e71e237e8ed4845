import type { Logger } from "pino";
import type { AgentPort } from "./agent-port.js";
import type { BindingReader, ChatPort, MediaPort } from "./chat-port.js";
import type { CoreStore, RoomRecord } from "./core-store.js";
import type { AgentId, ChatId, UserId } from "./ids.js";
import type { IncomingEvent } from "./incoming.js";
import { prepareFiles } from "./file-flow.js";
import { KeyedQueue } from "./keyed-queue.js";
import { decide, type Action, type RoomContext } from "./routing.js";
import { strings } from "./strings.js";
import { TurnRunner } from "./turn-runner.js";
import { spaceNameFor, welcomeUser } from "./onboarding.js";
import { CommandHandler, URGENT_COMMANDS } from "./commands/handler.js";
import { parseCommand } from "./commands/parse.js";
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
}

/**
 * The one place where actions meet I/O: each event is routed by the pure
 * `decide`, performed here, and every failure is caught, logged once and told
 * to the user once.
 */
export class Dispatcher {
  readonly queue = new KeyedQueue();
  readonly turns: TurnRunner;
  readonly confirmations: Confirmations;
  private readonly commands: CommandHandler;

  constructor(private readonly deps: DispatcherDeps) {
    this.turns = new TurnRunner({
      chat: deps.chat,
      agents: deps.agents,
      logger: deps.logger,
      idleTimeoutMs: deps.idleTimeoutMs,
      ...(deps.agentWaitMs !== undefined ? { agentWaitMs: deps.agentWaitMs } : {}),
      ...(deps.media ? { media: deps.media } : {}),
      onForwarded: (eventId, turnId) => deps.store.inbox.setStatus(eventId, "forwarded", turnId),
      onConfirm: (turn, confirmId, prompt) => this.confirmations.askAgent(turn, confirmId, prompt),
      onTurnEnded: (turn) => this.confirmations.turnEnded(turn),
    });
    const confirmTimeoutMs = deps.confirmTimeoutMs ?? 5 * 60_000;
    this.confirmations = new Confirmations({ ...deps, timeoutMs: confirmTimeoutMs });
    const limits = { editIntervalMs: deps.editIntervalMs ?? 1000, idleTimeoutMs: deps.idleTimeoutMs, confirmTimeoutMs };
    this.commands = new CommandHandler({ ...deps, turns: this.turns, limits }, this.confirmations);
  }

  /** Queues an event; resolves when it has been handled (never rejects). */
  enqueue(event: IncomingEvent): Promise<void> {
    // Invites are serialised per user so two quick invites cannot build two Spaces.
    // Answers to questions and stops skip the room's queue: the turn they are
    // about may be the task running in it, waiting for exactly this answer.
    const key =
      event.kind === "invite" ? `user:${event.sender}` : isUrgent(event) ? `urgent:${event.roomId}` : `room:${event.roomId}`;
    return this.queue.run(key, () => this.handle(event));
  }

  private async handle(event: IncomingEvent): Promise<void> {
    const log = this.deps.logger.child({ room_id: event.roomId, event_id: event.eventId, sender: event.sender });
    const room = this.deps.store.rooms.get(event.roomId);
    const action = decide(event, {
      botUserId: this.deps.botUserId,
      senderAllowed: this.deps.agentsFor(event.sender).length > 0,
      room: contextOf(room),
    });
    log.debug({ action: action.type }, "routed");
    try {
      await this.perform(action, event, room, log);
    } catch (err) {
      log.error({ err, action: action.type }, "handling failed");
      if (event.kind === "message") {
        await this.deps.chat
          .sendNotice(event.roomId, strings.internalError, `err.${event.eventId}`)
          .catch((e: unknown) => log.error({ err: e }, "could not tell the user about the failure"));
      }
    } finally {
      this.deps.store.inbox.setStatus(event.eventId, action.type === "ignore" ? "ignored" : "done");
    }
  }

  private async perform(action: Action, event: IncomingEvent, room: RoomRecord | undefined, log: Logger): Promise<void> {
    const { chat } = this.deps;
    switch (action.type) {
      case "ignore":
        log.debug({ reason: action.reason }, "ignored");
        return;
      case "refuse-invite":
        log.info("invite from a user not in the registry; refusing");
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

  private async forward(event: IncomingEvent, room: RoomRecord | undefined, log: Logger): Promise<void> {
    if (event.kind !== "message" || !room?.agentId || !room.chatId) return;
    // A binding names its agent; the registry decides whether the owner may
    // still use it (a look-alike binding cannot borrow someone else's agent).
    if (!this.deps.agentKnown(room.agentId) || !this.deps.agentsFor(room.owner).includes(room.agentId)) {
      log.warn({ agent_id: room.agentId }, "room's agent left the registry");
      await this.deps.chat.sendNotice(event.roomId, strings.agentNotInRegistry(room.agentId), `gone.${event.eventId}`);
      return;
    }
    const { agentId, chatId } = room;
    const input = { roomId: event.roomId, agentId, chatId, text: event.text, files: event.files, key: `in.${event.eventId}` };
    const prepared = await prepareFiles(this.deps.media, this.deps.chat, input, log);
    if (!prepared) return; // the user was told why
    await this.turns.run({
      roomId: event.roomId,
      eventId: event.eventId,
      agentId,
      chatId,
      user: { id: event.sender, ...(event.senderName ? { displayName: event.senderName } : {}) },
      ...prepared,
    });
  }

  /** One targeted recovery attempt for a room the cache does not know. */
  private async recover(event: IncomingEvent, log: Logger): Promise<void> {
    const binding = await this.deps.chat.readBinding(event.roomId);
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
      return this.handle(event);
    }
    const hasSpace = this.deps.store.users.get(event.sender)?.spaceId;
    const text = hasSpace ? strings.lobbyPointer(spaceNameFor(event.sender)) : strings.roomUnknown;
    await this.deps.chat.sendNotice(event.roomId, text, `unknown.${event.eventId}`);
  }
}

function isUrgent(event: IncomingEvent): boolean {
  if (event.kind === "reaction") return true;
  if (event.kind !== "message") return false;
  const command = parseCommand(event.text);
  return command !== null && URGENT_COMMANDS.has(command.name);
}

function contextOf(room: RoomRecord | undefined): RoomContext {
  if (!room) return { kind: "unknown", owner: null, archived: false };
  return { kind: room.kind, owner: room.owner, archived: room.archived };
}
