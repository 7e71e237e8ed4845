import type { Database } from "better-sqlite3";
import type { AgentId, RoomId, UserId } from "../core/ids.js";
import type { UserRecord, UserUpsert } from "./records.js";

interface Row {
  user_id: string;
  space_id: string | null;
  lobby_room_id: string | null;
  selected_agent: string | null;
  created_at: number;
}

const toRecord = (r: Row): UserRecord => ({
  userId: r.user_id as UserId,
  spaceId: r.space_id as RoomId | null,
  lobbyRoomId: r.lobby_room_id as RoomId | null,
  selectedAgent: r.selected_agent as AgentId | null,
  createdAt: r.created_at,
});

export type UsersRepo = ReturnType<typeof usersRepo>;

export function usersRepo(db: Database) {
  const getStmt = db.prepare<[string], Row>("SELECT * FROM users WHERE user_id = ?");
  const allStmt = db.prepare<[], Row>("SELECT * FROM users ORDER BY created_at, user_id");
  const putStmt = db.prepare(`
    INSERT INTO users (user_id, space_id, lobby_room_id, selected_agent, created_at)
    VALUES (@userId, @spaceId, @lobbyRoomId, @selectedAgent, @createdAt)
    ON CONFLICT (user_id) DO UPDATE SET
      space_id = excluded.space_id,
      lobby_room_id = excluded.lobby_room_id,
      selected_agent = excluded.selected_agent`);

  const get = (userId: UserId): UserRecord | undefined => {
    const row = getStmt.get(userId);
    return row && toRecord(row);
  };

  /** Insert or merge: fields left undefined keep their stored value, null clears them. */
  const upsert = (u: UserUpsert): UserRecord =>
    db.transaction(() => {
      const old = get(u.userId);
      const merged: UserRecord = {
        userId: u.userId,
        spaceId: u.spaceId !== undefined ? u.spaceId : (old?.spaceId ?? null),
        lobbyRoomId: u.lobbyRoomId !== undefined ? u.lobbyRoomId : (old?.lobbyRoomId ?? null),
        selectedAgent: u.selectedAgent !== undefined ? u.selectedAgent : (old?.selectedAgent ?? null),
        createdAt: old?.createdAt ?? u.createdAt ?? Date.now(),
      };
      putStmt.run(merged);
      return merged;
    })();

  return {
    get,
    upsert,
    /** Creates the user if needed. */
    setSpace: (userId: UserId, spaceId: RoomId | null): void => void upsert({ userId, spaceId }),
    setLobby: (userId: UserId, lobbyRoomId: RoomId | null): void => void upsert({ userId, lobbyRoomId }),
    setSelectedAgent: (userId: UserId, agentId: AgentId | null): void => void upsert({ userId, selectedAgent: agentId }),
    all: (): UserRecord[] => allStmt.all().map(toRecord),
  };
}
