/**
 * What an Element user sees (issue 16) through the real dispatcher with
 * recording ports: ⏳ on a message that waits and read receipts for messages
 * the agent has, and approvals that remember (`!always` / ♾️).
 */
import { afterEach, describe, expect, it } from "vitest";
import { WAITING_MARK } from "../../src/core/dispatcher.js";
import { strings } from "../../src/core/strings.js";
import { Core, HELPER, plays, type Onboarded } from "./harness.js";

let core: Core;
async function start(): Promise<Onboarded> {
  core = new Core();
  return core.onboard();
}
afterEach(() => core.close());

describe("a message sent while a turn runs", () => {
  it("gets ⏳ until its turn starts; each message is marked read once the agent has it", async () => {
    const alice = await start();
    core.agent.next.push(plays({ type: "text", delta: "working" }));
    const first = await core.say(alice.chatRoomId, "long job");
    expect(core.chat.reads).toEqual([{ roomId: alice.chatRoomId, eventId: first }]);
    const waiting = await core.say(alice.chatRoomId, "and then this");
    expect(core.chat.reactions).toMatchObject([{ roomId: alice.chatRoomId, eventId: waiting, emoji: WAITING_MARK }]);
    expect(core.agent.turns).toHaveLength(1);
    await core.say(alice.chatRoomId, "!help"); // a command is answered at once, with no ⏳ and no receipt
    expect(core.chat.reactions).toHaveLength(1);

    core.agent.sink({ type: "end" });
    await core.idle();
    expect(core.agent.turns.map((t) => t.request.text)).toEqual(["long job", "and then this"]);
    expect(core.chat.redactions).toEqual([{ roomId: alice.chatRoomId, eventId: core.chat.reactions[0]!.reactionId, key: `unwait.${waiting}` }]);
    expect(core.chat.reads.map((r) => r.eventId)).toEqual([first, waiting]);
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
  });
});
