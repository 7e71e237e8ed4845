import { describe, expect, it } from "vitest";
import type { IncomingEvent } from "../../src/core/incoming.js";
import type { RoomId } from "../../src/core/ids.js";
import { RoomLoop } from "../../src/core/room-loop.js";

const ROOM = "!a:test" as RoomId;

describe("RoomLoop.depth", () => {
  it("counts a streaming turn once, and its end item once, never both", async () => {
    const loop = new RoomLoop();
    let endTurn!: () => void;
    const turnDone = new Promise<void>((resolve) => (endTurn = resolve));
    let depthInNext = -1;
    loop.startTurn(ROOM, () => turnDone, () => {
      depthInNext = loop.depth();
      return Promise.resolve();
    });
    loop.park(ROOM, { kind: "message" } as unknown as IncomingEvent);
    expect(loop.depth()).toBe(2); // the streaming turn + one waiting message

    endTurn();
    await loop.drain();
    // Inside the end item: the item itself is the only thing left (the waiting message was taken off).
    expect(depthInNext).toBe(1);
    expect(loop.depth()).toBe(0);
  });
});
