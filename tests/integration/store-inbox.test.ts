/** The inbox ledger: the exactly-once gate must hold across restarts. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { asEventId, asRoomId, asTurnId, asUserId } from "../../src/core/ids.js";
import type { InboxEvent } from "../../src/store/records.js";
import { openStore } from "../../src/store/store.js";
import type { Store } from "../../src/store/store.js";

let dir: string;
let file: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "surfaces-inbox-"));
  file = path.join(dir, "surfaces.db");
  store = openStore(file);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const event = (n: number): InboxEvent => ({
  eventId: asEventId(`$ev${n}`),
  roomId: asRoomId("!r:x"),
  sender: asUserId("@alice:x"),
  content: { msgtype: "m.text", body: `message ${n}` },
  originTs: 1_000 + n,
});

describe("inbox", () => {
  it("records an event only the first time, even across a close and reopen", () => {
    expect(store.inbox.record(event(1))).toBe(true);
    expect(store.inbox.record(event(1))).toBe(false);
    store.close();

    store = openStore(file);
    expect(store.inbox.record(event(1))).toBe(false);
    expect(store.inbox.has(asEventId("$ev1"))).toBe(true);
    expect(store.inbox.record(event(2))).toBe(true);
  });

  it("keeps the content and the first arrival when an event is seen again", () => {
    store.inbox.record(event(1), 50);
    store.inbox.record({ ...event(1), content: { body: "changed" } }, 60);
    expect(store.inbox.get(asEventId("$ev1"))).toEqual({
      ...event(1),
      receivedAt: 50,
      status: "pending",
      turnId: null,
    });
  });

  it("lists pending events in arrival order and forwarded ones as in flight", () => {
    for (const n of [3, 1, 2, 4]) store.inbox.record(event(n));
    store.inbox.setStatus(asEventId("$ev1"), "forwarded", asTurnId("t1"));
    store.inbox.setStatus(asEventId("$ev4"), "ignored");

    expect(store.inbox.pending().map((e) => e.eventId)).toEqual(["$ev3", "$ev2"]);
    expect(store.inbox.inFlight()).toEqual([
      expect.objectContaining({ eventId: "$ev1", status: "forwarded", turnId: "t1" }),
    ]);

    store.inbox.setStatus(asEventId("$ev1"), "done"); // the turn id is kept
    expect(store.inbox.get(asEventId("$ev1"))).toMatchObject({ status: "done", turnId: "t1" });
    expect(store.inbox.inFlight()).toEqual([]);
  });

  it("finds interrupted turns after a restart", () => {
    store.inbox.record(event(1));
    store.inbox.setStatus(asEventId("$ev1"), "forwarded", asTurnId("t1"));
    store.close();
    store = openStore(file);
    expect(store.inbox.inFlight().map((e) => e.turnId)).toEqual(["t1"]);
  });

  it("prunes only finished events older than the window", () => {
    store.inbox.record(event(1), 100); // done, old → pruned
    store.inbox.record(event(2), 100); // pending, old → kept
    store.inbox.record(event(3), 900); // done, recent → kept
    store.inbox.setStatus(asEventId("$ev1"), "done");
    store.inbox.setStatus(asEventId("$ev3"), "done");
    expect(store.inbox.prune(500, 1_000)).toBe(1);
    expect(store.inbox.has(asEventId("$ev1"))).toBe(false);
    expect(store.inbox.has(asEventId("$ev2"))).toBe(true);
    expect(store.inbox.has(asEventId("$ev3"))).toBe(true);
  });

  it("rejects an unknown status", () => {
    store.inbox.record(event(1));
    expect(() => store.inbox.setStatus(asEventId("$ev1"), "lost" as never)).toThrow(/CHECK/);
  });
});
