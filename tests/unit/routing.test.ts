import { describe, expect, it } from "vitest";
import { decide, type RoutingFacts } from "../../src/core/routing.js";
import { parseCommand } from "../../src/core/commands/parse.js";
import type { IncomingEvent } from "../../src/core/incoming.js";
import { asEventId, asRoomId, asUserId } from "../../src/core/ids.js";

const bot = asUserId("@bot:hs");
const owner = asUserId("@alice:hs");
const other = asUserId("@mallory:hs");
const base = { roomId: asRoomId("!r:hs"), eventId: asEventId("$e") };

const msg = (sender = owner, text = "hi", extra: Partial<Extract<IncomingEvent, { kind: "message" }>> = {}): IncomingEvent => ({
  kind: "message", ...base, sender, text, files: [], encrypted: false, ...extra,
});
const chat = { kind: "chat" as const, owner, archived: false };
const facts = (room: RoutingFacts["room"], senderAllowed = true): RoutingFacts => ({ botUserId: bot, senderAllowed, room });

describe("decide (event + room → action)", () => {
  const table: Array<[string, IncomingEvent, RoutingFacts, string]> = [
    ["own events", msg(bot), facts(chat), "ignore"],
    ["invite from a registry user", { kind: "invite", ...base, sender: owner }, facts({ kind: "unknown", owner: null, archived: false }), "accept-invite"],
    ["invite from a stranger", { kind: "invite", ...base, sender: other }, facts({ kind: "unknown", owner: null, archived: false }, false), "refuse-invite"],
    ["message from a stranger", msg(other), facts(chat, false), "ignore"],
    ["message from a registry user who is not the owner", msg(other), facts(chat, true), "ignore"],
    ["plain text from the owner in a chat", msg(), facts(chat), "forward"],
    ["a file alone from the owner", msg(owner, "", { files: [{ source: "mxc://hs/x", name: "a.txt" }] }), facts(chat), "forward"],
    ["empty text", msg(owner, "   "), facts(chat), "ignore"],
    ["a command in a chat", msg(owner, "!help"), facts(chat), "command"],
    ["a command in an unknown room", msg(owner, "!new"), facts({ kind: "unknown", owner: null, archived: false }), "command"],
    ["text in an archived chat", msg(), facts({ ...chat, archived: true }), "archived-notice"],
    ["text in a space", msg(), facts({ kind: "space", owner, archived: false }), "ignore"],
    ["text in an unknown room", msg(), facts({ kind: "unknown", owner: null, archived: false }), "recover-room"],
    ["an encrypted message", msg(owner, "", { encrypted: true }), facts({ kind: "unknown", owner: null, archived: false }), "encrypted-notice"],
    ["a reaction in a chat", { kind: "reaction", ...base, sender: owner, targetEventId: asEventId("$t"), key: "✅" }, facts(chat), "reaction"],
    ["a reaction by someone else", { kind: "reaction", ...base, sender: other, targetEventId: asEventId("$t"), key: "✅" }, facts(chat), "ignore"],
  ];
  it.each(table)("%s", (_name, event, f, expected) => {
    expect(decide(event, f).type).toBe(expected);
  });
});

describe("parseCommand", () => {
  it.each([
    ["!help", { name: "help", args: "" }],
    ["  !NEW   My   room ", { name: "new", args: "My   room" }],
    ["!\u00a0rename\tx", { name: "rename", args: "x" }],
    ["! stop", { name: "stop", args: "" }],
    ["hello !help", null],
    ["!", null],
    ["!!", null],
    ["!123", null],
  ])("%j", (text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });
});

describe("invites from strangers", () => {
  const invite: IncomingEvent = { kind: "invite", ...base, sender: other };
  const unknown = { kind: "unknown" as const, owner: null, archived: false };
  it("tells a stranger only when the dispatcher says they may be told (their server hosts users, not answered lately)", () => {
    expect(decide(invite, { ...facts(unknown, false), strangerMayBeTold: true })).toEqual({ type: "refuse-invite", tell: true });
    expect(decide(invite, { ...facts(unknown, false), strangerMayBeTold: false })).toEqual({ type: "refuse-invite", tell: false });
    expect(decide(invite, facts(unknown, false))).toEqual({ type: "refuse-invite", tell: false });
  });
});
