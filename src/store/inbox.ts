import type { Database } from "better-sqlite3";
import type { EventId, RoomId, TurnId, UserId } from "../core/ids.js";
import type { InboxEvent, InboxRecord, InboxStatus } from "./records.js";

interface Row {
  event_id: string;
  room_id: string;
  sender: string;
  content: string;
  origin_ts: number;
  received_at: number;
  status: InboxStatus;
  turn_id: string | null;
}

const toRecord = (r: Row): InboxRecord => ({
  eventId: r.event_id as EventId,
  roomId: r.room_id as RoomId,
  sender: r.sender as UserId,
  content: JSON.parse(r.content) as unknown,
  originTs: r.origin_ts,
  receivedAt: r.received_at,
  status: r.status,
  turnId: r.turn_id as TurnId | null,
});

export type InboxRepo = ReturnType<typeof inboxRepo>;

/**
 * The ledger of handled Matrix events. `record` is the exactly-once gate:
 * an event id gets through once, even when sync replays it after a crash.
 * Lifecycle: pending → forwarded (a turn is running) → done | ignored.
 */
export function inboxRepo(db: Database) {
  const insertStmt = db.prepare(`
    INSERT OR IGNORE INTO inbox (event_id, room_id, sender, content, origin_ts, received_at, status)
    VALUES (@eventId, @roomId, @sender, @content, @originTs, @receivedAt, 'pending')`);
  const statusStmt = db.prepare(
    "UPDATE inbox SET status = @status, turn_id = COALESCE(@turnId, turn_id) WHERE event_id = @eventId",
  );
  const byStatusStmt = db.prepare<[InboxStatus], Row>("SELECT * FROM inbox WHERE status = ? ORDER BY rowid");
  const getStmt = db.prepare<[string], Row>("SELECT * FROM inbox WHERE event_id = ?");
  const pruneStmt = db.prepare(
    "DELETE FROM inbox WHERE received_at < ? AND status IN ('done', 'ignored')",
  );

  return {
    /** True only the first time this event id is seen; later calls change nothing. */
    record: (ev: InboxEvent, receivedAt: number = Date.now()): boolean =>
      insertStmt.run({ ...ev, content: JSON.stringify(ev.content ?? null), receivedAt }).changes === 1,
    /** A turnId, once set, is kept when later statuses omit it. */
    setStatus: (eventId: EventId, status: InboxStatus, turnId?: TurnId): void =>
      void statusStmt.run({ eventId, status, turnId: turnId ?? null }),
    /** Recorded but not yet handled, in arrival order. */
    pending: (): InboxRecord[] => byStatusStmt.all("pending").map(toRecord),
    /** Forwarded to an agent whose turn never finished (interrupted by a crash), in arrival order. */
    inFlight: (): InboxRecord[] => byStatusStmt.all("forwarded").map(toRecord),
    get: (eventId: EventId): InboxRecord | undefined => {
      const row = getStmt.get(eventId);
      return row && toRecord(row);
    },
    has: (eventId: EventId): boolean => getStmt.get(eventId) !== undefined,
    /**
     * Forgets finished events received more than `olderThanMs` ago. Keep the
     * window longer than any sync replay (days), or a replayed event would pass the gate again.
     */
    prune: (olderThanMs: number, now: number = Date.now()): number => pruneStmt.run(now - olderThanMs).changes,
  };
}
