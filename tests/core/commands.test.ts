/**
 * Every `!command` of docs/user-guide.md through the real dispatcher, with
 * recording ports: what the user is told, what changes in the store and in
 * room state, and what the agent hears.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { helpText } from "../../src/core/commands/help.js";
import { escapeMarkdown } from "../../src/core/commands/sanitize.js";
import { spaceNameFor } from "../../src/core/onboarding.js";
import { asChatId, type RoomId } from "../../src/core/ids.js";
import { strings } from "../../src/core/strings.js";
import { ALICE, BOB, BOT, Core, HELPER, OTHER, plays, type Onboarded } from "./harness.js";

let core: Core;
let alice: Onboarded;

beforeEach(async () => {
  core = new Core();
  alice = await core.onboard();
});
afterEach(() => core.close());

/** Where a command is typed: Alice's first chat room, her lobby, or her Space. */
type Where = "chat" | "lobby" | "space";
const roomOf = (where: Where): RoomId => ({ chat: alice.chatRoomId, lobby: alice.lobbyId, space: alice.spaceId })[where];

describe("one-line answers", () => {
  // [command, where, the notice it answers with]
  const rows: Array<[string, Where, () => string]> = [
    ["!help", "chat", () => helpText],
    ["!help", "lobby", () => helpText],
    ["!HELP", "chat", () => helpText],
    ["!frobnicate", "chat", () => strings.unknownCommand("frobnicate")],
    ["!rename", "chat", () => strings.usage("!rename <name>")],
    ["!rename x", "lobby", () => strings.chatRoomOnly("rename")],
    ["!context", "lobby", () => strings.chatRoomOnly("context")],
    ["!save", "chat", () => strings.usage("!save <name>")],
    ["!save x", "lobby", () => strings.chatRoomOnly("save")],
    ["!load", "chat", () => strings.usage("!load <name>")],
    ["!load nope", "chat", () => strings.noSuchSaved("nope")],
    ["!load x", "lobby", () => strings.chatRoomOnly("load")],
    ["!clear", "lobby", () => strings.chatRoomOnly("clear")],
    ["!reset", "lobby", () => strings.chatRoomOnly("reset")],
    ["!archive", "space", () => strings.chatRoomOnly("archive")],
    ["!yes", "chat", () => strings.nothingPending],
    ["!no", "chat", () => strings.nothingPending],
    ["!stop", "chat", () => strings.nothingRunning],
    ["!agent stranger-agent", "lobby", () => strings.agentNotYours("stranger-agent")],
    ["!agent other", "lobby", () => strings.agentSelected(OTHER)],
  ];
  it.each(rows)("%s in the %s → its notice", async (text, where, expected) => {
    const room = roomOf(where);
    const before = core.chat.calls.length;
    await core.say(room, text);
    expect(core.chat.calls.slice(before)).toEqual([expect.objectContaining({ op: "notice", roomId: room, text: expected() })]);
    expect(core.agent.turns).toHaveLength(0); // commands never reach the agent
  });
});

describe("!new", () => {
  it.each<[string, Where, string]>([
    ["!new", "lobby", "Chat 2"],
    ["!new Trip planning", "chat", "Trip planning"],
    ["!new  \u202eEvil\u200b name", "lobby", "Evil name"],
  ])("%s in the %s makes a bound room in the Space and invites Alice", async (text, where, name) => {
    await core.say(roomOf(where), text);
    const created = core.chat.calls.findLast((c) => c.op === "createChatRoom");
    expect(created).toMatchObject({ op: "createChatRoom", spaceId: alice.spaceId, name, binding: { owner: ALICE, kind: "chat", agentId: HELPER, index: 2 } });
    const roomId = created?.op === "createChatRoom" ? created.roomId : undefined;
    expect(core.store.rooms.get(roomId!)).toMatchObject({ name, agentId: HELPER, index: 2, archived: false });
    expect(core.chat.calls).toContainEqual({ op: "invite", roomId: alice.spaceId, user: ALICE });
    expect(core.chat.last(roomId)).toBe(strings.firstChatGreeting(HELPER));
    expect(core.chat.last(roomOf(where))).toBe(strings.newChatCreated(name, core.chat.roomLink(roomId!), HELPER));
  });

  it("uses the agent picked with !agent", async () => {
    await core.say(alice.lobbyId, "!agent other");
    await core.say(alice.lobbyId, "!new");
    expect(core.chat.calls.findLast((c) => c.op === "createChatRoom")).toMatchObject({ binding: { agentId: OTHER } });
  });

  it("without a Space asks for an invite first", async () => {
    const room = "!somewhere:hs" as RoomId;
    await core.say(room, "!new", BOB);
    expect(core.chat.said(room)).toEqual([strings.noSpaceYet]);
  });
});

describe("!rename", () => {
  it("renames the room in the homeserver and the store, cleaned of invisible characters", async () => {
    await core.say(alice.chatRoomId, "!rename \u202eMy\u200b  room\u0007");
    expect(core.chat.calls).toContainEqual({ op: "rename", roomId: alice.chatRoomId, name: "My room" });
    expect(core.store.rooms.get(alice.chatRoomId)?.name).toBe("My room");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.renamed("My room"));
  });
});

describe("!chats", () => {
  it("lists the active chat rooms with links, this one marked, archived ones left out", async () => {
    await core.say(alice.lobbyId, "!new Second");
    const second = core.store.rooms.byOwner(ALICE).find((r) => r.name === "Second")!.roomId;
    core.store.rooms.setArchived(second);
    await core.say(alice.chatRoomId, "!chats");
    expect(core.chat.last(alice.chatRoomId)).toBe(
      [strings.chatsHeader(1), strings.chatsLine("Chat 1", core.chat.roomLink(alice.chatRoomId), HELPER, true)].join("\n"),
    );
  });
});

describe("!context, !save and !load", () => {
  it("!context shows the room's agent, conversation, what is always allowed and bookmarks", async () => {
    await core.say(alice.chatRoomId, "!save first");
    await core.say(alice.chatRoomId, "!context");
    expect(core.chat.last(alice.chatRoomId)).toBe(
      [strings.contextInfo(HELPER, alice.chatId), "", strings.alwaysHeader(0), "", strings.savedHeader(1), strings.savedLine("first", HELPER, alice.chatId)].join("\n"),
    );
  });

  it("!save bookmarks, !clear + !yes moves on, !load comes back — and the bookmarked id is never closed", async () => {
    await core.say(alice.chatRoomId, "!save before");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.saved("before"));
    await core.say(alice.chatRoomId, "!clear");
    await core.say(alice.chatRoomId, "!yes");
    const fresh = core.store.rooms.get(alice.chatRoomId)?.chatId;
    expect(fresh).not.toBe(alice.chatId);
    expect(core.agent.closedChats).toEqual([]); // "before" still refers to it
    await core.say(alice.chatRoomId, "!load before");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.loaded("before", alice.chatId));
    expect(core.store.rooms.get(alice.chatRoomId)?.chatId).toBe(alice.chatId);
    expect(core.chat.bindings.get(alice.chatRoomId)?.chatId).toBe(alice.chatId); // room state first
    expect(core.agent.closedChats).toEqual([{ agentId: HELPER, chatId: fresh, reason: "cleared" }]);
    await core.say(alice.chatRoomId, "!load before");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.alreadyLoaded("before"));
  });

  it("!load refuses a bookmark of another agent and does nothing in an archived room", async () => {
    core.store.savedContexts.save({ owner: ALICE, name: "theirs", chatId: asChatId("99"), agentId: OTHER });
    await core.say(alice.chatRoomId, "!load theirs");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.savedOtherAgent("theirs", OTHER, HELPER));
    core.store.rooms.setArchived(alice.chatRoomId);
    await core.say(alice.chatRoomId, "!load theirs");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.roomIsArchived("load"));
    expect(core.store.rooms.get(alice.chatRoomId)?.chatId).toBe(alice.chatId);
  });
});

describe("!agent and !settings", () => {
  it.each(["!agent", "!agents"])("%s lists the user's agents with their status and the pick", async (text) => {
    core.agent.down.add(OTHER);
    await core.say(alice.lobbyId, text);
    expect(core.chat.last(alice.lobbyId)).toBe(
      [strings.agentsHeader, strings.agentLine(HELPER, true, "connected"), strings.agentLine(OTHER, false, "unreachable"), "", strings.agentHint].join("\n"),
    );
  });

  it("!agent <id> changes the pick for new rooms only", async () => {
    await core.say(alice.lobbyId, "!agent other");
    expect(core.store.users.get(ALICE)?.selectedAgent).toBe(OTHER);
    expect(core.store.rooms.get(alice.chatRoomId)?.agentId).toBe(HELPER);
  });

  it("!settings shows the user, pick, Space, rooms and limits", async () => {
    await core.say(alice.chatRoomId, "!settings");
    expect(core.chat.last(alice.chatRoomId)).toBe(
      strings.settings({
        user: ALICE,
        agent: HELPER,
        agents: 2,
        space: `[${escapeMarkdown(spaceNameFor(ALICE))}](${core.chat.roomLink(alice.spaceId)})`,
        chats: 1,
        archived: 0,
        editIntervalMs: 1000,
        idleTimeoutMs: 30_000,
        confirmTimeoutMs: 60_000,
      }),
    );
  });
});

describe("questions: !clear / !reset / !archive, answered by !yes / !no or a reaction", () => {
  it.each(["!clear", "!reset"])("%s then !yes gives the room a fresh conversation and closes the old one", async (command) => {
    await core.say(alice.chatRoomId, command);
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.confirmClear(60_000));
    expect(core.store.pending.get(alice.chatRoomId)?.kind).toBe("clear");
    await core.say(alice.chatRoomId, "!yes");
    const fresh = core.store.rooms.get(alice.chatRoomId)!.chatId!;
    expect(fresh).not.toBe(alice.chatId);
    expect(core.chat.bindings.get(alice.chatRoomId)?.chatId).toBe(fresh);
    expect(core.agent.closedChats).toEqual([{ agentId: HELPER, chatId: alice.chatId, reason: "cleared" }]);
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.cleared(fresh));
    expect(core.store.pending.get(alice.chatRoomId)).toBeUndefined();
  });

  it("!clear then !no changes nothing", async () => {
    await core.say(alice.chatRoomId, "!clear");
    await core.say(alice.chatRoomId, "!no");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.cancelled);
    expect(core.store.rooms.get(alice.chatRoomId)?.chatId).toBe(alice.chatId);
    expect(core.agent.closedChats).toEqual([]);
  });

  it("!archive then ✅ on the question takes the room out of the Space and stops answering there", async () => {
    await core.say(alice.chatRoomId, "!archive");
    const prompt = core.store.pending.get(alice.chatRoomId)!.promptEventId!;
    await core.react(alice.chatRoomId, prompt, "✅\ufe0f");
    expect(core.chat.calls).toContainEqual({ op: "setSpaceChild", spaceId: alice.spaceId, roomId: alice.chatRoomId, present: false });
    expect(core.chat.bindings.get(alice.chatRoomId)?.archived).toBe(true);
    expect(core.store.rooms.get(alice.chatRoomId)?.archived).toBe(true);
    expect(core.agent.closedChats).toEqual([{ agentId: HELPER, chatId: alice.chatId, reason: "archived" }]);
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.archived);

    await core.say(alice.chatRoomId, "hello?");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.roomArchived);
    await core.say(alice.chatRoomId, "!archive");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.roomIsArchived("archive"));
    expect(core.agent.turns).toHaveLength(0);
  });

  it("a second question never replaces the open one; !yes then answers the first", async () => {
    await core.say(alice.chatRoomId, "!clear");
    await core.say(alice.chatRoomId, "!archive");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.questionAlreadyOpen(strings.questionSubject("clear")));
    await core.say(alice.chatRoomId, "!yes");
    expect(core.store.rooms.get(alice.chatRoomId)).toMatchObject({ archived: false });
    expect(core.store.rooms.get(alice.chatRoomId)?.chatId).not.toBe(alice.chatId);
  });

  it("an agent asking while a !clear question is open is answered no for the user, and told so", async () => {
    await core.say(alice.chatRoomId, "!clear");
    core.agent.next.push(plays({ type: "confirm", confirmId: "c1", prompt: "Delete?" }));
    await core.say(alice.chatRoomId, "tidy up");
    expect(core.agent.confirmResults).toMatchObject([{ confirmId: "c1", approved: false }]);
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.agentQuestionDeclined(HELPER, "Delete?", strings.questionSubject("clear")));
    expect(core.store.pending.get(alice.chatRoomId)?.kind).toBe("clear");
  });

  it("❌ on the question refuses; a reaction on another message or by someone else is no answer", async () => {
    await core.say(alice.chatRoomId, "!clear");
    const prompt = core.store.pending.get(alice.chatRoomId)!.promptEventId!;
    await core.react(alice.chatRoomId, prompt, "✅", BOB);
    await core.react(alice.chatRoomId, "$elsewhere" as never, "✅");
    expect(core.store.pending.get(alice.chatRoomId)?.kind).toBe("clear");
    await core.react(alice.chatRoomId, prompt, "❌");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.cancelled);
    expect(core.store.rooms.get(alice.chatRoomId)?.chatId).toBe(alice.chatId);
  });
});

describe("!stop and ⏹", () => {
  it("!stop cancels the running turn; what was written stays, marked stopped", async () => {
    core.agent.next.push(plays({ type: "text", delta: "partial" }));
    const turn = core.say(alice.chatRoomId, "write a lot");
    await core.settle();
    const running = core.agent.turns[0]!.request;
    await core.say(alice.chatRoomId, "!stop"); // handled at once, beside the running turn
    await turn;
    await core.idle();
    expect(core.agent.cancels).toEqual([{ agentId: HELPER, turnId: running.turnId }]);
    expect(core.chat.replies[0]).toMatchObject({ text: "partial", finished: 1, stopped: true });
    expect(core.chat.said(alice.chatRoomId)).not.toContain(strings.nothingRunning);
  });

  it("⏹ on the streaming answer stops it; ⏹ on another message does not", async () => {
    core.agent.next.push(plays({ type: "text", delta: "partial" }));
    const turn = core.say(alice.chatRoomId, "write a lot");
    await core.settle();
    await core.react(alice.chatRoomId, "$not-the-answer" as never, "⏹");
    expect(core.agent.cancels).toEqual([]);
    await core.react(alice.chatRoomId, core.chat.replies[0]!.eventId!, "⏹️");
    await turn;
    await core.idle();
    expect(core.agent.cancels).toHaveLength(1);
    expect(core.chat.replies[0]?.stopped).toBe(true);
  });
});

describe("!stop before the turn starts", () => {
  const file = { source: "mxc://hs/f", name: "f.txt" };

  it("!stop while the message's files download: that message never reaches the agent, the user is told, later ones still do", async () => {
    core.media.hold = true;
    const pending = core.say(alice.chatRoomId, "with a file", ALICE, { files: [file] });
    const after = core.say(alice.chatRoomId, "right after");
    await core.settle();
    expect(core.media.held).toHaveLength(1);
    await core.say(alice.chatRoomId, "!stop");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.stoppedBeforeStart);
    // Stopped once: a second !stop finds nothing more to stop.
    await core.say(alice.chatRoomId, "!stop");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.nothingRunning);

    core.media.held[0]?.finish();
    const id = await pending;
    await after;
    await core.idle();
    expect(core.agent.turns.map((t) => t.request.text)).toEqual(["right after"]);
    expect(core.store.inbox.get(id)?.status).toBe("done");
  });

  it("!stop after the files arrived stops the running turn as usual", async () => {
    core.media.hold = true;
    core.agent.next.push(plays({ type: "text", delta: "partial" }));
    const turn = core.say(alice.chatRoomId, "with a file", ALICE, { files: [file] });
    await core.settle();
    core.media.held[0]?.finish();
    await core.settle();
    expect(core.agent.turns).toHaveLength(1);
    await core.say(alice.chatRoomId, "!stop");
    await turn;
    await core.idle();
    expect(core.agent.cancels).toHaveLength(1);
    expect(core.chat.replies[0]).toMatchObject({ text: "partial", stopped: true });
    expect(core.chat.said(alice.chatRoomId)).not.toContain(strings.stoppedBeforeStart);
  });
});

describe("who may use commands", () => {
  it("ignores commands from someone who is not the room's owner, and from the bot itself", async () => {
    const before = core.chat.calls.length;
    const ids = [await core.say(alice.chatRoomId, "!help", BOB), await core.say(alice.chatRoomId, "!clear", BOT)];
    expect(core.chat.calls.length).toBe(before);
    expect(ids.map((id) => core.store.inbox.get(id)?.status)).toEqual(["ignored", "ignored"]);
    expect(core.store.pending.get(alice.chatRoomId)).toBeUndefined();
  });
});
