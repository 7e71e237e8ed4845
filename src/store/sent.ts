import type { Database } from "better-sqlite3";
import type { EventId, RoomId } from "../core/ids.js";
import type { SentRecord } from "./records.js";

interface Row {
  txn_id: string;
  room_id: string;
  event_id: string;
  sent_at: number;
}

export type SentRepo = ReturnType<typeof sentRepo>;

/**
 * Transaction id → event id of messages already sent, so a send retried
 * after a crash finds the earlier event (to edit it) instead of posting twice.
 */
export function sentRepo(db: Database) {
  const getStmt = db.prepare<[string], Row>("SELECT * FROM sent WHERE txn_id = ?");
  const setStmt = db.prepare(
    "INSERT OR REPLACE INTO sent (txn_id, room_id, event_id, sent_at) VALUES (@txnId, @roomId, @eventId, @sentAt)",
  );
  return {
    get: (txnId: string): SentRecord | undefined => {
      const r = getStmt.get(txnId);
      return r && { txnId: r.txn_id, roomId: r.room_id as RoomId, eventId: r.event_id as EventId, sentAt: r.sent_at };
    },
    set: (rec: Omit<SentRecord, "sentAt"> & { sentAt?: number }): void =>
      void setStmt.run({ ...rec, sentAt: rec.sentAt ?? Date.now() }),
  };
}
