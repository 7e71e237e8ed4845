/**
 * Start-up recovery (core/recovery.ts) and agent notifications through the
 * real dispatcher: a restart on the same database, a lost database, events
 * that arrived but were never handled, questions that outlived the process.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { asChatId } from "../../src/core/ids.js";
import { strings } from "../../src/core/strings.js";
import { ALICE, BOB, Core, HELPER, OTHER, plays } from "./harness.js";

const cores: Core[] = [];
const make = (...args: ConstructorParameters<typeof Core>): Core => {
  const core = new Core(...args);
  cores.push(core);
  return core;
};
afterEach(() => {
  vi.useRealTimers();
  const stopped = cores.splice(0);
  for (const core of stopped) core.dispatcher.confirmations.stop();
  for (const store of new Set(stopped.map((c) => c.store))) store.close();
});

describe("after a restart on the same database", () => {
  it("a turn the crash cut short ends with one notice, and is not forwarded again", async () => {
    const before = make();
    const alice = await before.onboard();
    before.agent.next.push(plays({ type: "text", delta: "half" })); // the process dies mid-answer
    const id = await before.say(alice.chatRoomId, "long question");
    expect(before.store.inbox.get(id)?.status).toBe("forwarded");

    const after = make({ store: before.store });
    after.recoverAfterStart([]);
    await after.settle();
    expect(after.chat.said(alice.chatRoomId)).toEqual([strings.turnInterrupted]);
    expect(after.store.inbox.get(id)?.status).toBe("done");
    expect(after.agent.turns).toHaveLength(0);
    after.recoverAfterStart([]); // a second start says nothing more
    await after.settle();
    expect(after.chat.said(alice.chatRoomId)).toEqual([strings.turnInterrupted]);
  });

  it("events that arrived but were never handled are handled once, in arrival order", async () => {
    const before = make();
    const alice = await before.onboard();
    for (const text of ["first", "second", "!chats"]) {
      const eventId = before.eventId();
      const event = { kind: "message" as const, roomId: alice.chatRoomId, eventId, sender: ALICE, text, files: [], encrypted: false };
      before.store.inbox.record({ eventId, roomId: alice.chatRoomId, sender: ALICE, content: event, originTs: 0 });
    }
    const after = make({ store: before.store });
    after.recoverAfterStart([]);
    await after.idle();
    expect(after.agent.turns.map((t) => t.request.text)).toEqual(["first", "second"]);
    expect(after.chat.replies.map((r) => r.text)).toEqual(["echo: first", "echo: second"]);
    expect(after.chat.last(alice.chatRoomId)).toContain(strings.chatsHeader(1));
    expect(after.store.inbox.pending()).toEqual([]);
  });

  it("an agent's open question died with its turn: dropped with a notice; a !clear question expires on time", async () => {
    const before = make({ confirmTimeoutMs: 5000 });
    const alice = await before.onboard();
    await before.say(alice.lobbyId, "!new Second");
    const second = before.store.rooms.byOwner(ALICE).find((r) => r.name === "Second")!.roomId;
    before.agent.next.push(plays({ type: "confirm", confirmId: "c1", prompt: "Go?" }));
    await before.say(alice.chatRoomId, "do it");
    await before.say(second, "!clear");
    expect(before.store.pending.all().map((q) => q.kind).sort()).toEqual(["clear", "confirm"]);

    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const after = make({ store: before.store, confirmTimeoutMs: 5000 });
    after.recoverAfterStart([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(after.chat.said(alice.chatRoomId)).toEqual([strings.turnInterrupted, strings.questionDroppedByRestart]);
    await after.say(alice.chatRoomId, "!yes");
    expect(after.chat.last(alice.chatRoomId)).toBe(strings.nothingPending);
    expect(after.agent.confirmResults).toEqual([]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(after.chat.last(second)).toBe(strings.questionExpired("clear"));
  });
});

describe("after the database is lost", () => {
  it("rooms, Space and chat ids come back from the bindings; the conversation goes on", async () => {
    const before = make();
    const alice = await before.onboard();
    const after = make(); // an empty database
    after.chat.bindings.clear();
    for (const [roomId, binding] of before.chat.bindings) after.chat.bindings.set(roomId, binding);
    after.recoverAfterStart();
    expect(after.store.rooms.get(alice.chatRoomId)).toMatchObject({ owner: ALICE, agentId: HELPER, chatId: alice.chatId, index: 1 });
    expect(after.store.users.get(ALICE)?.spaceId).toBe(alice.spaceId);
    await after.say(alice.chatRoomId, "still there?");
    expect(after.agent.turns.map((t) => t.request.chatId)).toEqual([alice.chatId]);
    await after.say(alice.chatRoomId, "!new");
    expect(after.chat.calls.findLast((c) => c.op === "createChatRoom")).toMatchObject({ spaceId: alice.spaceId, binding: { index: 2 } });
  });
});

describe("agent notify", () => {
  it("is posted in the room that holds the chat, once per key", async () => {
    const core = make();
    const alice = await core.onboard();
    await core.dispatcher.notify(HELPER, alice.chatId, "build finished", "notify.1");
    expect(core.chat.calls.at(-1)).toMatchObject({ op: "text", roomId: alice.chatRoomId, text: "build finished", key: "notify.1" });
  });

  it.each([
    ["another agent's chat", OTHER, "1", () => undefined],
    ["a chat no room holds", HELPER, "999", () => undefined],
    ["an archived room", HELPER, "1", (core: Core, roomId: string) => core.store.rooms.setArchived(roomId as never)],
    ["an owner who may no longer use the agent", HELPER, "1", (core: Core) => core.registry.set(ALICE, [OTHER])],
  ])("is dropped for %s", async (_case, agentId, chatId, change) => {
    const core = make();
    const alice = await core.onboard();
    expect(alice.chatId).toBe(asChatId("1"));
    change(core, alice.chatRoomId);
    const before = core.chat.calls.length;
    await core.dispatcher.notify(agentId, asChatId(chatId), "hello?", "notify.x");
    expect(core.chat.calls.length).toBe(before);
  });

  it("a failed post is logged, not thrown, and the room keeps working", async () => {
    const core = make();
    const alice = await core.onboard();
    core.chat.failNext("text");
    await expect(core.dispatcher.notify(HELPER, alice.chatId, "lost", "notify.2")).resolves.toBeUndefined();
    await core.say(alice.chatRoomId, "hi", ALICE);
    expect(core.chat.replies.at(-1)?.text).toBe("echo: hi");
    await core.say(alice.chatRoomId, "hi", BOB); // not the owner: ignored
    expect(core.chat.replies).toHaveLength(1);
  });
});
