/** Each repository against a real SQLite file. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { asAgentId, asChatId, asEventId, asRoomId, asTurnId, asUserId } from "../../src/core/ids.js";
import type { RoomUpsert } from "../../src/store/records.js";
import { openStore } from "../../src/store/store.js";
import type { Store } from "../../src/store/store.js";

let dir: string;
let file: string;
let store: Store;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "surfaces-repos-"));
  file = path.join(dir, "surfaces.db");
  store = openStore(file);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const alice = asUserId("@alice:x");
const bob = asUserId("@bob:x");
const chat = (roomId: string, index: number, extra: Partial<RoomUpsert> = {}): RoomUpsert => ({
  roomId: asRoomId(roomId),
  owner: alice,
  kind: "chat",
  agentId: asAgentId("coder"),
  chatId: asChatId(`c${index}`),
  name: `Chat ${index}`,
  index,
  archived: false,
  ...extra,
});

describe("users", () => {
  it("upserts, merges partial updates and lists", () => {
    expect(store.users.get(alice)).toBeUndefined();
    store.users.upsert({ userId: alice, lobbyRoomId: asRoomId("!lobby:x"), createdAt: 100 });
    store.users.setSpace(alice, asRoomId("!space:x"));
    store.users.setSelectedAgent(alice, asAgentId("coder"));
    store.users.upsert({ userId: alice, createdAt: 999 }); // nothing given: nothing changes
    expect(store.users.get(alice)).toEqual({
      userId: alice,
      spaceId: "!space:x",
      lobbyRoomId: "!lobby:x",
      selectedAgent: "coder",
      createdAt: 100,
    });
    store.users.upsert({ userId: alice, lobbyRoomId: null });
    expect(store.users.get(alice)?.lobbyRoomId).toBeNull();
    store.users.setSelectedAgent(bob, asAgentId("writer")); // creates bob
    expect(store.users.all().map((u) => u.userId).sort()).toEqual([alice, bob]);
  });
});

describe("rooms", () => {
  it("stores and reads back every field", () => {
    store.rooms.upsert({ ...chat("!a:x", 1), createdAt: 5 });
    expect(store.rooms.get(asRoomId("!a:x"))).toEqual({
      roomId: "!a:x",
      owner: alice,
      kind: "chat",
      agentId: "coder",
      chatId: "c1",
      name: "Chat 1",
      index: 1,
      archived: false,
      createdAt: 5,
    });
    store.rooms.upsert({ ...chat("!a:x", 1), name: "renamed", createdAt: 77 });
    expect(store.rooms.get(asRoomId("!a:x"))).toMatchObject({ name: "renamed", createdAt: 5 });
  });

  it("lists by owner, hides archived rooms unless asked, filters by kind", () => {
    store.rooms.upsert({ roomId: asRoomId("!s:x"), owner: alice, kind: "space", agentId: null, chatId: null, name: "Alice", index: 0, archived: false });
    store.rooms.upsert(chat("!b:x", 2));
    store.rooms.upsert(chat("!a:x", 1));
    store.rooms.upsert({ ...chat("!bob:x", 1), owner: bob });
    store.rooms.setArchived(asRoomId("!b:x"));

    expect(store.rooms.byOwner(alice).map((r) => r.roomId)).toEqual(["!s:x", "!a:x"]);
    expect(store.rooms.byOwner(alice, { includeArchived: true }).map((r) => r.roomId)).toEqual(["!s:x", "!a:x", "!b:x"]);
    expect(store.rooms.byOwner(alice, { kind: "chat", includeArchived: true }).map((r) => r.roomId)).toEqual(["!a:x", "!b:x"]);
    expect(store.rooms.spaceOf(alice)?.roomId).toBe("!s:x");
    expect(store.rooms.spaceOf(bob)).toBeUndefined();
    expect(store.rooms.count()).toBe(4);
    expect(store.rooms.all()).toHaveLength(4);
  });

  it("finds a room by chat id, preferring a live room", () => {
    store.rooms.upsert({ ...chat("!old:x", 1, { chatId: asChatId("42") }), archived: true, createdAt: 2 });
    store.rooms.upsert({ ...chat("!live:x", 2, { chatId: asChatId("42") }), createdAt: 1 });
    expect(store.rooms.byChatId(asChatId("42"))?.roomId).toBe("!live:x");
    expect(store.rooms.byChatId(asChatId("404"))).toBeUndefined();

    store.rooms.setChatId(asRoomId("!live:x"), asChatId("43"));
    expect(store.rooms.byChatId(asChatId("43"))?.roomId).toBe("!live:x");
    expect(store.rooms.byChatId(asChatId("42"))?.roomId).toBe("!old:x");
  });

  it("renames, archives, un-archives and clears", () => {
    store.rooms.upsert(chat("!a:x", 1));
    store.rooms.rename(asRoomId("!a:x"), "Taxes");
    store.rooms.setArchived(asRoomId("!a:x"));
    expect(store.rooms.get(asRoomId("!a:x"))).toMatchObject({ name: "Taxes", archived: true });
    store.rooms.setArchived(asRoomId("!a:x"), false);
    expect(store.rooms.get(asRoomId("!a:x"))?.archived).toBe(false);
    store.rooms.clear();
    expect(store.rooms.count()).toBe(0);
  });

  it("nextIndex counts past archived chats and ignores the Space and other owners", () => {
    expect(store.rooms.nextIndex(alice)).toBe(1);
    store.rooms.upsert({ roomId: asRoomId("!s:x"), owner: alice, kind: "space", agentId: null, chatId: null, name: null, index: 0, archived: false });
    expect(store.rooms.nextIndex(alice)).toBe(1);
    store.rooms.upsert(chat("!a:x", 1));
    store.rooms.upsert(chat("!c:x", 3, { archived: true }));
    store.rooms.upsert({ ...chat("!bob:x", 9), owner: bob });
    expect(store.rooms.nextIndex(alice)).toBe(4);
  });

  it("rejects a kind the schema does not know", () => {
    expect(() => store.rooms.upsert({ ...chat("!a:x", 1), kind: "lobby" as never })).toThrow(/CHECK/);
  });
});

describe("savedContexts", () => {
  it("saves, overwrites by name, gets and lists sorted", () => {
    store.savedContexts.save({ owner: alice, name: "taxes", chatId: asChatId("1"), agentId: asAgentId("coder"), savedAt: 10 });
    store.savedContexts.save({ owner: alice, name: "recipes", chatId: asChatId("2"), agentId: asAgentId("writer") });
    store.savedContexts.save({ owner: alice, name: "taxes", chatId: asChatId("3"), agentId: asAgentId("coder"), savedAt: 20 });
    store.savedContexts.save({ owner: bob, name: "taxes", chatId: asChatId("9"), agentId: asAgentId("coder") });

    expect(store.savedContexts.get(alice, "taxes")).toEqual({ owner: alice, name: "taxes", chatId: "3", agentId: "coder", savedAt: 20 });
    expect(store.savedContexts.get(alice, "nope")).toBeUndefined();
    expect(store.savedContexts.list(alice).map((c) => c.name)).toEqual(["recipes", "taxes"]);
    expect(store.savedContexts.delete(alice, "recipes")).toBe(true);
    expect(store.savedContexts.list(alice)).toHaveLength(1);
  });
});

describe("pending", () => {
  const room = asRoomId("!a:x");
  const confirm = {
    roomId: room,
    kind: "confirm" as const,
    turnId: asTurnId("turn-1"),
    confirmId: "cf-1",
    agentId: asAgentId("coder"),
    promptEventId: asEventId("$prompt"),
    expiresAt: 1_000,
  };
  beforeEach(() => store.rooms.upsert(chat("!a:x", 1)));

  it("sets, gets, finds by prompt and takes once", () => {
    store.pending.set(confirm);
    expect(store.pending.get(room)).toEqual(confirm);
    expect(store.pending.byPromptEvent(asEventId("$prompt"))).toEqual(confirm);
    expect(store.pending.byPromptEvent(asEventId("$other"))).toBeUndefined();
    expect(store.pending.take(room, 999)).toEqual(confirm);
    expect(store.pending.take(room, 999)).toBeUndefined();
    expect(store.pending.get(room)).toBeUndefined();
  });

  it("a new question replaces the old one in the same room", () => {
    store.pending.set(confirm);
    store.pending.set({ ...confirm, kind: "archive", turnId: null, confirmId: null, promptEventId: null });
    expect(store.pending.get(room)?.kind).toBe("archive");
  });

  it("hides expired questions when given now, and lists them for sweeping", () => {
    store.rooms.upsert(chat("!b:x", 2));
    store.pending.set(confirm);
    store.pending.set({ ...confirm, roomId: asRoomId("!b:x"), promptEventId: asEventId("$p2"), expiresAt: 5_000 });
    expect(store.pending.get(room, 1_000)).toBeUndefined();
    expect(store.pending.get(room, 999)).toEqual(confirm);
    expect(store.pending.byPromptEvent(asEventId("$prompt"), 2_000)).toBeUndefined();
    expect(store.pending.expired(1_000).map((p) => p.roomId)).toEqual([room]);
    expect(store.pending.expired(5_000).map((p) => p.roomId)).toEqual([room, "!b:x"]);
    // take() removes an expired question but does not hand it out.
    expect(store.pending.take(room, 2_000)).toBeUndefined();
    expect(store.pending.get(room)).toBeUndefined();
  });

  it("goes away with its room", () => {
    store.pending.set(confirm);
    store.rooms.clear();
    expect(store.pending.get(room)).toBeUndefined();
  });
});

describe("kv", () => {
  it("kv gets, sets, overwrites and deletes", () => {
    expect(store.kv.get("sync")).toBeUndefined();
    store.kv.set("sync", '{"a":1}');
    store.kv.set("sync", '{"a":2}');
    expect(store.kv.get("sync")).toBe('{"a":2}');
    expect(store.kv.delete("sync")).toBe(true);
    expect(store.kv.delete("sync")).toBe(false);
  });
});

describe("always allowed", () => {
  const coder = asAgentId("coder");
  it("keeps each prompt once per conversation and agent, oldest first, and forgets one conversation's", () => {
    store.alwaysAllowed.allow(asChatId("c1"), coder, "Run the tests?", 2);
    store.alwaysAllowed.allow(asChatId("c1"), coder, "Deploy?", 3);
    store.alwaysAllowed.allow(asChatId("c1"), coder, "Run the tests?", 4); // again: no second row
    store.alwaysAllowed.allow(asChatId("c2"), coder, "Deploy?", 5);
    store.alwaysAllowed.allow(asChatId("c1"), asAgentId("other"), "Deploy?", 6);
    expect(store.alwaysAllowed.list(asChatId("c1"), coder)).toEqual(["Run the tests?", "Deploy?"]);
    expect(store.alwaysAllowed.has(asChatId("c1"), coder, "run the tests?")).toBe(false); // exact text only
    expect(store.alwaysAllowed.forget(asChatId("c1"), coder)).toBe(2);
    expect(store.alwaysAllowed.list(asChatId("c1"), coder)).toEqual([]);
    expect(store.alwaysAllowed.has(asChatId("c2"), coder, "Deploy?")).toBe(true);
    expect(store.alwaysAllowed.has(asChatId("c1"), asAgentId("other"), "Deploy?")).toBe(true);
  });
});

describe("wait marks", () => {
  it("gives a message's ⏳ back once, also after the store is reopened", () => {
    store.waitMarks.set(asEventId("$m"), asRoomId("!r:x"), asEventId("$x"));
    store.close();
    store = openStore(file);
    expect(store.waitMarks.take(asEventId("$m"))).toEqual({ roomId: "!r:x", reactionId: "$x" });
    expect(store.waitMarks.take(asEventId("$m"))).toBeUndefined();
  });
});
