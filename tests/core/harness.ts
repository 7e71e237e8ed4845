/**
 * The core tier's harness: the real Dispatcher (routing, commands,
 * confirmations, turns, recovery) over the real SQLite store in memory, with
 * the two ports replaced by a recording chat and a scripted agent. No
 * homeserver, no sockets: a test drives `enqueue` and reads what the user
 * would have seen, in milliseconds.
 */
import pino from "pino";
import {
  AgentUnavailableError,
  type AgentPort,
  type AgentStatus,
  type Block,
  type TurnEvent,
  type TurnRequest,
  type TurnSink,
} from "../../src/core/agent-port.js";
import type { Attachment } from "../../src/core/agent-port.js";
import type { BindingReader, ChatPort, FileRefusal, MediaPort, OutgoingFile, ReplyStream, RoomBinding } from "../../src/core/chat-port.js";
import { Dispatcher, type DispatcherDeps } from "../../src/core/dispatcher.js";
import { recoverAfterStart, type BoundRoom } from "../../src/core/recovery.js";
import { asAgentId, asChatId, asEventId, asRoomId, asUserId, type AgentId, type ChatId, type EventId, type RoomId, type TurnId, type UserId } from "../../src/core/ids.js";
import type { IncomingEvent, IncomingFile } from "../../src/core/incoming.js";
import { openStore, type Store } from "../../src/store/index.js";

/** One thing the bot did through the chat port, in order. */
export type ChatCall =
  | { op: "notice" | "text"; roomId: RoomId; text: string; key: string; eventId: EventId }
  | { op: "refuseInvite"; roomId: RoomId; text: string }
  | { op: "rejectInvite"; roomId: RoomId }
  | { op: "acceptInvite"; roomId: RoomId }
  | { op: "createSpace"; owner: UserId; name: string; roomId: RoomId }
  | { op: "createChatRoom"; spaceId: RoomId; name: string; binding: RoomBinding; roomId: RoomId }
  | { op: "writeBinding"; roomId: RoomId; binding: RoomBinding }
  | { op: "invite"; roomId: RoomId; user: UserId }
  | { op: "rename"; roomId: RoomId; name: string }
  | { op: "setSpaceChild"; spaceId: RoomId; roomId: RoomId; present: boolean };

type Op = ChatCall["op"];

/** A streamed answer as the user saw it: every status line shown while it ran, and the end. */
export interface ShownReply {
  roomId: RoomId;
  key: string;
  text: string;
  /** Status lines in the order they were shown (null = cleared). */
  statuses: Array<string | null>;
  /** The status line showing right now (what a user looking at the room sees). */
  status: string | null;
  blocks: Block[];
  finished: number;
  stopped: boolean;
  eventId: EventId | null;
}

/** A ChatPort + BindingReader that records every call and can be told to fail. */
export class RecordingChat implements ChatPort, BindingReader {
  readonly calls: ChatCall[] = [];
  readonly replies: ShownReply[] = [];
  /** The homeserver's `org.surfaces.room` state, as readBinding sees it. */
  readonly bindings = new Map<RoomId, RoomBinding>();
  readonly typing = new Map<RoomId, boolean>();
  /** Decorations (not in `calls`, which holds what the user reads): reactions, their removal, read receipts. */
  readonly reactions: Array<{ roomId: RoomId; eventId: EventId; emoji: string; key: string; reactionId: EventId }> = [];
  readonly redactions: Array<{ roomId: RoomId; eventId: EventId; key: string }> = [];
  readonly reads: Array<{ roomId: RoomId; eventId: EventId }> = [];
  private readonly failures = new Map<Op, Array<(call: ChatCall) => boolean>>();
  private n = 0;

  /** The next call of `op` that `match` accepts (default: the next one) rejects. */
  failNext(op: Op, match: (call: ChatCall) => boolean = () => true): void {
    const list = this.failures.get(op) ?? [];
    list.push(match);
    this.failures.set(op, list);
  }

  /** Notices and texts posted in a room, oldest first. */
  said(roomId?: RoomId): string[] {
    return this.calls.flatMap((c) => ((c.op === "notice" || c.op === "text") && (!roomId || c.roomId === roomId) ? [c.text] : []));
  }

  last(roomId?: RoomId): string | undefined {
    return this.said(roomId).at(-1);
  }

  ops(): Op[] {
    return this.calls.map((c) => c.op);
  }

  async sendNotice(roomId: RoomId, text: string, key: string): Promise<EventId> {
    const eventId = this.nextEvent();
    await this.record({ op: "notice", roomId, text, key, eventId });
    return eventId;
  }

  async sendText(roomId: RoomId, text: string, key: string): Promise<EventId> {
    const eventId = this.nextEvent();
    await this.record({ op: "text", roomId, text, key, eventId });
    return eventId;
  }

  openReply(roomId: RoomId, key: string): ReplyStream {
    const shown: ShownReply = { roomId, key, text: "", statuses: [], status: null, blocks: [], finished: 0, stopped: false, eventId: null };
    this.replies.push(shown);
    const firstEvent = (): void => {
      shown.eventId ??= this.nextEvent();
    };
    return {
      appendText: (delta) => {
        if (shown.finished) throw new Error("text appended after finish");
        shown.text += delta;
        firstEvent();
      },
      setStatus: (line) => {
        shown.statuses.push(line);
        shown.status = line;
        if (line) firstEvent();
      },
      appendBlock: (block) => {
        shown.blocks.push(block);
        firstEvent();
      },
      finish: (outcome) => {
        shown.finished++;
        shown.stopped = outcome.stopped ?? false;
        shown.status = null; // the final edit holds the answer only
        return Promise.resolve();
      },
      firstEventId: () => shown.eventId,
    };
  }

  setTyping(roomId: RoomId, on: boolean): void {
    this.typing.set(roomId, on);
  }

  react(roomId: RoomId, eventId: EventId, emoji: string, key: string): Promise<EventId | null> {
    const reactionId = this.nextEvent();
    this.reactions.push({ roomId, eventId, emoji, key, reactionId });
    return Promise.resolve(reactionId);
  }

  redact(roomId: RoomId, eventId: EventId, key: string): Promise<void> {
    this.redactions.push({ roomId, eventId, key });
    return Promise.resolve();
  }

  markRead(roomId: RoomId, eventId: EventId): Promise<void> {
    this.reads.push({ roomId, eventId });
    return Promise.resolve();
  }

  async refuseInvite(roomId: RoomId, text: string): Promise<void> {
    await this.record({ op: "refuseInvite", roomId, text });
  }

  async rejectInvite(roomId: RoomId): Promise<void> {
    await this.record({ op: "rejectInvite", roomId });
  }

  async acceptInvite(roomId: RoomId): Promise<void> {
    await this.record({ op: "acceptInvite", roomId });
  }

  async createSpace(owner: UserId, name: string): Promise<RoomId> {
    const roomId = asRoomId(`!space${++this.n}:hs`);
    await this.record({ op: "createSpace", owner, name, roomId });
    this.bindings.set(roomId, { owner, kind: "space", agentId: null, chatId: null, index: 0, archived: false });
    return roomId;
  }

  async createChatRoom(spaceId: RoomId, name: string, binding: RoomBinding): Promise<RoomId> {
    const roomId = asRoomId(`!chat${++this.n}:hs`);
    await this.record({ op: "createChatRoom", spaceId, name, binding, roomId });
    this.bindings.set(roomId, binding);
    return roomId;
  }

  async writeBinding(roomId: RoomId, binding: RoomBinding): Promise<void> {
    await this.record({ op: "writeBinding", roomId, binding });
    this.bindings.set(roomId, binding);
  }

  async invite(roomId: RoomId, user: UserId): Promise<void> {
    await this.record({ op: "invite", roomId, user });
  }

  async rename(roomId: RoomId, name: string): Promise<void> {
    await this.record({ op: "rename", roomId, name });
  }

  async setSpaceChild(spaceId: RoomId, roomId: RoomId, present: boolean): Promise<void> {
    await this.record({ op: "setSpaceChild", spaceId, roomId, present });
  }

  roomLink(roomId: RoomId): string {
    return `https://matrix.to/#/${roomId}`;
  }

  readBinding(roomId: RoomId): Promise<RoomBinding | null> {
    return Promise.resolve(this.bindings.get(roomId) ?? null);
  }

  private nextEvent(): EventId {
    return asEventId(`$bot${++this.n}`);
  }

  /** Records the call, or rejects (recording nothing) when a failure was planned for it. */
  private record(call: ChatCall): Promise<void> {
    const planned = this.failures.get(call.op) ?? [];
    const i = planned.findIndex((match) => match(call));
    if (i >= 0) {
      planned.splice(i, 1);
      return Promise.reject(new Error(`planned ${call.op} failure`));
    }
    this.calls.push(call);
    return Promise.resolve();
  }
}

/** How the scripted agent answers one turn: emit events now or keep `sink` for later. */
export type TurnScript = (request: TurnRequest, sink: TurnSink) => void;

/** Answers `echo: <text>` and ends. */
export const echo: TurnScript = (request, sink) => {
  sink({ type: "text", delta: `echo: ${request.text}` });
  sink({ type: "end" });
};

/** Plays fixed events, then nothing more (omit a terminal event to keep the turn open). */
export const plays =
  (...events: TurnEvent[]): TurnScript =>
  (_request, sink) => {
    for (const e of events) sink(e);
  };

/** An AgentPort whose turns follow scripts, and which records everything the core tells it. */
export class ScriptedAgent implements AgentPort {
  readonly turns: Array<{ agentId: AgentId; request: TurnRequest; sink: TurnSink }> = [];
  readonly cancels: Array<{ agentId: AgentId; turnId: TurnId }> = [];
  readonly confirmResults: Array<{ agentId: AgentId; turnId: TurnId; confirmId: string; approved: boolean; always?: true }> = [];
  readonly closedChats: Array<{ agentId: AgentId; chatId: ChatId; reason: "cleared" | "archived" }> = [];
  /** Scripts for the next turns, in order; `fallback` after they run out. */
  readonly next: TurnScript[] = [];
  fallback: TurnScript = echo;
  /** Agents whose startTurn rejects with AgentUnavailableError. */
  readonly down = new Set<AgentId>();
  notify: ((agentId: AgentId, chatId: ChatId, text: string) => void) | null = null;

  startTurn(agentId: AgentId, request: TurnRequest, sink: TurnSink): Promise<void> {
    if (this.down.has(agentId)) return Promise.reject(new AgentUnavailableError(agentId, "not connected"));
    this.turns.push({ agentId, request, sink });
    const script = this.next.shift() ?? this.fallback;
    // The port delivers events after startTurn resolves, never inside it.
    queueMicrotask(() => script(request, sink));
    return Promise.resolve();
  }

  /** The sink of the latest turn: for events the test sends while the turn runs. */
  get sink(): TurnSink {
    const turn = this.turns.at(-1);
    if (!turn) throw new Error("no turn has started");
    return turn.sink;
  }

  cancel(agentId: AgentId, turnId: TurnId): void {
    this.cancels.push({ agentId, turnId });
    // Like the reference agent: a cancelled turn ends.
    const turn = this.turns.find((t) => t.request.turnId === turnId);
    queueMicrotask(() => turn?.sink({ type: "end" }));
  }

  confirmResult(agentId: AgentId, turnId: TurnId, confirmId: string, approved: boolean, always?: boolean): void {
    this.confirmResults.push({ agentId, turnId, confirmId, approved, ...(always ? { always: true as const } : {}) });
  }

  chatClosed(agentId: AgentId, chatId: ChatId, reason: "cleared" | "archived"): void {
    this.closedChats.push({ agentId, chatId, reason });
  }

  onNotify(handler: (agentId: AgentId, chatId: ChatId, text: string) => void): void {
    this.notify = handler;
  }

  status(agentId: AgentId): AgentStatus {
    return this.down.has(agentId) ? "unavailable" : "connected";
  }

  setAgents(): void {
    // The registry is the harness's `registry` map.
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

type FetchResult = Awaited<ReturnType<MediaPort["fetchToWorkspace"]>>;

/** A download into an agent's workspace, waiting for the test to finish it (`held` mode). */
export interface HeldFetch {
  agentId: AgentId;
  chatId: ChatId;
  files: readonly IncomingFile[];
  finish(result?: FetchResult): void;
}

/**
 * A MediaPort without disk or homeserver: fetches succeed with one
 * attachment per file (or `refuse` says no, or `held` keeps them waiting for
 * the test), and the agent's files are recorded as posted unless refused.
 */
export class FakeMedia implements MediaPort {
  readonly fetched: Array<{ agentId: AgentId; chatId: ChatId; userId: UserId; names: string[] }> = [];
  readonly held: HeldFetch[] = [];
  readonly sent: Array<{ roomId: RoomId; agentId: AgentId; file: OutgoingFile; key: string }> = [];
  hold = false;
  refuse: (({ name: string } & FileRefusal) | null) = null;
  refuseSend: FileRefusal | null = null;
  private n = 0;

  fetchToWorkspace(agentId: AgentId, chatId: ChatId, files: readonly IncomingFile[], userId: UserId): Promise<FetchResult> {
    const ok = (): FetchResult => {
      this.fetched.push({ agentId, chatId, userId, names: files.map((f) => f.name) });
      return { ok: true, attachments: files.map((f): Attachment => ({ path: `inbox/${chatId}/${f.name}`, name: f.name, mime: f.mime ?? "application/octet-stream", size: f.size ?? 1 })) };
    };
    if (this.refuse) return Promise.resolve({ ok: false, ...this.refuse });
    if (!this.hold) return Promise.resolve(ok());
    return new Promise((resolve) => this.held.push({ agentId, chatId, files, finish: (result) => resolve(result ?? ok()) }));
  }

  sendFile(roomId: RoomId, agentId: AgentId, file: OutgoingFile, key: string): Promise<{ ok: true; eventId: EventId } | ({ ok: false } & FileRefusal)> {
    if (this.refuseSend) return Promise.resolve({ ok: false, ...this.refuseSend });
    this.sent.push({ roomId, agentId, file, key });
    return Promise.resolve({ ok: true, eventId: asEventId(`$file${++this.n}`) });
  }
}

export const BOT = asUserId("@bot:hs");
export const ALICE = asUserId("@alice:hs");
export const BOB = asUserId("@bob:hs");
export const STRANGER = asUserId("@stranger:hs");
export const HELPER = asAgentId("helper");
export const OTHER = asAgentId("other");

export interface CoreOptions {
  /** Another Core's store: this Core is that bot restarted on the same database. */
  store?: Store;
  /** Which agents each user may use, default first (mutable: the registry). */
  registry?: Record<string, AgentId[]>;
  /** Agents the registry defines (default: every agent some user has). */
  known?: AgentId[];
  idleTimeoutMs?: number;
  confirmTimeoutMs?: number;
  agentWaitMs?: number;
}

export interface Onboarded {
  lobbyId: RoomId;
  spaceId: RoomId;
  chatRoomId: RoomId;
  chatId: ChatId;
}

/** The core with recording ports; every `enqueue` is also written to the inbox ledger first, like the app does. */
export class Core {
  readonly store: Store;
  readonly chat = new RecordingChat();
  readonly agent = new ScriptedAgent();
  readonly media = new FakeMedia();
  readonly registry: Map<UserId, AgentId[]>;
  readonly known: Set<AgentId>;
  readonly dispatcher: Dispatcher;
  private chatIds = 0;
  private events = 0;

  constructor(opts: CoreOptions = {}) {
    this.store = opts.store ?? openStore(":memory:");
    const registry = opts.registry ?? { [ALICE]: [HELPER, OTHER], [BOB]: [HELPER] };
    this.registry = new Map(Object.entries(registry).map(([u, a]) => [asUserId(u), a]));
    this.known = new Set(opts.known ?? [...this.registry.values()].flat());
    const deps: DispatcherDeps = {
      botUserId: BOT,
      chat: this.chat,
      agents: this.agent,
      store: this.store,
      logger: pino({ level: "silent" }),
      idleTimeoutMs: opts.idleTimeoutMs ?? 30_000,
      confirmTimeoutMs: opts.confirmTimeoutMs ?? 60_000,
      ...(opts.agentWaitMs !== undefined ? { agentWaitMs: opts.agentWaitMs } : {}),
      newChatId: () => asChatId(String(++this.chatIds)),
      agentsFor: (user) => this.registry.get(user) ?? [],
      agentKnown: (agentId) => this.known.has(agentId),
      media: this.media,
    };
    this.dispatcher = new Dispatcher(deps);
  }

  eventId(): EventId {
    return asEventId(`$user${++this.events}`);
  }

  /**
   * Hands one event to the core, recorded in the inbox first; resolves with
   * its id once it is handled and what it set off has settled — a turn it
   * started included, unless that turn waits for something the test sends.
   */
  async enqueue(event: IncomingEvent): Promise<EventId> {
    this.store.inbox.record({ eventId: event.eventId, roomId: event.roomId, sender: event.sender, content: event, originTs: 0 });
    await this.dispatcher.enqueue(event);
    await this.settle();
    return event.eventId;
  }

  /** A plain text message from `sender` (default Alice). */
  say(roomId: RoomId, text: string, sender: UserId = ALICE, extra: Partial<Extract<IncomingEvent, { kind: "message" }>> = {}): Promise<EventId> {
    return this.enqueue({ kind: "message", roomId, eventId: this.eventId(), sender, text, files: [], encrypted: false, ...extra });
  }

  react(roomId: RoomId, targetEventId: EventId, key: string, sender: UserId = ALICE): Promise<EventId> {
    return this.enqueue({ kind: "reaction", roomId, eventId: this.eventId(), sender, targetEventId, key });
  }

  invite(roomId: RoomId, sender: UserId = ALICE): Promise<EventId> {
    return this.enqueue({ kind: "invite", roomId, eventId: this.eventId(), sender });
  }

  /** What start-up does once the first sync has answered (core/recovery.ts), with the rooms the homeserver binds. */
  recoverAfterStart(found: readonly BoundRoom[] = this.boundRooms()): void {
    recoverAfterStart({ store: this.store, chat: this.chat, dispatcher: this.dispatcher, logger: pino({ level: "silent" }) }, found);
  }

  /** Every room the recording homeserver holds a binding for. */
  boundRooms(): BoundRoom[] {
    return [...this.chat.bindings].map(([roomId, binding]) => ({ roomId, name: null, binding }));
  }

  /** Alice invites the bot to a lobby and gets her Space and first chat room. */
  async onboard(user: UserId = ALICE, lobbyId: RoomId = asRoomId(`!lobby-${user.slice(1, 4)}:hs`)): Promise<Onboarded> {
    await this.invite(lobbyId, user);
    const space = this.store.rooms.spaceOf(user);
    const chatRoom = this.store.rooms.byOwner(user).find((r) => r.kind === "chat");
    if (!space || !chatRoom?.chatId) throw new Error("onboarding did not create a space and a chat room");
    return { lobbyId, spaceId: space.roomId, chatRoomId: chatRoom.roomId, chatId: chatRoom.chatId };
  }

  /**
   * Lets every promise chain that waits on no timer run to its end (scripted
   * events, turns beside the room loop, fire-and-forget sends): the ports
   * here answer within microtasks, and each macrotask turn drains them all.
   */
  async settle(): Promise<void> {
    for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
  }

  /** Resolves when no room item is queued and no turn runs (every turn must be able to end). */
  async idle(): Promise<void> {
    await this.dispatcher.loop.drain();
    await this.settle();
  }

  close(): void {
    this.dispatcher.confirmations.stop();
    this.store.close();
  }
}
