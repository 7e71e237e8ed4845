import type { Database } from "better-sqlite3";
import type { EventId, RoomId } from "../core/ids.js";

/** The ⏳ reaction the bot put on a waiting message, until the message's turn starts. */
export function waitMarksRepo(db: Database) {
  const putStmt = db.prepare("INSERT OR REPLACE INTO wait_marks (event_id, room_id, reaction_id) VALUES (?, ?, ?)");
  const getStmt = db.prepare<[string], { room_id: string; reaction_id: string }>("SELECT room_id, reaction_id FROM wait_marks WHERE event_id = ?");
  const deleteStmt = db.prepare("DELETE FROM wait_marks WHERE event_id = ?");
  return {
    set: (eventId: EventId, roomId: RoomId, reactionId: EventId): void => void putStmt.run(eventId, roomId, reactionId),
    /** Returns the message's mark and forgets it (once). */
    take: (eventId: EventId): { roomId: RoomId; reactionId: EventId } | undefined => {
      const row = getStmt.get(eventId);
      if (!row) return undefined;
      deleteStmt.run(eventId);
      return { roomId: row.room_id as RoomId, reactionId: row.reaction_id as EventId };
    },
  };
}

export type WaitMarksRepo = ReturnType<typeof waitMarksRepo>;
