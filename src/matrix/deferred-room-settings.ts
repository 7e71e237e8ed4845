/**
 * Encrypted rooms' crypto settings, handed to the Rust crypto after the
 * first sync instead of inside it.
 *
 * matrix-js-sdk gives every `m.room.encryption` of a sync to the crypto's
 * `onCryptoEvent` and awaits it, room after room, before it goes on: one
 * `setRoomSettings` (an IndexedDB write transaction, committed and synced
 * to disk) and one tracked-users update each. A first sync of 1,000
 * encrypted rooms spent 2.8 s there, on the way to readiness, for rooms
 * nobody may write in for days. Here the calls the SDK makes before the
 * first sync is in are queued (each room's in order) and answered at once;
 * after it they run one room at a time in the background, and a room the
 * bot is about to encrypt for has its own run first (`settle`). Calls after
 * the first sync run as before, behind the room's queued ones.
 *
 * When someone leaves a queued room, the SDK's request to drop the room's
 * outgoing session (so the next message gets a new key) would find no
 * RoomEncryptor and do nothing; it is kept and done right after the room's
 * settings.
 *
 * Nothing is sent in the clear meanwhile: a queued room has its
 * `m.room.encryption` in its state (RoomCrypto reads that first), and the
 * crypto cannot encrypt for a room it has no settings for. A bot that stops
 * before the queue is empty loses nothing either: the next start's cached
 * sync carries the same events again.
 */
import type { MatrixEvent, Room } from "matrix-js-sdk";
import type { Logger } from "pino";

/** The crypto backend's calls taken over here (matrix-js-sdk's RustCrypto). */
interface CryptoEventSink {
  onCryptoEvent(room: Room, event: MatrixEvent): Promise<void>;
  /** Drops the room's outgoing Megolm session; a no-op for a room without a RoomEncryptor (a queued one). */
  forceDiscardSession?(roomId: string): Promise<void> | undefined;
}

type Call = { room: Room; event: MatrixEvent };

export class DeferredRoomSettings {
  private deferring = true;
  private closed = false;
  /** Queued calls by room, in the order the SDK made them (a Map keeps rooms in first-seen order). */
  private readonly queued = new Map<string, Call[]>();
  /** A room's queued calls while they run, so that two callers wait for one run. */
  private readonly running = new Map<string, Promise<void>>();
  private drained: Promise<void> = Promise.resolve();
  /** Queued rooms whose outgoing session must be dropped once the crypto has their settings. */
  private readonly discardAfter = new Set<string>();
  private apply: CryptoEventSink["onCryptoEvent"] | undefined;
  private discard: ((roomId: string) => Promise<void> | undefined) | undefined;

  constructor(private readonly logger: Logger) {}

  /** Takes over the backend's `onCryptoEvent` (and `forceDiscardSession`); false when there is no crypto or it has none. */
  install(crypto: object | undefined): boolean {
    const sink = crypto as Partial<CryptoEventSink> | undefined;
    if (!sink || typeof sink.onCryptoEvent !== "function") {
      this.deferring = false;
      return false;
    }
    const apply = sink.onCryptoEvent.bind(sink);
    this.apply = apply;
    sink.onCryptoEvent = (room: Room, event: MatrixEvent): Promise<void> => {
      if (this.closed) return Promise.resolve(); // the crypto is about to be freed
      if (this.deferring) {
        const calls = this.queued.get(room.roomId) ?? [];
        calls.push({ room, event });
        this.queued.set(room.roomId, calls);
        return Promise.resolve();
      }
      // After the first sync: behind whatever of this room is still queued.
      return this.settle(room.roomId).then(() => (this.closed ? undefined : apply(room, event)));
    };
    // The SDK drops a room's outgoing session when someone leaves (MSC4268: the next message gets a new
    // key), through the room's RoomEncryptor, which a queued room does not have yet: done after its settings.
    const discard = sink.forceDiscardSession?.bind(sink);
    if (discard) {
      this.discard = discard;
      sink.forceDiscardSession = (roomId: string): Promise<void> | undefined => {
        if (this.queued.has(roomId)) {
          this.discardAfter.add(roomId);
          return Promise.resolve();
        }
        const running = this.running.get(roomId);
        return running ? running.then(() => discard(roomId)) : discard(roomId);
      };
    }
    return true;
  }

  /** Resolves once the rooms queued during the first sync are all handed over (or the run was stopped). */
  whenDrained(): Promise<void> {
    return this.drained;
  }

  /** Rooms whose settings are still queued. */
  get pending(): number {
    return this.queued.size + this.running.size;
  }

  /** True when the room has settings queued: it is encrypted (its m.room.encryption is in the queue). */
  has(roomId: string): boolean {
    return this.queued.has(roomId) || this.running.has(roomId);
  }

  /** The first sync is in: later calls run at once, and the queue runs in the background, room after room. */
  release(): void {
    if (!this.deferring) return;
    this.deferring = false;
    const rooms = this.queued.size;
    if (rooms === 0) return;
    const t0 = Date.now();
    this.drained = (async () => {
      for (;;) {
        const next = this.queued.keys().next();
        if (next.done || this.closed) break;
        await this.settle(next.value);
        // One room per event-loop turn: sends and syncs go on in between.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (!this.closed) this.logger.info({ rooms, ms: Date.now() - t0 }, "encrypted rooms' settings handed to the crypto");
    })();
  }

  /** Runs the room's queued calls now (if any) and resolves once the crypto has them. */
  settle(roomId: string): Promise<void> {
    const running = this.running.get(roomId);
    // Calls queued while that run was under way come after it.
    if (running) return running.then(() => this.settle(roomId));
    const calls = this.queued.get(roomId);
    if (!calls || !this.apply || this.closed) return Promise.resolve();
    this.queued.delete(roomId);
    const apply = this.apply;
    const run = (async () => {
      for (const { room, event } of calls) {
        // The backend logs and swallows what it refuses; anything else is logged here and the rest goes on.
        try {
          await apply(room, event);
        } catch (err) {
          this.logger.warn({ err, room_id: roomId }, "the crypto did not take the room's encryption settings");
        }
      }
      if (this.discardAfter.delete(roomId)) {
        try {
          await this.discard?.(roomId);
        } catch (err) {
          this.logger.warn({ err, room_id: roomId }, "dropping the room's outgoing session after a member left failed");
        }
      }
    })().finally(() => this.running.delete(roomId));
    this.running.set(roomId, run);
    return run;
  }

  /** Stops the background run and waits for the room it is in (the crypto is freed after this). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.drained, ...this.running.values()]);
  }
}
