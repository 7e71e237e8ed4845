/**
 * What an Element user sees, checked in the events a client receives: the
 * tool trail under a final answer, ⏳ on a message that waits and the bot's
 * read receipts (implied by its answer, explicit in a long turn), `!settings` naming the Space, approvals that remember
 * (`!always` / ♾️), and a first event that carries a whole first sentence
 * (the one the push notification shows).
 */
import { RoomEvent, type MatrixEvent } from "matrix-js-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROSE_PIECES, toolOutcome } from "../../src/reference-agent/directives.js";
import { spaceNameFor } from "../../src/core/onboarding.js";
import { escapeMarkdown } from "../../src/core/commands/sanitize.js";
import { asUserId } from "../../src/core/ids.js";
import { allEvents, eventually, startChat, type ChatFixture } from "../support/bot.js";
import { shownMessages, type RawEvent, type ShownMessage } from "../support/room-messages.js";
import { useSynapse } from "../support/synapse-env.js";

const TRAIL_MAX_TOOLS = 3;

describe("what an Element user sees", () => {
  const synapse = useSynapse();
  let chat: ChatFixture;
  /** m.read receipts the user's client received from the bot: event ids, in order. */
  const botReceipts: string[] = [];

  const room = (): string => chat.rooms.chatRoomId;
  /** The user's own client (matrix-js-sdk, as in Element): its view of the room. */
  const userRoom = () => chat.client.client.getRoom(room());
  /** Whether Element shows `eventId` read by the bot: explicit receipts and the bot's own later events both count. */
  const readByBot = (eventId: string): boolean => userRoom()?.hasUserReadEvent(chat.fx.bot.userId, eventId) ?? false;
  const events = (): Promise<RawEvent[]> => allEvents(synapse.baseUrl, chat.user.accessToken, room());
  /** Sends `text`; waits for a bot message after it that matches. */
  const ask = async (text: string, match: (m: ShownMessage) => boolean, timeoutMs = 30_000): Promise<{ sent: string; answer: ShownMessage }> => {
    const sent = await chat.client.sendText(room(), text);
    const answer = await botAfter(sent, `the answer to ${text}`, match, timeoutMs);
    return { sent, answer };
  };
  const botAfter = (eventId: string, what: string, match: (m: ShownMessage) => boolean, timeoutMs = 30_000): Promise<ShownMessage> =>
    eventually(what, async () => {
      const all = await events();
      const after = all.slice(all.findIndex((e) => e.event_id === eventId) + 1);
      return shownMessages(after).find((m) => m.sender === chat.fx.bot.userId && match(m));
    }, timeoutMs);
  /** The content a client shows for `msg`: the newest edit's m.new_content, else the original. */
  const finalContent = async (msg: ShownMessage): Promise<Record<string, unknown>> => {
    const edits = (await events()).filter((e) => (e.content["m.relates_to"] as { event_id?: string } | undefined)?.event_id === msg.eventId && e.type === "m.room.message");
    const last = edits[edits.length - 1];
    return (last ? last.content["m.new_content"] : msg.event.content) as Record<string, unknown>;
  };
  const react = (eventId: string, key: string): Promise<unknown> =>
    chat.client.client.sendEvent(room(), "m.reaction" as never, { "m.relates_to": { rel_type: "m.annotation", event_id: eventId, key } } as never);

  beforeAll(async () => {
    chat = await startChat({
      agents: [{ id: "helper" }],
      env: { SURFACES_TRAIL_MAX_TOOLS: String(TRAIL_MAX_TOOLS), SURFACES_EDIT_INTERVAL_MS: "200" },
    });
    chat.client.client.on(RoomEvent.Receipt, (event: MatrixEvent) => {
      const content = event.getContent<Record<string, Record<string, Record<string, unknown>>>>();
      for (const [eventId, byType] of Object.entries(content)) {
        if (byType["m.read"]?.[chat.fx.bot.userId]) botReceipts.push(eventId);
      }
    });
  });
  afterAll(() => chat?.stop());

  describe("the trail", () => {
    it("keeps the tools the agent ran, collapsed under the final answer, in HTML and in the plain body", async () => {
      const { answer } = await ask("/tool", (m) => m.body?.startsWith("tool done\n\n🔧") ?? false);
      expect(answer.body).toBe("tool done\n\n🔧 1 tool call:\n✅ search — 3 results");
      const content = await finalContent(answer);
      expect(content["format"]).toBe("org.matrix.custom.html");
      expect(content["formatted_body"]).toBe(
        "<p>tool done</p><details><summary>🔧 1 tool call</summary><ul><li>✅ <code>search</code> — 3 results</li></ul></details>",
      );
    });

    it("is bounded: the newest calls are listed, the older ones counted; failures show ❌", async () => {
      const { answer } = await ask("/tools 5", (m) => m.body?.startsWith("tools done\n\n🔧") ?? false);
      const lines = [3, 4, 5].map((i) => {
        const t = toolOutcome(i);
        return `${t.ok ? "✅" : "❌"} ${t.name} — ${t.summary}`;
      });
      expect(answer.body).toBe(["tools done", "", "🔧 5 tool calls:", "(2 earlier not shown)", ...lines].join("\n"));
      const html = String((await finalContent(answer))["formatted_body"]);
      expect(html).toContain("<details><summary>🔧 5 tool calls</summary><p>(2 earlier not shown)</p><ul>");
      expect(html).toContain("<li>❌ <code>tool_4</code> — error 4</li>");
      expect(html).not.toContain("tool_2");
    });

    it("is absent from answers without tools", async () => {
      const { answer } = await ask("no tools here", (m) => m.body === "echo: no tools here");
      expect(JSON.stringify(await finalContent(answer))).not.toContain("details");
    });
  });

  describe("a message sent while a turn runs", () => {
    it("gets ⏳ until its turn starts, and each message shows read by the bot once answered", async () => {
      const first = await chat.client.sendText(room(), "/slow 8 250");
      const queued = await chat.client.sendText(room(), "queued behind");
      const mark = await eventually("the ⏳ reaction", async () =>
        (await events()).find((e) => {
          const rel = e.content["m.relates_to"] as { rel_type?: string; event_id?: string; key?: string } | undefined;
          return e.type === "m.reaction" && e.sender === chat.fx.bot.userId && rel?.event_id === queued && rel.key === "⏳" && rel.rel_type === "m.annotation";
        }),
      );
      expect((await events()).find((e) => e.type === "m.reaction" && e.content["m.relates_to"] && (e.content["m.relates_to"] as { event_id: string }).event_id === first)).toBeUndefined();
      await botAfter(queued, "the queued message's answer", (m) => m.body === "echo: queued behind");
      // The reaction is redacted: its content is gone and the redaction names it.
      await eventually("the ⏳ redacted", async () => {
        const all = await events();
        const redacted = all.find((e) => e.event_id === mark.event_id);
        const redaction = all.find((e) => e.type === "m.room.redaction" && e.sender === chat.fx.bot.userId && (e.content["redacts"] === mark.event_id || (e as { redacts?: string }).redacts === mark.event_id));
        return redaction && redacted && redacted.content["m.relates_to"] === undefined ? true : undefined;
      });
      // Element shows both messages read by the bot: the answers that follow them say so.
      await eventually("Element's view: both messages read by the bot", async () => (readByBot(first) && readByBot(queued) ? true : undefined));
    });
  });

  describe("read receipts", () => {
    it("a quick answer marks its message read in Element without an explicit receipt being needed", async () => {
      const { sent } = await ask("read me", (m) => m.body === "echo: read me");
      await eventually("Element's view: the message read by the bot", async () => (readByBot(sent) ? true : undefined));
    });

    it("a long turn with nothing to show yet gets an explicit receipt after a moment", async () => {
      const hang = await chat.client.sendText(room(), "/hang");
      await eventually("the bot's receipt for the hanging turn's message", async () => (botReceipts.includes(hang) ? true : undefined));
      expect(userRoom()?.getReadReceiptForUserId(chat.fx.bot.userId, true)?.eventId).toBe(hang);
      expect(readByBot(hang)).toBe(true);
      await chat.client.sendText(room(), "!stop");
      await ask("after the hang", (m) => m.body === "echo: after the hang");
    });
  });

  describe("the bot's own account", () => {
    it("is muted (master push rule): the homeserver keeps no notifications for the bot of the user's messages", async () => {
      const { sent } = await ask("no notification for the bot", (m) => m.body === "echo: no notification for the bot");
      const get = async (path: string): Promise<Record<string, unknown>> => {
        const res = await fetch(`${synapse.baseUrl}/_matrix/client/v3${path}`, { headers: { authorization: `Bearer ${chat.fx.bot.accessToken}` } });
        expect(res.status).toBe(200);
        return (await res.json()) as Record<string, unknown>;
      };
      expect(await get("/pushrules/global/override/.m.rule.master/enabled")).toEqual({ enabled: true });
      const notified = ((await get("/notifications")).notifications as Array<{ event: { event_id: string } }>).map((n) => n.event.event_id);
      expect(notified).not.toContain(sent);
    });
  });

  describe("!settings", () => {
    it("links the Space by its name", async () => {
      const { answer } = await ask("!settings", (m) => m.body?.startsWith("**Settings**") ?? false);
      const space = chat.rooms.spaceId;
      const name = spaceNameFor(asUserId(chat.user.userId));
      expect(answer.body).toContain(`- Space: [${escapeMarkdown(name)}](https://matrix.to/#/${encodeURIComponent(space)})`);
      expect(String(answer.event.content["formatted_body"])).toContain(`>${name}</a>`);
      expect(answer.body).not.toContain(`[${space}]`);
    });
  });

  describe("approvals that remember", () => {
    const agent = () => chat.fx.agents.get("helper")!;

    it("♾️ on the question approves it and the same request in this chat from then on; the agent learns always", async () => {
      const { sent, answer: prompt } = await ask("/confirm Run the tests?", (m) => m.body?.includes("asks: Run the tests?") ?? false);
      expect(prompt.body).toContain("`!always` or ♾️");
      await react(prompt.eventId, "♾️");
      await botAfter(sent, "the acknowledgement", (m) => m.body?.startsWith("♾️ Approved, and from now on in this chat: Run the tests?") ?? false);
      await botAfter(sent, "the agent's answer", (m) => m.body === "approved");
      expect(agent().stats.confirmResults.at(-1)).toMatchObject({ approved: true, always: true });

      // The same request again: no question, a notice, and the agent goes on.
      const asked = agent().stats.confirmResults.length;
      const again = await chat.client.sendText(room(), "/confirm Run the tests?");
      await botAfter(again, "the automatic approval", (m) => m.body === "♾️ Approved automatically (always allowed in this chat): Run the tests?");
      const done = await botAfter(again, "the agent's answer", (m) => m.body === "approved");
      expect(done.msgtype).toBe("m.text");
      const all = await events();
      const afterAgain = shownMessages(all.slice(all.findIndex((e) => e.event_id === again) + 1));
      expect(afterAgain.some((m) => m.body?.includes("asks:"))).toBe(false);
      expect(agent().stats.confirmResults.slice(asked)).toEqual([expect.objectContaining({ approved: true, always: true })]);
    });

    it("!always does the same, !context lists what is allowed, and !clear forgets it", async () => {
      const { sent } = await ask("/confirm Deploy to staging?", (m) => m.body?.includes("asks: Deploy to staging?") ?? false);
      await chat.client.sendText(room(), "!always");
      await botAfter(sent, "the agent's answer", (m) => m.body === "approved");

      const { answer: context } = await ask("!context", (m) => m.body?.startsWith("This room talks to") ?? false);
      expect(context.body).toContain("Always allowed in this chat (`!clear` forgets):\n- Run the tests?\n- Deploy to staging?");

      const { answer: question } = await ask("!clear", (m) => m.body?.startsWith("Start this room's conversation afresh?") ?? false);
      void question;
      await ask("!yes", (m) => m.body?.startsWith("Done — this room starts a fresh conversation") ?? false);
      const { answer: after } = await ask("!context", (m) => m.body?.startsWith("This room talks to") ?? false);
      expect(after.body).toContain("Nothing is always allowed here");

      // Asked again in the new conversation.
      const { sent: again } = await ask("/confirm Run the tests?", (m) => m.body?.includes("asks: Run the tests?") ?? false);
      await chat.client.sendText(room(), "!no");
      await botAfter(again, "the refusal reaches the agent", (m) => m.body === "refused");
      expect(agent().stats.confirmResults.at(-1)).toEqual(expect.objectContaining({ approved: false }));
      expect(agent().stats.confirmResults.at(-1)?.always).toBeUndefined();
    });
  });

  describe("the notification", () => {
    it("comes from a first event that holds the first sentence, not the first chunk", async () => {
      const full = PROSE_PIECES.join("");
      const { answer } = await ask("/prose 300", (m) => m.body === full);
      // The first event (what Element's notification shows) is the whole first sentence.
      expect(answer.originalBody?.trim()).toBe(`${PROSE_PIECES[0]}${PROSE_PIECES[1]}`.trim());
      expect(answer.editCount).toBeGreaterThan(0);
    });
  });

  describe("with the trail turned off", () => {
    it("a tool answer carries no trail", async () => {
      await chat.fx.restart({ SURFACES_TRAIL_MAX_TOOLS: "0" });
      const { answer } = await ask("/tool", (m) => m.body === "tool done");
      expect(JSON.stringify(await finalContent(answer))).not.toContain("tool call");
    });
  });
});
