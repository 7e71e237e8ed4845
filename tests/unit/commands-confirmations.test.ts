import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AgentPort } from "../../src/core/agent-port.js";
import type { ChatPort } from "../../src/core/chat-port.js";
import { cleanName, escapeMarkdown } from "../../src/core/commands/sanitize.js";
import { Confirmations, isAlwaysReaction, isStopReaction, reactionAnswer } from "../../src/core/confirmations.js";
import { asAgentId, asChatId, asEventId, asRoomId, asTurnId, asUserId } from "../../src/core/ids.js";
import { formatDuration, strings } from "../../src/core/strings.js";
import type { ActiveTurn } from "../../src/core/turn-runner.js";
import { openStore, type Store } from "../../src/store/index.js";

describe("cleanName", () => {
  it("strips controls, bidi overrides and zero-width characters and folds whitespace", () => {
    expect(cleanName("  \u202eabc\u202c\u200b d\u0000e\n\tf\u2066 ", 64)).toBe("abc de f");
    expect(cleanName("\ufeff\u00adx\u061cy\u2060", 64)).toBe("xy");
  });
  it("bounds the length in code points without splitting a surrogate pair", () => {
    expect(cleanName("😀".repeat(10), 3)).toBe("😀😀😀");
    expect(cleanName("ab cd", 3)).toBe("ab");
  });
  it("leaves nothing for names made only of invisible characters", () => {
    expect(cleanName("\u200b\u202e \u2066", 64)).toBe("");
  });
  it("escapes Markdown that could inject links or formatting", () => {
    expect(escapeMarkdown("[x](http://evil)*b*")).toBe("\\[x\\](http://evil)\\*b\\*");
  });
});

describe("reaction keys", () => {
  it("accept ✅ / ❌ / ⏹ with or without a variation selector", () => {
    expect(reactionAnswer("✅")).toBe(true);
    expect(reactionAnswer("✅\ufe0f")).toBe(true);
    expect(reactionAnswer("❌")).toBe(false);
    expect(reactionAnswer("👍")).toBeNull();
    expect(isStopReaction("⏹\ufe0f")).toBe(true);
    expect(isStopReaction("⏹")).toBe(true);
    expect(isStopReaction("✅")).toBe(false);
    expect(isAlwaysReaction("♾️")).toBe(true);
    expect(isAlwaysReaction("♾")).toBe(true);
    expect(isAlwaysReaction("✅")).toBe(false);
    expect(reactionAnswer("♾️")).toBeNull();
  });
});

describe("formatDuration", () => {
  it("reads naturally", () => {
    expect(formatDuration(300_000)).toBe("5 minutes");
    expect(formatDuration(60_000)).toBe("1 minute");
    expect(formatDuration(4000)).toBe("4 s");
    expect(formatDuration(200)).toBe("200 ms");
  });
});

describe("Confirmations", () => {
  const room = asRoomId("!r:hs");
  const agent = asAgentId("a");
  let store: Store;
  let sent: Array<{ text: string; key: string }>;
  let answers: Array<[string, string, string, boolean]>;
  /** confirm ids answered with `always`. */
  let always: string[];
  let confirmations: Confirmations;
  let clock = 1_000_000;

  beforeEach(() => {
    vi.useFakeTimers();
    store = openStore(":memory:");
    store.rooms.upsert({ roomId: room, owner: asUserId("@u:hs"), kind: "chat", agentId: agent, chatId: asChatId("1"), name: "Chat 1", index: 1, archived: false });
    sent = [];
    answers = [];
    always = [];
    let n = 0;
    const send = async (_r: unknown, text: string, key: string) => {
      sent.push({ text, key });
      return asEventId(`$e${++n}`);
    };
    const chat = { sendNotice: send, sendText: send } as unknown as ChatPort;
    const agents = {
      confirmResult: (a: string, t: string, c: string, ok: boolean, yes?: boolean) => {
        answers.push([a, t, c, ok]);
        if (yes) always.push(c);
      },
      chatClosed: () => undefined,
    } as unknown as AgentPort;
    confirmations = new Confirmations({
      chat,
      agents,
      store: store,
      logger: pino({ level: "silent" }),
      newChatId: () => asChatId("2"),
      timeoutMs: 5000,
      now: () => clock,
    });
  });
  afterEach(() => {
    confirmations.stop();
    store.close();
    vi.useRealTimers();
  });

  const turn = (id: string): ActiveTurn => ({ turnId: asTurnId(id), agentId: agent, roomId: room, reply: {} as never, stopRequested: false });

  it("after a restart drops the agent's question (its turn is gone) and re-arms a !clear question", async () => {
    const other = asRoomId("!other:hs");
    store.rooms.upsert({ roomId: other, owner: asUserId("@u:hs"), kind: "chat", agentId: agent, chatId: asChatId("3"), name: "Chat 2", index: 2, archived: false });
    store.pending.set({ roomId: room, kind: "confirm", turnId: asTurnId("old"), confirmId: "c", agentId: agent, promptEventId: asEventId("$p1"), expiresAt: clock + 60_000 });
    store.pending.set({ roomId: other, kind: "clear", turnId: null, confirmId: null, agentId: null, promptEventId: asEventId("$p2"), expiresAt: clock + 2000 });
    confirmations.resume();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((m) => m.text)).toEqual([strings.questionDroppedByRestart]);
    await confirmations.answer(room, true, "late");
    expect(answers).toEqual([]); // the late !yes reaches no agent
    expect(sent.at(-1)?.text).toBe(strings.nothingPending);
    await vi.advanceTimersByTimeAsync(2000);
    expect(sent.at(-1)?.text).toBe(strings.questionExpired("clear"));
    expect(store.pending.get(other)).toBeUndefined();
  });

  it("forwards !yes to the agent once and then has nothing pending", async () => {
    await confirmations.askAgent(turn("t1"), "c1", "Go?");
    expect(sent[0]?.text).toContain("asks: Go?");
    await confirmations.answer(room, true, "k1");
    expect(answers).toEqual([["a", "t1", "c1", true]]);
    await confirmations.answer(room, true, "k2");
    expect(sent.at(-1)?.text).toBe(strings.nothingPending);
    expect(answers).toHaveLength(1);
  });

  it("times out as a refusal with a notice", async () => {
    await confirmations.askAgent(turn("t1"), "c1", "Go?");
    clock += 5000;
    await vi.advanceTimersByTimeAsync(5000);
    expect(answers).toEqual([["a", "t1", "c1", false]]);
    expect(sent.at(-1)?.text).toBe(strings.questionExpired("confirm"));
    expect(store.pending.get(room)).toBeUndefined();
  });

  it("matches reactions by the prompt event and ignores other emoji", async () => {
    await confirmations.askAgent(turn("t1"), "c1", "Go?");
    expect(await confirmations.react(room, asEventId("$other"), "❌", "r0")).toBe(false);
    expect(await confirmations.react(room, asEventId("$e1"), "👍", "r1")).toBe(false);
    expect(await confirmations.react(room, asEventId("$e1"), "❌\ufe0f", "r2")).toBe(true);
    expect(answers).toEqual([["a", "t1", "c1", false]]);
  });

  it("never replaces an open question: a second !clear is refused, a second agent question is answered no, and both are said", async () => {
    await confirmations.askAgent(turn("t1"), "c1", "Go?");
    await confirmations.askRoomChange("clear", room, "k");
    expect(answers).toEqual([]);
    expect(store.pending.get(room)?.kind).toBe("confirm");
    expect(sent.at(-1)?.text).toBe(strings.questionAlreadyOpen(strings.questionSubject("confirm", "Go?")));
    await confirmations.askAgent(turn("t1"), "c2", "Also this?");
    expect(answers).toEqual([["a", "t1", "c2", false]]);
    expect(sent.at(-1)?.text).toContain("I answered no for you");
    await confirmations.answer(room, true, "k3");
    expect(answers.at(-1)).toEqual(["a", "t1", "c1", true]);
    expect(sent.at(-1)?.text).toBe("✅ Approved: Go?");
  });

  it("an agent question while a !clear waits is answered no; !yes then approves the !clear", async () => {
    await confirmations.askRoomChange("clear", room, "k");
    await confirmations.askAgent(turn("t2"), "c9", "Delete everything?");
    expect(answers).toEqual([["a", "t2", "c9", false]]);
    expect(sent.at(-1)?.text).toContain("`!clear`");
    expect(store.pending.get(room)?.kind).toBe("clear");
    confirmations.turnEnded(turn("t2"));
    expect(store.pending.get(room)?.kind).toBe("clear");
  });

  it("drops an agent question whose turn ended", async () => {
    await confirmations.askAgent(turn("t2"), "c2", "Again?");
    confirmations.turnEnded(turn("t2"));
    expect(store.pending.get(room)).toBeUndefined();
  });

  it("!no to a !clear changes nothing", async () => {
    await confirmations.askRoomChange("clear", room, "k");
    await confirmations.answer(room, false, "k2");
    expect(sent.at(-1)?.text).toBe(strings.cancelled);
    expect(store.rooms.get(room)?.chatId).toBe("1");
  });

  it("♾️ approves with always and remembers the exact prompt for this conversation and agent; it is then approved without asking", async () => {
    await confirmations.askAgent(turn("t1"), "c1", "Run the tests?");
    expect(sent[0]?.text).toContain("`!always` or ♾️");
    expect(await confirmations.react(room, asEventId("$e1"), "♾️", "r1")).toBe(true);
    expect(answers).toEqual([["a", "t1", "c1", true]]);
    expect(always).toEqual(["c1"]);
    expect(sent.at(-1)?.text).toBe(strings.confirmAlways("Run the tests?"));
    expect(store.alwaysAllowed.list(asChatId("1"), agent)).toEqual(["Run the tests?"]);

    const asked = sent.length;
    await confirmations.askAgent(turn("t2"), "c2", "Run the tests?");
    expect(answers.at(-1)).toEqual(["a", "t2", "c2", true]);
    expect(always).toEqual(["c1", "c2"]);
    expect(sent.slice(asked).map((m) => m.text)).toEqual([strings.confirmAutoApproved("Run the tests?")]);
    expect(store.pending.get(room)).toBeUndefined(); // nothing asked

    // Another wording, another agent or another conversation is asked as usual.
    await confirmations.askAgent(turn("t3"), "c3", "Run the tests now?");
    expect(store.pending.get(room)?.confirmId).toBe("c3");
    await confirmations.answer(room, false, "k");
    expect(store.alwaysAllowed.has(asChatId("1"), asAgentId("b"), "Run the tests?")).toBe(false);
    expect(store.alwaysAllowed.has(asChatId("2"), agent, "Run the tests?")).toBe(false);
  });

  it("!always answers only an agent's question: on a !clear it is refused and the question stays; ♾️ on it is ignored", async () => {
    await confirmations.askRoomChange("clear", room, "k");
    await confirmations.answer(room, true, "k2", true);
    expect(sent.at(-1)?.text).toBe(strings.alwaysOnlyForAgent);
    expect(store.pending.get(room)?.kind).toBe("clear");
    expect(await confirmations.react(room, asEventId("$e1"), "♾️", "r")).toBe(false);
    expect(store.pending.get(room)?.kind).toBe("clear");
    await confirmations.answer(room, true, "k3", true);
    expect(store.pending.get(room)?.kind).toBe("clear");
  });

  it("!always with nothing open says so", async () => {
    await confirmations.answer(room, true, "k", true);
    expect(sent.at(-1)?.text).toBe(strings.nothingPending);
  });
});
