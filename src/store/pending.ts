import type { Database } from "better-sqlite3";
import type { AgentId, EventId, RoomId, TurnId } from "../core/ids.js";
import type { PendingKind, PendingRecord } from "./records.js";

interface Row {
  room_id: string;
  kind: PendingKind;
  turn_id: string | null;
  confirm_id: string | null;
  agent_id: string | null;
  prompt_event_id: string | null;
  expires_at: number;
}

const toRecord = (r: Row): PendingRecord => ({
  roomId: r.room_id as RoomId,
  kind: r.kind,
  turnId: r.turn_id as TurnId | null,
  confirmId: r.confirm_id,
  agentId: r.agent_id as AgentId | null,
  promptEventId: r.prompt_event_id as EventId | null,
  expiresAt: r.expires_at,
});

/** Passing `now` hides records that expired at or before it. */
const live = (rec: PendingRecord | undefined, now?: number): PendingRecord | undefined =>
  rec && (now === undefined || rec.expiresAt > now) ? rec : undefined;

export type PendingRepo = ReturnType<typeof pendingRepo>;

/**
 * At most one pending question per room (a `!clear`, an `!archive` or an
 * agent's `confirm`); a new one replaces the old. The room must exist in
 * `rooms` (foreign key); deleting the room deletes its pending question.
 */
export function pendingRepo(db: Database) {
  const putStmt = db.prepare(`
    INSERT OR REPLACE INTO pending (room_id, kind, turn_id, confirm_id, agent_id, prompt_event_id, expires_at)
    VALUES (@roomId, @kind, @turnId, @confirmId, @agentId, @promptEventId, @expiresAt)`);
  const getStmt = db.prepare<[string], Row>("SELECT * FROM pending WHERE room_id = ?");
  const delStmt = db.prepare("DELETE FROM pending WHERE room_id = ?");
  const byPromptStmt = db.prepare<[string], Row>("SELECT * FROM pending WHERE prompt_event_id = ?");
  const expiredStmt = db.prepare<[number], Row>("SELECT * FROM pending WHERE expires_at <= ? ORDER BY expires_at");
  const allStmt = db.prepare<[], Row>("SELECT * FROM pending ORDER BY expires_at");

  const get = (roomId: RoomId, now?: number): PendingRecord | undefined => {
    const row = getStmt.get(roomId);
    return live(row && toRecord(row), now);
  };

  return {
    set: (p: PendingRecord): void => void putStmt.run(p),
    get,
    /** Deletes the room's pending question (expired or not) and returns it if still live at `now`. */
    take: (roomId: RoomId, now?: number): PendingRecord | undefined =>
      db.transaction(() => {
        const rec = get(roomId);
        if (rec) delStmt.run(roomId);
        return live(rec, now);
      })(),
    delete: (roomId: RoomId): boolean => delStmt.run(roomId).changes > 0,
    /** Every question, expired or not, soonest expiry first (start-up). */
    all: (): PendingRecord[] => allStmt.all().map(toRecord),
    /** The pending question whose prompt message is this event (for ✅/❌ reactions). */
    byPromptEvent: (eventId: EventId, now?: number): PendingRecord | undefined => {
      const row = byPromptStmt.get(eventId);
      return live(row && toRecord(row), now);
    },
    /** Everything that expired at or before `now`, oldest first (to answer `approved: false`). */
    expired: (now: number): PendingRecord[] => expiredStmt.all(now).map(toRecord),
  };
}
