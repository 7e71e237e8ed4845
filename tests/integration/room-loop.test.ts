/**
 * One ordered loop per room (src/core/room-loop.ts) with the real dispatcher,
 * the real SQLite store, a recording chat port, a scripted agent port and a
 * media port whose download is held open by the test:
 * - the race of issue 12: `!clear` + `!yes` while a message's files download —
 *   the message goes under exactly one chat id, and not a closed one;
 * - commands are not stuck behind a running turn, and a message sent during a
 *   turn waits for it (marked ⏳, unmarked when it starts) and then runs;
 *   each message is marked read once the agent has it.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { AgentPort, TurnRequest, TurnSink } from "../../src/core/agent-port.js";
import type { BindingReader, MediaPort } from "../../src/core/chat-port.js";
import { Dispatcher, WAITING_MARK } from "../../src/core/dispatcher.js";
import { asAgentId, asChatId, asEventId, asRoomId, asUserId, type AgentId, type ChatId, type TurnId } from "../../src/core/ids.js";
import type { IncomingEvent } from "../../src/core/incoming.js";
import { openStore, type Store } from "../../src/store/index.js";
import { recordingChat, type RecordingChat } from "./recording-chat.js";

const BOT = asUserId("@bot:hs");
const OWNER = asUserId("@alice:hs");
const ROOM = asRoomId("!chat:hs");
const AGENT = asAgentId("a");

interface Scripted extends AgentPort {
  turns: Array<{ request: TurnRequest; sink: TurnSink }>;
  closed: Array<{ chatId: ChatId; reason: string }>;
  cancels: TurnId[];
}

/** An agent port that records; each turn is ended by the test (or at once when `autoEnd`). */
function scriptedAgent(autoEnd: boolean): Scripted {
  const port: Scripted = {
    turns: [],
    closed: [],
    cancels: [],
    async startTurn(_agent: AgentId, request, sink) {
      port.turns.push({ request, sink });
      if (autoEnd) queueMicrotask(() => (sink({ type: "text", delta: `echo: ${request.text}` }), sink({ type: "end" })));
    },
    cancel: (_a, turnId) => void port.cancels.push(turnId),
    confirmResult: () => undefined,
    chatClosed: (_a, chatId, reason) => void port.closed.push({ chatId, reason }),
    onNotify: () => undefined,
    status: () => "connected",
    setAgents: () => undefined,
    close: async () => undefined,
  };
  return port;
}

/** Holds every download until `release()`. */
function gatedMedia(): MediaPort & { release(): void; started: number } {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const media = {
    started: 0,
    release: () => open(),
    async fetchToWorkspace(_agent: AgentId, chatId: ChatId, files: readonly { name: string }[]) {
      media.started++;
      await gate;
      return { ok: true as const, attachments: files.map((f) => ({ path: `inbox/${chatId}/${f.name}`, name: f.name, mime: "text/plain", size: 1 })) };
    },
    async sendFile() {
      return { ok: false as const, reason: "failed" as const };
    },
  };
  return media;
}

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

let seq = 0;
function setup(opts: { autoEnd: boolean; media?: MediaPort }): { dispatcher: Dispatcher; chat: RecordingChat & BindingReader; agent: Scripted; store: Store } {
  const store = openStore(join(mkdtempSync(join(tmpdir(), "surfaces-loop-")), "s.db"));
  stores.push(store);
  store.rooms.upsert({ roomId: ROOM, owner: OWNER, kind: "chat", agentId: AGENT, chatId: asChatId("c1"), name: "Chat 1", index: 1, archived: false });
  const chat = Object.assign(recordingChat(), { writeBinding: async () => undefined, readBinding: async () => null });
  const agent = scriptedAgent(opts.autoEnd);
  let n = 1;
  const dispatcher = new Dispatcher({
    botUserId: BOT,
    chat,
    agents: agent,
    store,
    logger: pino({ level: "silent" }),
    idleTimeoutMs: 60_000,
    newChatId: () => asChatId(`c${++n}`),
    agentsFor: (u) => (u === OWNER ? [AGENT] : []),
    agentKnown: (id) => id === AGENT,
    ...(opts.media ? { media: opts.media } : {}),
  });
  return { dispatcher, chat, agent, store };
}

const message = (text: string, files: IncomingEvent extends infer E ? (E extends { kind: "message"; files: infer F } ? F : never) : never = []): IncomingEvent => ({
  kind: "message",
  roomId: ROOM,
  eventId: asEventId(`$m${++seq}`),
  sender: OWNER,
  text,
  files,
  encrypted: false,
});

const until = async (what: string, check: () => boolean): Promise<void> => {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe("one ordered loop per room", () => {
  it("!clear + !yes while a message's files download: the message goes under exactly one chat id, not the closed one", async () => {
    const media = gatedMedia();
    const { dispatcher, agent, store } = setup({ autoEnd: true, media });
    const withFile = message("see attached", [{ source: "mxc://hs/file", name: "a.txt" }] as never);
    await dispatcher.enqueue(withFile);
    await until("the download to start", () => media.started === 1);
    await dispatcher.enqueue(message("!clear"));
    await dispatcher.enqueue(message("!yes"));
    expect(agent.closed).toEqual([{ chatId: "c1", reason: "cleared" }]);
    expect(store.rooms.get(ROOM)?.chatId).toBe("c2");

    media.release();
    await dispatcher.loop.drain();
    expect(agent.turns.map((t) => t.request.chatId)).toEqual(["c2"]);
    const closed = new Set(agent.closed.map((c) => c.chatId));
    expect(closed.has(agent.turns[0]!.request.chatId)).toBe(false);
    expect(store.inbox.inFlight()).toEqual([]);
  });

  it("commands are handled while a turn streams, and a message sent meanwhile waits for the turn, then runs", async () => {
    const { dispatcher, agent, chat } = setup({ autoEnd: false });
    const first = message("first");
    const second = message("second");
    await dispatcher.enqueue(first);
    await until("the first turn", () => agent.turns.length === 1);
    await until("the first message marked read", () => chat.reads.length === 1);
    await dispatcher.enqueue(second); // waits: the room is busy
    expect(chat.reactions).toEqual([expect.objectContaining({ roomId: ROOM, eventId: second.eventId, emoji: WAITING_MARK })]);
    expect(chat.redactions).toEqual([]);
    await dispatcher.enqueue(message("!help")); // not stuck behind the running turn
    expect(chat.notices.some((n) => n.text.includes("!new"))).toBe(true);
    expect(agent.turns).toHaveLength(1);
    expect(dispatcher.loop.depth()).toBeGreaterThanOrEqual(2); // one running turn + one waiting message

    await dispatcher.enqueue(message("!stop"));
    expect(agent.cancels).toEqual([agent.turns[0]!.request.turnId]);
    agent.turns[0]!.sink({ type: "end" });
    await until("the waiting message's turn", () => agent.turns.length === 2);
    expect(agent.turns[1]!.request.text).toBe("second");
    await until("the ⏳ removed", () => chat.redactions.length === 1);
    expect(chat.redactions[0]?.eventId).toBe(chat.reactions[0]?.reactionId);
    await until("the second message marked read", () => chat.reads.length === 2);
    expect(chat.reads.map((r) => r.eventId)).toEqual([first.eventId, second.eventId]);
    expect(chat.reactions).toHaveLength(1); // commands and the running turn's own message get no ⏳
    agent.turns[1]!.sink({ type: "text", delta: "done" });
    agent.turns[1]!.sink({ type: "end" });
    await dispatcher.loop.drain();
    expect(chat.replies.map((r) => r.text)).toEqual(["", "done"]);
    expect(dispatcher.loop.depth()).toBe(0);
  });

  it("a message that waited when the bot stopped loses its ⏳ when it runs after the restart", async () => {
    const { dispatcher, agent, chat, store } = setup({ autoEnd: true });
    const waited = message("waited across a restart");
    // What the previous run left: the mark, remembered in the store; the message pending in the ledger.
    store.waitMarks.set(waited.eventId, ROOM, asEventId("$hourglass"));
    await dispatcher.enqueue(waited);
    await until("its turn", () => agent.turns.length === 1);
    await dispatcher.loop.drain();
    await until("the ⏳ removed", () => chat.redactions.length === 1);
    expect(chat.redactions[0]).toMatchObject({ roomId: ROOM, eventId: "$hourglass" });
    expect(store.waitMarks.take(waited.eventId)).toBeUndefined();
  });

  it("at shutdown a turn that ends starts no waiting message: it stays pending for the next start", async () => {
    const { dispatcher, agent, store } = setup({ autoEnd: false });
    await dispatcher.enqueue(message("first"));
    await until("the first turn", () => agent.turns.length === 1);
    const waiting = message("second");
    store.inbox.record({ eventId: waiting.eventId, roomId: waiting.roomId, sender: waiting.sender, content: waiting, originTs: 1 });
    await dispatcher.enqueue(waiting);
    dispatcher.loop.close();
    agent.turns[0]!.sink({ type: "end" });
    await dispatcher.loop.drain();
    expect(agent.turns).toHaveLength(1);
    expect(store.inbox.pending().map((r) => r.eventId)).toEqual([waiting.eventId]);
  });
});
