import type { Database } from "better-sqlite3";
import type { AgentId, ChatId, RoomId, UserId } from "../core/ids.js";
import type { RoomKind, RoomRecord, RoomUpsert } from "./records.js";

interface Row {
  room_id: string;
  owner: string;
  kind: RoomKind;
  agent_id: string | null;
  platform_chat_id: string | null;
  name: string | null;
  idx: number;
  archived: number;
  created_at: number;
}

const toRecord = (r: Row): RoomRecord => ({
  roomId: r.room_id as RoomId,
  owner: r.owner as UserId,
  kind: r.kind,
  agentId: r.agent_id as AgentId | null,
  chatId: r.platform_chat_id as ChatId | null,
  name: r.name,
  index: r.idx,
  archived: r.archived === 1,
  createdAt: r.created_at,
});

export interface ByOwnerOptions {
  /** Default false: archived rooms are left out. */
  includeArchived?: boolean;
  /** Default: both the Space and the chats. */
  kind?: RoomKind;
}

export type RoomsRepo = ReturnType<typeof roomsRepo>;

export function roomsRepo(db: Database) {
  const getStmt = db.prepare<[string], Row>("SELECT * FROM rooms WHERE room_id = ?");
  const putStmt = db.prepare(`
    INSERT INTO rooms (room_id, owner, kind, agent_id, platform_chat_id, name, idx, archived, created_at)
    VALUES (@roomId, @owner, @kind, @agentId, @chatId, @name, @index, @archived, @createdAt)
    ON CONFLICT (room_id) DO UPDATE SET
      owner = excluded.owner, kind = excluded.kind, agent_id = excluded.agent_id,
      platform_chat_id = excluded.platform_chat_id, name = excluded.name,
      idx = excluded.idx, archived = excluded.archived`);
  const byOwnerStmt = db.prepare<{ owner: string; all: number; kind: string | null }, Row>(`
    SELECT * FROM rooms
    WHERE owner = @owner AND (@all = 1 OR archived = 0) AND (@kind IS NULL OR kind = @kind)
    ORDER BY kind = 'chat', idx, created_at, room_id`);
  // Several rooms may hold one chat id (see 001-init); prefer a live one, then the newest.
  const byChatStmt = db.prepare<[string], Row>(`
    SELECT * FROM rooms WHERE platform_chat_id = ?
    ORDER BY archived, created_at DESC, rowid DESC LIMIT 1`);
  const spaceStmt = db.prepare<[string], Row>(`
    SELECT * FROM rooms WHERE owner = ? AND kind = 'space'
    ORDER BY archived, created_at, rowid LIMIT 1`);
  const nextIdxStmt = db
    .prepare<[string], number>("SELECT COALESCE(MAX(idx), 0) + 1 FROM rooms WHERE owner = ? AND kind = 'chat'")
    .pluck();
  const setChatStmt = db.prepare("UPDATE rooms SET platform_chat_id = ? WHERE room_id = ?");
  const setArchivedStmt = db.prepare("UPDATE rooms SET archived = ? WHERE room_id = ?");
  const renameStmt = db.prepare("UPDATE rooms SET name = ? WHERE room_id = ?");
  const countStmt = db.prepare<[], number>("SELECT COUNT(*) FROM rooms").pluck();
  const allStmt = db.prepare<[], Row>("SELECT * FROM rooms ORDER BY owner, kind = 'chat', idx, created_at");

  return {
    get: (roomId: RoomId): RoomRecord | undefined => {
      const row = getStmt.get(roomId);
      return row && toRecord(row);
    },
    /** Insert or replace every field; createdAt defaults to now and is kept on update. */
    upsert: (room: RoomUpsert): void => {
      putStmt.run({ ...room, archived: room.archived ? 1 : 0, createdAt: room.createdAt ?? Date.now() });
    },
    /** The owner's rooms: the Space first, then chats by index. */
    byOwner: (owner: UserId, opts: ByOwnerOptions = {}): RoomRecord[] =>
      byOwnerStmt
        .all({ owner, all: opts.includeArchived ? 1 : 0, kind: opts.kind ?? null })
        .map(toRecord),
    /** The room that holds this chat id: a non-archived one if any, else the newest. */
    byChatId: (chatId: ChatId): RoomRecord | undefined => {
      const row = byChatStmt.get(chatId);
      return row && toRecord(row);
    },
    setChatId: (roomId: RoomId, chatId: ChatId): void => void setChatStmt.run(chatId, roomId),
    setArchived: (roomId: RoomId, archived = true): void => void setArchivedStmt.run(archived ? 1 : 0, roomId),
    rename: (roomId: RoomId, name: string): void => void renameStmt.run(name, roomId),
    spaceOf: (owner: UserId): RoomRecord | undefined => {
      const row = spaceStmt.get(owner);
      return row && toRecord(row);
    },
    /** 1 + the highest chat index the owner ever used (archived rooms count, so names never repeat). */
    nextIndex: (owner: UserId): number => nextIdxStmt.get(owner) as number,
    count: (): number => countStmt.get() as number,
    all: (): RoomRecord[] => allStmt.all().map(toRecord),
    clear: (): void => void db.prepare("DELETE FROM rooms").run(),
  };
}
