/**
 * Reactions in an end-to-end encrypted room, with a user whose client runs
 * the Rust crypto: the bot's own reactions (⏳ on a message that waits) are
 * `m.room.encrypted` on the server with the relation in the clear part, and
 * the user's client decrypts them to an `m.reaction` with its key; its
 * redaction stays clear (the homeserver must read it). The bot understands
 * the user's reactions both as Element sends them (clear) and encrypted, as
 * another client may.
 */
import { Method, MatrixEvent, type Room } from "matrix-js-sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { eventually, startChat, type ChatFixture } from "../support/bot.js";
import { fetchWireMessages } from "../support/room-messages.js";
import { useSynapse } from "../support/synapse-env.js";

interface Relation {
  rel_type?: string;
  event_id?: string;
  key?: string;
}

describe("reactions in encrypted rooms", () => {
  const synapse = useSynapse();
  let chat: ChatFixture;
  let txn = 0;
  const room = (): string => chat.rooms.chatRoomId;
  const bot = (): string => chat.fx.bot.userId;
  const annotation = (eventId: string, key: string): { "m.relates_to": Relation } => ({ "m.relates_to": { rel_type: "m.annotation", event_id: eventId, key } });

  /** A reaction as Element sends it: in the clear, even in an encrypted room. */
  const reactClear = (eventId: string, key: string): Promise<unknown> =>
    chat.client.client.sendEvent(room(), "m.reaction" as never, annotation(eventId, key) as never);

  /** A reaction encrypted by the user's own Rust crypto (as some clients send them). */
  const reactEncrypted = async (eventId: string, key: string): Promise<Record<string, unknown>> => {
    const client = chat.client.client;
    const event = new MatrixEvent({ type: "m.reaction", content: annotation(eventId, key), room_id: room(), sender: client.getSafeUserId() });
    const crypto = client.getCrypto() as unknown as { encryptEvent(ev: MatrixEvent, r: Room): Promise<void> };
    await crypto.encryptEvent(event, client.getRoom(room())!);
    const wire = event.getWireContent();
    await client.http.authedRequest(Method.Put, `/rooms/${encodeURIComponent(room())}/send/m.room.encrypted/react-${Date.now()}-${txn++}`, undefined, wire);
    return wire;
  };

  /** Messages of the room before the current test: a test waits only for new ones. */
  let seen = new Set<string | undefined>();
  beforeEach(() => {
    if (chat) seen = new Set(chat.client.messages(room()).map((ev) => ev.getId()));
  });

  /** The bot's new message whose shown (edited) text matches, as the user's client decrypts it. */
  const botMessage = (what: string, match: (ev: MatrixEvent, body: string) => boolean, timeoutMs = 60_000): Promise<MatrixEvent> =>
    chat.client
      .waitForMessage(room(), (ev, body) => ev.getSender() === bot() && !seen.has(ev.getId()) && body !== undefined && match(ev, body), timeoutMs)
      .catch((err: unknown) => {
        throw new Error(`${what}: ${String(err)}`);
      });

  beforeAll(async () => {
    chat = await startChat({ agents: [{ id: "alpha" }], encrypted: true });
  });
  afterAll(() => chat?.stop());

  it("puts an encrypted ⏳ on a waiting message: the relation is clear, the user's client decrypts its key; the redaction stays clear", async () => {
    await chat.client.sendText(room(), "/slow 20 150");
    const queued = await chat.client.sendText(room(), "queued behind");
    const mark = await eventually("the bot's ⏳ as the user's client decrypts it", async () =>
      chat.client.client
        .getRoom(room())
        ?.getLiveTimeline()
        .getEvents()
        .find((ev) => ev.getSender() === bot() && ev.getType() === "m.reaction" && ev.getRelation()?.event_id === queued),
    );
    expect(mark.isEncrypted()).toBe(true);
    expect(mark.isDecryptionFailure()).toBe(false);
    expect(mark.getWireType()).toBe("m.room.encrypted");
    expect(mark.getRelation()).toMatchObject({ rel_type: "m.annotation", event_id: queued, key: "⏳" });
    expect(mark.getClearContent()?.["m.relates_to"]?.key).toBe("⏳");

    // The homeserver holds ciphertext (its wire copy, not the test client's decrypted view); the relation sits in the clear part, so clients aggregate it.
    const onServer = (await fetchWireMessages(synapse.baseUrl, chat.user.accessToken, room())).find((e) => e.event_id === mark.getId());
    expect(onServer?.type).toBe("m.room.encrypted");
    expect(onServer?.content["m.relates_to"]).toMatchObject({ rel_type: "m.annotation", event_id: queued });
    expect(onServer?.content["ciphertext"]).toEqual(expect.any(String));

    await botMessage("the queued message's answer", (_ev, body) => body === "echo: queued behind");
    const redaction = await eventually("the ⏳ redacted", async () =>
      (await fetchWireMessages(synapse.baseUrl, chat.user.accessToken, room())).find(
        (e) => e.sender === bot() && e.type === "m.room.redaction" && (e.content["redacts"] === mark.getId() || (e as { redacts?: string }).redacts === mark.getId()),
      ),
    );
    expect(redaction.type).toBe("m.room.redaction");
    // Everything else the bot sent here is encrypted: no clear m.reaction of the bot on the server.
    const clearReactions = (await fetchWireMessages(synapse.baseUrl, chat.user.accessToken, room())).filter((e) => e.sender === bot() && e.type === "m.reaction");
    expect(clearReactions).toEqual([]);
  });

  it("a ⏹ reaction in the clear (as Element sends it) stops a streaming answer", async () => {
    await chat.client.sendText(room(), "/slow 60 100");
    const streaming = await botMessage("the first chunks", (_ev, body) => body.startsWith("chunk 1 chunk 2"));
    await reactClear(streaming.getId()!, "⏹\ufe0f");
    const final = await botMessage("the stopped answer", (ev, body) => ev.getId() === streaming.getId() && body.endsWith("⏹ _stopped_"));
    expect(chat.client.latestText(room(), final.getId()!)).not.toContain("chunk 60 ");
  });

  it("an encrypted ⏹ reaction stops a streaming answer too", async () => {
    const cancelsBefore = chat.fx.agents.get("alpha")?.stats.cancels.length ?? 0;
    await chat.client.sendText(room(), "/slow 60 100");
    const streaming = await botMessage("the first chunks", (ev, body) => body.startsWith("chunk 1 chunk 2"));
    const wire = await reactEncrypted(streaming.getId()!, "⏹\ufe0f");
    // What the bot reads: the relation in the clear part of the encrypted event.
    expect(wire["m.relates_to"]).toMatchObject({ rel_type: "m.annotation", event_id: streaming.getId() });
    await botMessage("the stopped answer", (ev, body) => ev.getId() === streaming.getId() && body.endsWith("⏹ _stopped_"));
    expect(chat.fx.agents.get("alpha")?.stats.cancels.length).toBe(cancelsBefore + 1);
  });

  it("an encrypted ❌ reaction on a confirm prompt refuses", async () => {
    await chat.client.sendText(room(), "/confirm Send the secret mail?");
    const prompt = await botMessage("the confirm prompt", (_ev, body) => body.includes("asks: Send the secret mail?"));
    await reactEncrypted(prompt.getId()!, "❌");
    await botMessage("the agent's answer", (_ev, body) => body === "refused");
    await botMessage("the acknowledgement", (_ev, body) => body === "❌ Refused.");
  });
});
