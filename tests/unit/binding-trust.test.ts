import { describe, expect, it } from "vitest";
import { trustedBinding, type StateEventLike } from "../../src/matrix/binding.js";
import { withIntentionalMentions } from "../../src/matrix/sender.js";
import { failureLabel } from "../../src/observability/metrics.js";

const bot = "@bot:hs";
const content = { owner: "@eve:hs", kind: "chat", agent_id: "a", platform_chat_id: "victim", index: 1, archived: false };
const lookup = (events: Record<string, StateEventLike>) => (type: string) => events[type];

describe("trustedBinding (the one decoder of org.surfaces.room)", () => {
  it.each([
    ["no binding", {}, "no binding"],
    ["a room a user created, binding sent by the user", { "m.room.create": { sender: "@eve:hs", content: {} }, "org.surfaces.room": { sender: "@eve:hs", content } }, "room not created by the bot"],
    ["a room a user created, even with the bot's binding", { "m.room.create": { sender: "@eve:hs", content: {} }, "org.surfaces.room": { sender: bot, content } }, "room not created by the bot"],
    ["an old room version naming another creator", { "m.room.create": { sender: bot, content: { creator: "@eve:hs" } }, "org.surfaces.room": { sender: bot, content } }, "room not created by the bot"],
    ["the bot's room, binding sent by a member", { "m.room.create": { sender: bot, content: {} }, "org.surfaces.room": { sender: "@eve:hs", content } }, "binding not sent by the bot"],
    ["the bot's room, malformed binding", { "m.room.create": { sender: bot, content: {} }, "org.surfaces.room": { sender: bot, content: { kind: "nope" } } }, "malformed binding"],
  ] as const)("refuses %s", (_name, events, reason) => {
    expect(trustedBinding(lookup(events as Record<string, StateEventLike>), bot)).toEqual({ ok: false, reason });
  });

  it("accepts the bot's binding in a room the bot created", () => {
    const verdict = trustedBinding(lookup({ "m.room.create": { sender: bot, content: { creator: bot } }, "org.surfaces.room": { sender: bot, content } }), bot);
    expect(verdict).toEqual({ ok: true, binding: { owner: "@eve:hs", kind: "chat", agentId: "a", chatId: "victim", index: 1, archived: false } });
  });
});

describe("intentional mentions", () => {
  it("adds an empty m.mentions to messages and to an edit's new content, and keeps one the caller set", () => {
    expect(withIntentionalMentions({ body: "@room" })).toEqual({ body: "@room", "m.mentions": {} });
    const edit = withIntentionalMentions({ body: "* x", "m.new_content": { body: "x" } });
    expect(edit).toEqual({ body: "* x", "m.mentions": {}, "m.new_content": { body: "x", "m.mentions": {} } });
    const owner = { body: "hi", "m.mentions": { user_ids: ["@o:hs"] } };
    expect(withIntentionalMentions(owner)).toBe(owner);
  });

  it("leaves it out only where no legacy mention rule could match: the room's other member's names and any @ are nowhere in the text", () => {
    const names = ["alice liddell", "alice"];
    const plain = { msgtype: "m.text", body: "echo: the weather is fine" };
    expect(withIntentionalMentions(plain, names)).toBe(plain);
    for (const body of ["Hello Alice!", "ALICE LIDDELL wrote", "@room look", "mail me at x@y.z"]) {
      expect(withIntentionalMentions({ body }, names)).toEqual({ body, "m.mentions": {} });
    }
    expect(withIntentionalMentions({ body: "fine", formatted_body: "<a href='https://matrix.to/#/@alice:hs'>x</a>" }, names)["m.mentions"]).toEqual({});
    // An edit: the new content counts as much as the fallback text.
    const edit = withIntentionalMentions({ body: "* fine", "m.new_content": { body: "fine, alice" } }, names);
    expect(edit).toEqual({ body: "* fine", "m.mentions": {}, "m.new_content": { body: "fine, alice", "m.mentions": {} } });
    // Synapse matches names as globs and folds case beyond ASCII: such names or texts always declare.
    expect(withIntentionalMentions({ body: "hi bob" }, ["b?b"])["m.mentions"]).toEqual({});
    expect(withIntentionalMentions({ body: "hi ſam" }, ["sam"])["m.mentions"]).toEqual({});
    expect(withIntentionalMentions({ body: "hi there" }, ["σοφια"])["m.mentions"]).toEqual({});
    // An empty name matches everything; unknown names (null: more members, not loaded, encrypted) always declare.
    expect(withIntentionalMentions(plain, [""])["m.mentions"]).toEqual({});
    expect(withIntentionalMentions(plain, null)["m.mentions"]).toEqual({});
  });
});

describe("failure code labels", () => {
  it("keeps the known codes and folds every other agent code into other", () => {
    expect(failureLabel("idle_timeout")).toBe("idle_timeout");
    expect(failureLabel("agent_error")).toBe("agent_error");
    expect(failureLabel("cancel_ignored")).toBe("cancel_ignored");
    expect(failureLabel("limit_answer_bytes")).toBe("limit_answer_bytes");
    expect(failureLabel("x".repeat(200))).toBe("other");
    expect(failureLabel("scripted_error")).toBe("other");
  });
});
