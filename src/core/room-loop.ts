/**
 * One ordered loop per room, as in mautrix's portal event loop: every
 * happening of a room — a user event, an agent happening that changes what
 * the room shows (a question, a file, a notify), a timer expiry, the end of
 * a turn — is an item on the room's one queue, handled in order. A turn
 * streams *beside* the loop: while it runs the room is busy, later messages
 * wait in the room's waiting list, and commands (`!stop`, `!yes`, …) are
 * handled at once by consulting it. When the turn ends, its end is an item
 * too, which starts the next waiting message.
 */
import type { IncomingEvent } from "./incoming.js";
import type { RoomId } from "./ids.js";
import { KeyedQueue } from "./keyed-queue.js";

interface BusyRoom {
  waiting: IncomingEvent[];
}

export class RoomLoop {
  private readonly queue = new KeyedQueue();
  private readonly busy = new Map<RoomId, BusyRoom>();
  /** Turns with their end item, for drain(). */
  private readonly running = new Set<Promise<void>>();
  /** Turns still streaming; once one settles, its end item is counted by the queue instead. */
  private turnsStreaming = 0;
  private closing = false;

  /**
   * Shutdown: a turn that ends from now on hands no waiting message to a new
   * turn — those stay pending in the ledger and are replayed at the next
   * start, instead of being forwarded and cut off.
   */
  close(): void {
    this.closing = true;
  }

  /** Runs `task` after everything queued before it under `key` (a room, or a user's invites). */
  run(key: string, task: () => Promise<void>): Promise<void> {
    return this.queue.run(key, task);
  }

  /** Runs `task` as the room's next item and returns its result. */
  inRoom<T>(roomId: RoomId, task: () => Promise<T> | T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      void this.queue.run(roomKey(roomId), async () => {
        try {
          resolve(await task());
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  /** A turn (or its preparation) is running in the room. */
  isBusy(roomId: RoomId): boolean {
    return this.busy.has(roomId);
  }

  /** A message that arrived while the room was busy; it starts when the turn ends. */
  park(roomId: RoomId, event: IncomingEvent): void {
    this.busy.get(roomId)?.waiting.push(event);
  }

  /**
   * Marks the room busy and runs `turn` beside the loop. When it settles,
   * an item on the room's queue clears the busy state and hands the next
   * waiting message (if any) to `next`.
   */
  startTurn(roomId: RoomId, turn: () => Promise<void>, next: (event: IncomingEvent) => Promise<void>): void {
    this.busy.set(roomId, { waiting: [] });
    this.turnsStreaming += 1;
    const task = turn()
      .catch(() => undefined) // the turn has its own boundary; this only keeps the loop alive
      .then(() => {
        this.turnsStreaming -= 1;
        return this.queue.run(roomKey(roomId), async () => {
          const waiting = this.busy.get(roomId)?.waiting ?? [];
          this.busy.delete(roomId);
          if (this.closing) return;
          for (let event = waiting.shift(); event; event = waiting.shift()) {
            await next(event);
            // A message that started a turn makes the room busy again: the rest wait for that one.
            const again = this.busy.get(roomId);
            if (again) return void again.waiting.push(...waiting);
          }
        });
      });
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  /** Items queued or running, turns running, and messages waiting for a turn (the queue-depth metric). */
  depth(): number {
    let waiting = 0;
    for (const room of this.busy.values()) waiting += room.waiting.length;
    return this.queue.totalDepth() + this.turnsStreaming + waiting;
  }

  /** Resolves when no item is queued and no turn runs. */
  async drain(): Promise<void> {
    while (this.running.size > 0 || this.queue.totalDepth() > 0) {
      await Promise.all([...this.running, this.queue.drain()]);
    }
  }
}

export const roomKey = (roomId: RoomId): string => `room:${roomId}`;
