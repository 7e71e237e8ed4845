/**
 * Encrypted rooms' settings reach the crypto after the first sync, in the
 * order the SDK gave them, and a room about to be encrypted for goes first.
 */
import type { MatrixEvent, Room } from "matrix-js-sdk";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { DeferredRoomSettings } from "../../src/matrix/deferred-room-settings.js";

const room = (roomId: string): Room => ({ roomId }) as Room;
const event = (tag: string): MatrixEvent => ({ tag }) as unknown as MatrixEvent;

/** A crypto backend that records what it was given, each call taking a few event-loop turns. */
function fakeCrypto() {
  const applied: string[] = [];
  /** Rooms with a RoomEncryptor, as in matrix-js-sdk's RustCrypto: made by onCryptoEvent. */
  const encryptors = new Set<string>();
  const crypto = {
    async onCryptoEvent(r: Room, e: MatrixEvent): Promise<void> {
      await new Promise((resolve) => setImmediate(resolve));
      applied.push(`${r.roomId}:${(e as unknown as { tag: string }).tag}`);
      encryptors.add(r.roomId);
    },
    forceDiscardSession(roomId: string): Promise<void> | undefined {
      if (!encryptors.has(roomId)) return undefined; // what the SDK does without a RoomEncryptor
      applied.push(`${roomId}:discard`);
      return Promise.resolve();
    },
  };
  return { crypto, applied };
}

const silent = pino({ level: "silent" });
const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe("DeferredRoomSettings", () => {
  it("answers the first sync's calls at once and hands them over, in order, after it", async () => {
    const { crypto, applied } = fakeCrypto();
    const settings = new DeferredRoomSettings(silent);
    expect(settings.install(crypto)).toBe(true);
    await crypto.onCryptoEvent(room("!a"), event("1"));
    await crypto.onCryptoEvent(room("!b"), event("1"));
    await crypto.onCryptoEvent(room("!a"), event("2"));
    expect(applied).toEqual([]);
    expect(settings.has("!a")).toBe(true);
    expect(settings.pending).toBe(2);
    settings.release();
    await settings.whenDrained();
    expect(applied).toEqual(["!a:1", "!a:2", "!b:1"]);
    expect(settings.pending).toBe(0);
    expect(settings.has("!a")).toBe(false);
  });

  it("hands a room over ahead of the queue when the bot is about to encrypt there", async () => {
    const { crypto, applied } = fakeCrypto();
    const settings = new DeferredRoomSettings(silent);
    settings.install(crypto);
    for (const id of ["!a", "!b", "!c", "!d"]) await crypto.onCryptoEvent(room(id), event("1"));
    settings.release();
    await settings.settle("!d");
    expect(applied).toContain("!d:1");
    expect(applied.length).toBeLessThan(4);
    await turns(20);
    expect([...applied].sort()).toEqual(["!a:1", "!b:1", "!c:1", "!d:1"]);
    expect(applied.filter((a) => a === "!d:1")).toHaveLength(1);
  });

  it("runs a call after the first sync at once, but behind the room's queued ones", async () => {
    const { crypto, applied } = fakeCrypto();
    const settings = new DeferredRoomSettings(silent);
    settings.install(crypto);
    for (const id of ["!a", "!b", "!c"]) await crypto.onCryptoEvent(room(id), event("old"));
    settings.release();
    await crypto.onCryptoEvent(room("!c"), event("new"));
    await crypto.onCryptoEvent(room("!z"), event("new"));
    await settings.whenDrained();
    expect(applied).toHaveLength(5);
    expect(applied).toContain("!c:old");
    expect(applied.indexOf("!c:old")).toBeLessThan(applied.indexOf("!c:new"));
    expect(applied).toContain("!z:new");
  });

  it("stops handing over when closed and waits for the room under way", async () => {
    const { crypto, applied } = fakeCrypto();
    const settings = new DeferredRoomSettings(silent);
    settings.install(crypto);
    for (let i = 0; i < 50; i++) await crypto.onCryptoEvent(room(`!r${i}`), event("1"));
    settings.release();
    await turns(3);
    await settings.close();
    const after = applied.length;
    expect(after).toBeGreaterThan(0);
    expect(after).toBeLessThan(50);
    await turns(20);
    expect(applied).toHaveLength(after);
  });

  it("logs a call the crypto refused and goes on with the next room", async () => {
    const applied: string[] = [];
    const warnings: unknown[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
    const crypto = {
      onCryptoEvent: (r: Room, e: MatrixEvent): Promise<void> => {
        if (r.roomId === "!bad") return Promise.reject(new Error(`refused ${e.getType?.() ?? "event"}`));
        applied.push(r.roomId);
        return Promise.resolve();
      },
    };
    const settings = new DeferredRoomSettings(logger);
    settings.install(crypto);
    await crypto.onCryptoEvent(room("!bad"), event("1"));
    await crypto.onCryptoEvent(room("!good"), event("1"));
    settings.release();
    await turns(10);
    expect(applied).toEqual(["!good"]);
    expect(warnings).toHaveLength(1);
  });

  it("drops a queued room's outgoing session after its settings when a member left meanwhile", async () => {
    const { crypto, applied } = fakeCrypto();
    const settings = new DeferredRoomSettings(silent);
    settings.install(crypto);
    await crypto.onCryptoEvent(room("!a"), event("1"));
    await crypto.onCryptoEvent(room("!b"), event("1"));
    await crypto.forceDiscardSession("!a"); // someone left !a during the first sync
    expect(applied).toEqual([]);
    settings.release();
    await settings.whenDrained();
    expect(applied).toEqual(["!a:1", "!a:discard", "!b:1"]);
    // After its settings, a room's session is dropped at once.
    await crypto.forceDiscardSession("!b");
    expect(applied.at(-1)).toBe("!b:discard");
  });

  it("hands a room over before the first sync is in when the bot needs it then", async () => {
    const { crypto, applied } = fakeCrypto();
    const settings = new DeferredRoomSettings(silent);
    settings.install(crypto);
    await crypto.onCryptoEvent(room("!a"), event("1"));
    await crypto.onCryptoEvent(room("!b"), event("1"));
    const first = settings.settle("!b");
    expect(settings.has("!b")).toBe(true);
    // A call for !b while its run is under way comes after it, and a settle waits for both.
    await crypto.onCryptoEvent(room("!b"), event("2"));
    expect(applied).toEqual([]);
    await settings.settle("!b");
    expect(applied).toEqual(["!b:1", "!b:2"]);
    await first;
    settings.release();
    await settings.whenDrained();
    expect(applied).toEqual(["!b:1", "!b:2", "!a:1"]);
  });

  it("gives the crypto nothing more once closed", async () => {
    const { crypto, applied } = fakeCrypto();
    const settings = new DeferredRoomSettings(silent);
    settings.install(crypto);
    await crypto.onCryptoEvent(room("!a"), event("1"));
    settings.release();
    await settings.whenDrained();
    await settings.close();
    await crypto.onCryptoEvent(room("!a"), event("2"));
    await crypto.onCryptoEvent(room("!new"), event("1"));
    await turns(5);
    expect(applied).toEqual(["!a:1"]);
  });

  it("does nothing without a crypto backend", () => {
    const settings = new DeferredRoomSettings(silent);
    expect(settings.install(undefined)).toBe(false);
    expect(settings.has("!a")).toBe(false);
    settings.release();
  });
});
