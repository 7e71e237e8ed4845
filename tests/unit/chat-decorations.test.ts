/**
 * Reactions, redactions and read receipts only decorate: when the homeserver
 * refuses them, the adapter logs and resolves (null for a reaction) instead
 * of failing the message they decorate.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { MatrixClient } from "matrix-js-sdk";
import { asEventId, asRoomId } from "../../src/core/ids.js";
import { MatrixChatAdapter } from "../../src/matrix/chat-adapter.js";
import type { MatrixSender } from "../../src/matrix/sender.js";

const client = { getSafeUserId: () => "@bot:hs" } as unknown as MatrixClient;
const room = asRoomId("!r:hs");
const target = asEventId("$m");

describe("decorations (⏳, its removal, read receipts)", () => {
  it("never throw when the homeserver refuses them", async () => {
    const calls: string[] = [];
    const refuse = (what: string) => async (): Promise<never> => {
      calls.push(what);
      throw new Error("M_FORBIDDEN");
    };
    const sender = { send: refuse("send"), redact: refuse("redact"), receipt: refuse("receipt") } as unknown as MatrixSender;
    const chat = new MatrixChatAdapter(client, sender, pino({ level: "silent" }), { editIntervalMs: 100 });
    await expect(chat.react(room, target, "⏳", "wait.$m")).resolves.toBeNull();
    await expect(chat.redact(room, asEventId("$x"), "unwait.$m")).resolves.toBeUndefined();
    await expect(chat.markRead(room, target)).resolves.toBeUndefined();
    expect(calls).toEqual(["send", "redact", "receipt"]);
  });

  it("send an m.annotation reaction, a redaction and an m.read receipt with few tries", async () => {
    const seen: unknown[] = [];
    const sender = {
      send: async (...args: unknown[]) => (seen.push(["send", ...args]), asEventId("$x")),
      redact: async (...args: unknown[]) => void seen.push(["redact", ...args]),
      receipt: async (...args: unknown[]) => void seen.push(["receipt", ...args]),
    } as unknown as MatrixSender;
    const chat = new MatrixChatAdapter(client, sender, pino({ level: "silent" }), { editIntervalMs: 100 });
    expect(await chat.react(room, target, "⏳", "wait.$m")).toBe("$x");
    await chat.redact(room, asEventId("$x"), "unwait.$m");
    await chat.markRead(room, target);
    expect(seen).toEqual([
      ["send", room, "m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: target, key: "⏳" } }, "wait.$m", { maxAttempts: 4 }],
      ["redact", room, "$x", "unwait.$m", { maxAttempts: 4 }],
      ["receipt", room, target, "m.read", { maxAttempts: 4 }],
    ]);
  });
});
