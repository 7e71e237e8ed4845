/**
 * What an Element user sees (issue 16) through the real dispatcher with
 * recording ports: ⏳ on a message that waits and read receipts for messages
 * the agent has when no answer marks them read, and approvals that remember (`!always` / ♾️).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { WAITING_MARK } from "../../src/core/dispatcher.js";
import { strings } from "../../src/core/strings.js";
import { READ_RECEIPT_DELAY_MS } from "../../src/core/turn-runner.js";
import { Core, HELPER, plays, type Onboarded } from "./harness.js";

let core: Core;
async function start(): Promise<Onboarded> {
  core = new Core();
  return core.onboard();
}
afterEach(() => core.close());

describe("a message sent while a turn runs", () => {
  it("gets ⏳ until its turn starts; a long turn with nothing to show yet marks its message read", async () => {
    const alice = await start();
    core.agent.next.push(plays());
    const first = await core.say(alice.chatRoomId, "long job");
    // Nothing of the answer after READ_RECEIPT_DELAY_MS: an explicit receipt shows the agent has it.
    await vi.waitFor(() => expect(core.chat.reads).toEqual([{ roomId: alice.chatRoomId, eventId: first }]));
    const waiting = await core.say(alice.chatRoomId, "and then this");
    expect(core.chat.reactions).toMatchObject([{ roomId: alice.chatRoomId, eventId: waiting, emoji: WAITING_MARK }]);
    expect(core.agent.turns).toHaveLength(1);
    await core.say(alice.chatRoomId, "!help"); // a command is answered at once, with no ⏳ and no receipt
    expect(core.chat.reactions).toHaveLength(1);

    core.agent.sink({ type: "end" });
    await core.idle();
    expect(core.agent.turns.map((t) => t.request.text)).toEqual(["long job", "and then this"]);
    expect(core.chat.redactions).toEqual([{ roomId: alice.chatRoomId, eventId: core.chat.reactions[0]!.reactionId, key: `unwait.${waiting}` }]);
    // The long turn ended with no answer event: its receipt stays the only one;
    // the queued message's answer follows it in the room, which clients take as read.
    expect(core.chat.replies.at(-1)).toMatchObject({ text: "echo: and then this", finished: 1 });
    expect(core.chat.reads.map((r) => r.eventId)).toEqual([first]);
  });
});

describe("a turn's answer marks its message read", () => {
  it("a quick answer needs no receipt: clients take the bot's answer as read up to it", async () => {
    const alice = await start();
    await core.say(alice.chatRoomId, "quick");
    await core.idle();
    expect(core.chat.replies.at(-1)).toMatchObject({ text: "echo: quick", finished: 1 });
    expect(core.chat.reads).toEqual([]);
  });

  it("a long turn whose answer has begun sends no receipt either", async () => {
    const alice = await start();
    core.agent.next.push(plays({ type: "text", delta: "working" }));
    await core.say(alice.chatRoomId, "long job");
    await new Promise((r) => setTimeout(r, READ_RECEIPT_DELAY_MS * 2));
    core.agent.sink({ type: "end" });
    await core.idle();
    expect(core.chat.replies.at(-1)).toMatchObject({ text: "working", finished: 1 });
    expect(core.chat.reads).toEqual([]);
  });

  it("a turn that ends at once without an answer is marked read after it", async () => {
    const alice = await start();
    core.agent.next.push(plays({ type: "end" }));
    const id = await core.say(alice.chatRoomId, "say nothing");
    await core.idle();
    expect(core.chat.replies.at(-1)).toMatchObject({ text: "", finished: 1, eventId: null });
    expect(core.chat.reads).toEqual([{ roomId: alice.chatRoomId, eventId: id }]);
    expect(core.chat.readAfterFinish).toBe(true);
  });
});

describe("approvals that remember", () => {
  const asks = (confirmId: string, prompt: string) => plays({ type: "confirm", confirmId, prompt });

  it("!always approves; the same prompt is then approved by the bot; !context lists it; !clear forgets it", async () => {
    const alice = await start();
    core.agent.next.push(asks("c1", "Run the tests?"));
    const turn = core.say(alice.chatRoomId, "test it");
    await core.settle();
    await core.say(alice.chatRoomId, "!always");
    expect(core.agent.confirmResults.at(-1)).toMatchObject({ confirmId: "c1", approved: true, always: true });
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.confirmAlways("Run the tests?"));
    core.agent.sink({ type: "end" });
    await turn;
    await core.idle();

    // Asked again: approved at once, no question.
    core.agent.next.push(asks("c2", "Run the tests?"));
    const again = core.say(alice.chatRoomId, "test it again");
    await core.settle();
    expect(core.agent.confirmResults.at(-1)).toMatchObject({ confirmId: "c2", approved: true, always: true });
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.confirmAutoApproved("Run the tests?"));
    expect(core.store.pending.get(alice.chatRoomId)).toBeUndefined();
    core.agent.sink({ type: "end" });
    await again;

    await core.say(alice.chatRoomId, "!context");
    expect(core.chat.last(alice.chatRoomId)).toContain([strings.alwaysHeader(1), strings.alwaysLine("Run the tests?")].join("\n"));

    await core.say(alice.chatRoomId, "!clear");
    await core.say(alice.chatRoomId, "!yes");
    await core.say(alice.chatRoomId, "!context");
    expect(core.chat.last(alice.chatRoomId)).toContain(strings.alwaysHeader(0));
    core.agent.next.push(asks("c3", "Run the tests?"));
    const fresh = core.say(alice.chatRoomId, "test in the new conversation");
    await core.settle();
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.agentAsks(HELPER, "Run the tests?", 60_000));
    await core.say(alice.chatRoomId, "!no");
    expect(core.agent.confirmResults.at(-1)).toEqual(expect.objectContaining({ confirmId: "c3", approved: false }));
    expect(core.agent.confirmResults.at(-1)?.always).toBeUndefined();
    core.agent.sink({ type: "end" });
    await fresh;
  });

  it("a ♾️ reaction on the question does the same; on a !clear question it means nothing", async () => {
    const alice = await start();
    await core.say(alice.chatRoomId, "!clear");
    const clearPrompt = core.store.pending.get(alice.chatRoomId)?.promptEventId;
    await core.react(alice.chatRoomId, clearPrompt!, "♾️");
    expect(core.store.pending.get(alice.chatRoomId)?.kind).toBe("clear");
    await core.say(alice.chatRoomId, "!always");
    expect(core.chat.last(alice.chatRoomId)).toBe(strings.alwaysOnlyForAgent);
    await core.say(alice.chatRoomId, "!no");

    core.agent.next.push(asks("c1", "Deploy?"));
    const turn = core.say(alice.chatRoomId, "ship it");
    await core.settle();
    const prompt = core.store.pending.get(alice.chatRoomId)?.promptEventId;
    await core.react(alice.chatRoomId, prompt!, "♾\ufe0f");
    expect(core.agent.confirmResults.at(-1)).toMatchObject({ confirmId: "c1", approved: true, always: true });
    expect(core.store.alwaysAllowed.list(core.store.rooms.get(alice.chatRoomId)!.chatId!, HELPER)).toEqual(["Deploy?"]);
    core.agent.sink({ type: "end" });
    await turn;
    await core.idle();
  });
});
