/**
 * Every way a turn or a command can go wrong, through the real dispatcher
 * with recording ports: the user gets exactly one short notice, nothing
 * hangs, and the room keeps working afterwards.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { TurnEvent } from "../../src/core/agent-port.js";
import { asRoomId } from "../../src/core/ids.js";
import { strings } from "../../src/core/strings.js";
import { ALICE, BOB, Core, HELPER, OTHER, STRANGER, plays, type CoreOptions, type Onboarded } from "./harness.js";

let core: Core;

async function start(opts: CoreOptions = {}): Promise<Onboarded> {
  core = new Core(opts);
  return core.onboard();
}
afterEach(() => {
  vi.useRealTimers();
  core.close();
});

describe("a turn's faults: one notice each, the answer so far kept, the room usable afterwards", () => {
  // [fault, what the agent port delivers, the notice]
  const rows: Array<[string, TurnEvent[], string]> = [
    ["agent error frame", [{ type: "error", code: "tool_crashed", message: "the tool crashed", retryable: false }], strings.agentError("the tool crashed")],
    ["idle timeout", [{ type: "error", code: "idle_timeout", message: "no frame for 30 s", retryable: true }], strings.agentIdleTimeout(30)],
    ["connection lost", [{ type: "error", code: "connection_lost", message: "socket closed", retryable: true }], strings.agentConnectionLost],
  ];
  it.each(rows)("%s", async (_fault, events, notice) => {
    const alice = await start();
    core.agent.next.push(plays({ type: "text", delta: "half an ans" }, ...events));
    const id = await core.say(alice.chatRoomId, "question");
    expect(core.chat.replies[0]).toMatchObject({ text: "half an ans", finished: 1, stopped: false });
    expect(core.chat.said(alice.chatRoomId).filter((t) => t === notice)).toHaveLength(1);
    expect(core.chat.last(alice.chatRoomId)).toBe(notice);
    expect(core.chat.typing.get(alice.chatRoomId)).toBe(false);
    expect(core.store.inbox.get(id)).toMatchObject({ status: "done", turnId: core.agent.turns[0]?.request.turnId });
    await core.say(alice.chatRoomId, "again");
    expect(core.chat.replies[1]).toMatchObject({ text: "echo: again", finished: 1 });
  });

  it("agent unavailable: the message is not delivered and the user is told at once", async () => {
    const alice = await start();
    core.agent.down.add(HELPER);
    await core.say(alice.chatRoomId, "anyone there?");
    expect(core.chat.said(alice.chatRoomId).slice(-1)).toEqual([strings.agentUnavailable(HELPER)]);
    expect(core.agent.turns).toHaveLength(0);
    expect(core.chat.typing.get(alice.chatRoomId)).toBe(false);
    core.agent.down.delete(HELPER);
    await core.say(alice.chatRoomId, "now?");
    expect(core.chat.replies.at(-1)?.text).toBe("echo: now?");
  });

  it("agent unavailable with a wait: told once that it waits, delivered when the agent is back", async () => {
    const alice = await start({ agentWaitMs: 60_000 });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    core.agent.down.add(HELPER);
    const turn = core.say(alice.chatRoomId, "wait for me");
    await vi.advanceTimersByTimeAsync(2500); // a few retries
    expect(core.chat.said(alice.chatRoomId).slice(-1)).toEqual([strings.agentWaiting(HELPER, 60_000)]);
    core.agent.down.delete(HELPER);
    await vi.advanceTimersByTimeAsync(1000);
    await turn;
    await core.idle();
    expect(core.chat.said(alice.chatRoomId).filter((t) => t.includes("not reachable"))).toHaveLength(1);
    expect(core.agent.turns.map((t) => t.request.text)).toEqual(["wait for me"]);
  });

  it("agent unavailable with a wait: !stop gives up and says so", async () => {
    const alice = await start({ agentWaitMs: 60_000 });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    core.agent.down.add(HELPER);
    const turn = core.say(alice.chatRoomId, "wait for me");
    await vi.advanceTimersByTimeAsync(10);
    await core.say(alice.chatRoomId, "!stop");
    await turn;
    await core.idle();
    expect(core.chat.said(alice.chatRoomId).slice(-1)).toEqual([strings.waitCancelled]);
    expect(core.agent.turns).toHaveLength(0);
  });
});

describe("typing", () => {
  it("shows while the agent works and goes once the answer's first text shows, before the turn ends", async () => {
    const alice = await start();
    core.agent.next.push(plays({ type: "tool_call", callId: "t1", name: "search", args: {} }));
    const turn = core.say(alice.chatRoomId, "look it up");
    await core.settle();
    expect(core.chat.typing.get(alice.chatRoomId)).toBe(true);
    core.agent.sink({ type: "text", delta: "found it" });
    await core.settle();
    expect(core.chat.typing.get(alice.chatRoomId)).toBe(false);
    core.agent.sink({ type: "end" });
    await turn;
    await core.idle();
    expect(core.chat.replies[0]).toMatchObject({ text: "found it", finished: 1 });
  });
});

describe("an agent's question (confirm)", () => {
  const asks: TurnEvent = { type: "confirm", confirmId: "c1", prompt: "Delete the logs?" };

  it("!yes reaches the agent while its turn runs, and the turn finishes", async () => {
    const alice = await start();
    core.agent.next.push(plays(asks));
    const turn = core.say(alice.chatRoomId, "clean up");
    await core.settle();
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.agentAsks(HELPER, "Delete the logs?", 60_000));
    await core.say(alice.chatRoomId, "!yes");
    const { turnId } = core.agent.turns[0]!.request;
    expect(core.agent.confirmResults).toEqual([{ agentId: HELPER, turnId, confirmId: "c1", approved: true }]);
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.confirmApproved("Delete the logs?"));
    core.agent.sink({ type: "text", delta: "deleted" });
    core.agent.sink({ type: "end" });
    await turn;
    await core.idle();
    expect(core.chat.replies[0]).toMatchObject({ text: "deleted", finished: 1 });
  });

  it("confirm timeout: no answer counts as no, told to the agent and the user once", async () => {
    const alice = await start({ confirmTimeoutMs: 5000 });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    core.agent.next.push(plays(asks));
    const turn = core.say(alice.chatRoomId, "clean up");
    await vi.advanceTimersByTimeAsync(4999);
    expect(core.agent.confirmResults).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(core.agent.confirmResults).toMatchObject([{ confirmId: "c1", approved: false }]);
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.questionExpired("confirm"));
    await core.say(alice.chatRoomId, "!yes"); // too late
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.nothingPending);
    expect(core.agent.confirmResults).toHaveLength(1);
    core.agent.sink({ type: "end" });
    await turn;
    await core.idle();
  });

  it("a !clear question left unanswered expires and changes nothing", async () => {
    const alice = await start({ confirmTimeoutMs: 5000 });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    await core.say(alice.chatRoomId, "!clear");
    await vi.advanceTimersByTimeAsync(5000);
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.questionExpired("clear"));
    await core.say(alice.chatRoomId, "!yes");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.nothingPending);
    expect(core.store.rooms.get(alice.chatRoomId)?.chatId).toBe(alice.chatId);
  });

  it("a turn that ends drops the question it left open", async () => {
    const alice = await start();
    core.agent.next.push(plays(asks, { type: "end" }));
    await core.say(alice.chatRoomId, "clean up");
    await core.settle();
    expect(core.store.pending.get(alice.chatRoomId)).toBeUndefined();
    await core.say(alice.chatRoomId, "!yes");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.nothingPending);
  });
});

describe("send failures from the chat port", () => {
  it("a command whose answer cannot be sent: logged, the user told once, the room keeps working", async () => {
    const alice = await start();
    core.chat.failNext("notice", (c) => c.op === "notice" && c.text === strings.nothingRunning);
    const id = await core.say(alice.chatRoomId, "!stop");
    expect(core.chat.said(alice.chatRoomId).slice(-1)).toEqual([strings.internalError]);
    expect(core.store.inbox.get(id)?.status).toBe("done");
    await core.say(alice.chatRoomId, "!help");
    expect(core.chat.said(alice.chatRoomId).slice(-2)).toEqual([strings.internalError, expect.stringContaining("**Surfaces**")]);
  });

  it("when even the failure notice cannot be sent, the event still completes and later ones are handled", async () => {
    const alice = await start();
    core.chat.failNext("notice");
    core.chat.failNext("notice");
    const id = await core.say(alice.chatRoomId, "!chats");
    expect(core.store.inbox.get(id)?.status).toBe("done");
    await core.say(alice.chatRoomId, "hello");
    expect(core.chat.replies.at(-1)?.text).toBe("echo: hello");
  });

  it("a failed room-state write on !yes to !clear keeps the old conversation", async () => {
    const alice = await start();
    await core.say(alice.chatRoomId, "!clear");
    core.chat.failNext("writeBinding");
    await core.say(alice.chatRoomId, "!yes");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.internalError);
    expect(core.store.rooms.get(alice.chatRoomId)?.chatId).toBe(alice.chatId);
    expect(core.agent.closedChats).toEqual([]);
  });

  it("a failed turn-error notice does not wedge the room", async () => {
    const alice = await start();
    core.agent.next.push(plays({ type: "error", code: "boom", message: "boom", retryable: false }));
    core.chat.failNext("notice", (c) => c.op === "notice" && c.text === strings.agentError("boom"));
    await core.say(alice.chatRoomId, "question");
    expect(core.chat.typing.get(alice.chatRoomId)).toBe(false);
    expect(core.dispatcher.turns.activeIn(alice.chatRoomId)).toBeUndefined();
    await core.say(alice.chatRoomId, "again");
    expect(core.chat.replies.at(-1)?.text).toBe("echo: again");
  });

  it("a failed Space creation leaves nothing half-made, and the next invite onboards", async () => {
    core = new Core();
    core.chat.failNext("createSpace");
    const lobby = asRoomId("!lobby:hs");
    await core.invite(lobby);
    expect(core.store.rooms.spaceOf(ALICE)).toBeUndefined();
    expect(core.store.users.get(ALICE)).toBeUndefined();
    await core.invite(lobby);
    expect(core.store.rooms.spaceOf(ALICE)).toBeDefined();
    expect(core.chat.calls.filter((c) => c.op === "createSpace")).toHaveLength(1);
  });
});

describe("a room the store does not know: recovery from its room state", () => {
  it("a recovered room's message stays pending in the ledger while its files download (not marked done early)", async () => {
    const alice = await start();
    const room = asRoomId("!recovered-files:hs");
    core.chat.bindings.set(room, { owner: ALICE, kind: "chat", agentId: HELPER, chatId: alice.chatId, index: 8, archived: false });
    core.media.hold = true;
    const id = await core.say(room, "with a file", ALICE, { files: [{ source: "mxc://hs/f", name: "f.txt" }] });
    expect(core.media.held).toHaveLength(1);
    expect(core.store.inbox.get(id)?.status).toBe("pending");
    core.media.held[0]?.finish();
    await core.idle();
    expect(core.agent.turns.map((t) => t.request.text)).toEqual(["with a file"]);
    expect(core.store.inbox.get(id)?.status).toBe("done");
  });

  it("a bound room of the sender is recovered and the message forwarded", async () => {
    const alice = await start();
    // A room the database does not hold (lost, or missed while the bot was
    // away); the homeserver's room state still binds it to Alice.
    const room = asRoomId("!recovered:hs");
    core.chat.bindings.set(room, { owner: ALICE, kind: "chat", agentId: HELPER, chatId: alice.chatId, index: 7, archived: false });
    await core.say(room, "still me");
    expect(core.store.rooms.get(room)).toMatchObject({ owner: ALICE, kind: "chat", agentId: HELPER, chatId: alice.chatId, index: 7 });
    expect(core.agent.turns.map((t) => [t.request.chatId, t.request.text])).toEqual([[alice.chatId, "still me"]]);
  });

  it.each([
    ["another user's binding", { owner: BOB, kind: "chat" as const, agentId: HELPER, chatId: null, index: 1, archived: false }],
    ["no binding", null],
  ])("%s: not forwarded; the owner of a Space is pointed to it", async (_case, binding) => {
    await start();
    const room = asRoomId("!unknown:hs");
    if (binding) core.chat.bindings.set(room, binding);
    await core.say(room, "hello?");
    expect(core.chat.said(room)).toEqual([strings.lobbyPointer("Surfaces · alice")]);
    expect(core.store.rooms.get(room)).toBeUndefined();
    expect(core.agent.turns).toHaveLength(0);
  });

  it("a registered user without a Space is told the room is unknown", async () => {
    core = new Core();
    const room = asRoomId("!unknown:hs");
    await core.say(room, "hello?", BOB);
    expect(core.chat.said(room)).toEqual([strings.roomUnknown]);
  });
});

describe("registry changes", () => {
  it("a room whose agent left the registry says so instead of forwarding", async () => {
    const alice = await start();
    core.known.delete(HELPER);
    core.registry.set(ALICE, [OTHER]);
    await core.say(alice.chatRoomId, "hello?");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.agentNotInRegistry(HELPER));
    expect(core.agent.turns).toHaveLength(0);
    await core.say(alice.lobbyId, "!new");
    expect(core.chat.calls.findLast((c) => c.op === "createChatRoom")).toMatchObject({ binding: { agentId: OTHER } });
  });

  it("an agent still defined but no longer the owner's is not borrowed", async () => {
    const alice = await start();
    core.registry.set(ALICE, [OTHER]);
    await core.say(alice.chatRoomId, "hello?");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.agentNotInRegistry(HELPER));
    expect(core.agent.turns).toHaveLength(0);
  });

  it("a user taken out of the registry is ignored, and a stranger's invite is refused", async () => {
    const alice = await start();
    core.registry.delete(ALICE);
    const before = core.chat.calls.length;
    const id = await core.say(alice.chatRoomId, "hello?");
    expect(core.chat.calls.length).toBe(before);
    expect(core.store.inbox.get(id)?.status).toBe("ignored");
    await core.invite(asRoomId("!dm:hs"), STRANGER);
    expect(core.chat.calls.at(-1)).toEqual({ op: "refuseInvite", roomId: "!dm:hs", text: strings.strangerInvite });
  });
});

describe("onboarding and room kinds", () => {
  it("a known user's invite makes a Space with a first chat room, once", async () => {
    const alice = await start();
    expect(core.chat.ops().slice(0, 3)).toEqual(["acceptInvite", "createSpace", "createChatRoom"]);
    expect(core.chat.said(alice.chatRoomId)).toEqual([strings.firstChatGreeting(HELPER)]);
    expect(core.chat.said(alice.lobbyId)).toEqual([strings.welcome("Surfaces · alice")]);
    await core.invite(asRoomId("!lobby2:hs"));
    expect(core.chat.calls.filter((c) => c.op === "createSpace")).toHaveLength(1);
    expect(core.chat.last(asRoomId("!lobby2:hs"))).toBe(strings.alreadyHaveSpace("Surfaces · alice"));
  });

  it("two quick invites build one Space", async () => {
    core = new Core();
    await Promise.all([core.invite(asRoomId("!a:hs")), core.invite(asRoomId("!b:hs"))]);
    expect(core.chat.calls.filter((c) => c.op === "createSpace")).toHaveLength(1);
  });

  it("encrypted messages get a notice; messages in the Space and empty ones are ignored", async () => {
    const alice = await start();
    await core.say(alice.chatRoomId, "", ALICE, { encrypted: true });
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.encrypted);
    const before = core.chat.calls.length;
    await core.say(alice.spaceId, "hello space");
    await core.say(alice.chatRoomId, "   ");
    expect(core.chat.calls.length).toBe(before);
    expect(core.agent.turns).toHaveLength(0);
  });
});

describe("files", () => {
  const photo = { source: "mxc://hs/photo", name: "photo.png", mime: "image/png", size: 2048 };

  it("a message's files reach the agent as attachments, in the room's conversation", async () => {
    const alice = await start();
    await core.say(alice.chatRoomId, "", ALICE, { files: [photo] });
    expect(core.media.fetched).toEqual([{ agentId: HELPER, chatId: alice.chatId, userId: ALICE, names: ["photo.png"] }]);
    expect(core.agent.turns[0]?.request).toMatchObject({
      text: strings.userSentFiles(["photo.png"]),
      attachments: [{ name: "photo.png", mime: "image/png", size: 2048, path: `inbox/${alice.chatId}/photo.png` }],
    });
  });

  it.each([
    ["too large", { name: "photo.png", reason: "too_large" as const, limitBytes: 1024 }, strings.fileTooLargeIn("photo.png", 1024)],
    ["failed download", { name: "photo.png", reason: "failed" as const }, strings.fileFetchFailed("photo.png")],
    ["over the user's quota", { name: "photo.png", reason: "quota" as const, limitBytes: 4096 }, strings.fileQuotaExceeded("photo.png", 4096)],
    ["disk almost full", { name: "photo.png", reason: "disk_full" as const }, strings.fileDiskFull("photo.png")],
  ])("a refused file (%s): nothing is delivered and the user is told why", async (_case, refusal, notice) => {
    const alice = await start();
    core.media.refuse = refusal;
    const id = await core.say(alice.chatRoomId, "see attached", ALICE, { files: [photo] });
    expect(core.chat.said(alice.chatRoomId).slice(-1)).toEqual([notice]);
    expect(core.agent.turns).toHaveLength(0);
    expect(core.store.inbox.get(id)?.status).toBe("done");
  });

  it("the agent's files are posted in order; a refused one becomes a notice", async () => {
    const alice = await start();
    core.agent.next.push(plays({ type: "file", path: "out/a.txt" }, { type: "file", path: "out/b.txt", caption: "B" }, { type: "end" }));
    await core.say(alice.chatRoomId, "send files");
    expect(core.media.sent.map((s) => [s.file.path, s.file.caption])).toEqual([["out/a.txt", undefined], ["out/b.txt", "B"]]);
    core.media.refuseSend = { reason: "missing" };
    core.agent.next.push(plays({ type: "file", path: "out/gone.txt" }, { type: "end" }));
    await core.say(alice.chatRoomId, "send another");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.fileMissing("out/gone.txt"));
  });

  it("a message waits in its room's queue while an earlier one's files download", async () => {
    const alice = await start();
    core.media.hold = true;
    const first = core.say(alice.chatRoomId, "with a file", ALICE, { files: [photo] });
    const second = core.say(alice.chatRoomId, "right after");
    await core.settle();
    expect(core.media.held).toHaveLength(1);
    expect(core.agent.turns).toHaveLength(0);
    core.media.held[0]?.finish();
    await Promise.all([first, second]);
    expect(core.agent.turns.map((t) => t.request.text)).toEqual(["with a file", "right after"]);
  });
});
