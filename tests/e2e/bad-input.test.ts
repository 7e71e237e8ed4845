/**
 * Bad input from users, end to end: oversized messages, HTML and script in
 * text and in `!rename`, invisible and right-to-left characters in names,
 * commands with odd spacing, and people in the room who are not its owner.
 * Nothing executable reaches a formatted_body, nothing crashes, and only the
 * owner drives the room.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RegisteredUser } from "../../src/dev/synapse.js";
import { sendTextAsUser, sendTextRaw, type RawEvent, type ShownMessage } from "../support/room-messages.js";
import { useSynapse } from "../support/synapse-env.js";
import { startUserClient, type UserClient } from "../support/user-client.js";
import { allEvents, botMessages, eventually, onboard, roomState, startBot, type BotFixture, type Onboarded, sayAndWait } from "../support/bot.js";

const SAFE_TAGS = new Set(["p", "strong", "em", "b", "i", "u", "s", "del", "code", "pre", "a", "ul", "ol", "li", "br", "hr", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "span", "sup", "sub"]);

/** The real tags of an HTML string (escaped text like `&lt;script&gt;` is not a tag) that could run script. */
function executableMarkup(html: string): string[] {
  const bad: string[] = [];
  for (const m of html.matchAll(/<\/?\s*([a-zA-Z][a-zA-Z0-9]*)([^>]*)>/gu)) {
    const [tag, name = "", attrs = ""] = m;
    if (!SAFE_TAGS.has(name.toLowerCase()) || /\bon[a-z]+\s*=/iu.test(attrs) || /javascript:|data:|vbscript:/iu.test(attrs)) bad.push(tag);
  }
  return bad;
}

describe("bad input from users", () => {
  const synapse = useSynapse();
  let fx: BotFixture;
  let alice: RegisteredUser;
  let aliceClient: UserClient;
  let rooms: Onboarded;

  const shown = (roomId: string): Promise<ShownMessage[]> => botMessages(synapse.baseUrl, alice.accessToken, roomId, fx.bot.userId);
  const say = (roomId: string, text: string, match?: (m: ShownMessage) => boolean, timeoutMs?: number): Promise<ShownMessage> =>
    sayAndWait({ baseUrl: synapse.baseUrl, token: alice.accessToken, bot: fx.bot.userId, client: aliceClient }, roomId, text, match, timeoutMs);
  /** Every formatted_body the bot ever put in the room, edits included. */
  async function formattedBodies(roomId: string): Promise<string[]> {
    const events: RawEvent[] = (await allEvents(synapse.baseUrl, alice.accessToken, roomId)).filter((e) => e.sender === fx.bot.userId);
    const out: string[] = [];
    for (const e of events) {
      const c = e.content as { formatted_body?: unknown; "m.new_content"?: { formatted_body?: unknown } };
      if (typeof c.formatted_body === "string") out.push(c.formatted_body);
      if (typeof c["m.new_content"]?.formatted_body === "string") out.push(c["m.new_content"].formatted_body);
    }
    return out;
  }

  beforeAll(async () => {
    alice = await synapse.newUser("alice");
    fx = await startBot({ agents: [{ id: "helper" }], users: { [alice.userId]: "helper" } });
    aliceClient = await startUserClient(synapse.baseUrl, alice);
    rooms = await onboard(aliceClient, alice.accessToken, synapse.baseUrl, fx.bot.userId);
  }, 60_000);
  afterAll(async () => {
    aliceClient?.stop();
    await fx?.stop();
  });

  it("a ~60 KB message is answered in full; one over the event size never leaves the client and harms nothing", async () => {
    const chat = rooms.chatRoomId;
    const big = "0123456789abcdef".repeat(3750); // 60 000 characters
    const before = (await shown(chat)).length;
    await aliceClient.sendText(chat, big);
    const answer = await eventually("the whole echo", async () => {
      const joined = (await shown(chat)).slice(before).map((m) => m.body ?? "").join("");
      return joined.length >= big.length + 6 ? joined : undefined;
    }, 60_000);
    expect(answer).toBe(`echo: ${big}`);

    const tooBig = await sendTextRaw(synapse.baseUrl, alice.accessToken, chat, "x".repeat(70_000));
    expect(tooBig.status).toBe(413);
    await say(chat, "still fine?", (m) => m.body === "echo: still fine?");
  }, 90_000);

  it("HTML and script in a message reach no formatted_body as markup", async () => {
    const chat = rooms.chatRoomId;
    const nasty = '<script>alert(1)</script> <img src=x onerror="alert(2)"> <a href="javascript:alert(3)">x</a> **bold**';
    await say(chat, nasty, (m) => (m.body ?? "").startsWith("echo: "));
    const formatted = await formattedBodies(chat);
    expect(formatted.length).toBeGreaterThan(0);
    for (const html of formatted) expect(executableMarkup(html), html).toEqual([]);
  });

  it("!rename keeps markup out of the room name's notice and strips invisible and bidi characters", async () => {
    const chat = rooms.chatRoomId;
    await say(chat, '!rename <script>alert(1)</script><b onmouseover="x()">Plans</b>', (m) => (m.body ?? "").startsWith("Renamed"));
    const name1 = (await roomState(synapse.baseUrl, alice.accessToken, chat, "m.room.name"))?.["name"];
    expect(name1).toBe('<script>alert(1)</script><b onmouseover="x()">Plans</b>'); // shown as text by clients
    await say(chat, "!rename a\u200bb\u200fc\u202eevil\u2066d\ufeff  \t e", (m) => (m.body ?? "").startsWith("Renamed"));
    const name2 = (await roomState(synapse.baseUrl, alice.accessToken, chat, "m.room.name"))?.["name"];
    expect(name2).toBe("abcevild e");
    for (const html of await formattedBodies(chat)) expect(executableMarkup(html), html).toEqual([]);
  });

  it("commands with odd spacing and case are understood, and never forwarded to the agent", async () => {
    const chat = rooms.chatRoomId;
    for (const text of ["!  help", "   !help", "!HeLp", "!\u00a0help", "!help   extra   words"]) {
      const reply = await say(chat, text);
      expect(reply.body, text).toContain("!new");
    }
    const odd = await say(chat, "!  frob  nicate");
    expect(odd.body).toContain("Unknown command `!frob`");
    const bodies = (await shown(chat)).map((m) => m.body ?? "");
    expect(bodies.filter((b) => b.startsWith("echo: !"))).toEqual([]);
  });

  it("people in the room who are not its owner are ignored, registered or not", async () => {
    const chat = rooms.chatRoomId;
    const bob = await synapse.newUser("bob"); // registered, with his own agent
    const carol = await synapse.newUser("carol"); // not registered at all
    fx.writeRegistry([{ id: "helper" }], { [alice.userId]: "helper", [bob.userId]: "helper" });
    await eventually("the registry reload", async () => (fx.app.registry.current().agentsFor(bob.userId as never).length > 0 ? true : undefined));
    for (const u of [bob, carol]) {
      await fx.app.client.invite(chat, u.userId); // owners may not invite; someone else in the room is the point
      const res = await fetch(new URL(`/_matrix/client/v3/join/${encodeURIComponent(chat)}`, synapse.baseUrl), {
        method: "POST",
        headers: { Authorization: `Bearer ${u.accessToken}`, "content-type": "application/json" },
        body: "{}",
      });
      expect(res.status).toBe(200);
    }
    const before = (await shown(chat)).length;
    const roomsBefore = fx.app.store.rooms.count();
    for (const [u, text] of [[bob, "bob here"], [carol, "carol here"], [bob, "!rename hijacked"], [carol, "!archive"], [bob, "!new mine"]] as const) {
      expect((await sendTextAsUser(synapse.baseUrl, u.accessToken, chat, text)).status).toBe(200);
    }
    // The owner's next message is answered, and nothing of the others' was.
    await say(chat, "only me", (m) => m.body === "echo: only me");
    await new Promise((r) => setTimeout(r, 1000));
    const added = (await shown(chat)).slice(before).map((m) => m.body);
    expect(added).toEqual(["echo: only me"]);
    expect(fx.app.store.rooms.count()).toBe(roomsBefore);
    expect(fx.app.store.rooms.get(chat as never)?.archived).toBe(false);
    expect((await roomState(synapse.baseUrl, alice.accessToken, chat, "m.room.name"))?.["name"]).toBe("abcevild e");
  }, 60_000);
});
