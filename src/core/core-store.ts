import type { AgentId, ChatId, EventId, RoomId, TurnId, UserId } from "./ids.js";

export interface UserRecord {
  userId: UserId;
  spaceId: RoomId | null;
  lobbyRoomId: RoomId | null;
  selectedAgent: AgentId | null;
}

export interface RoomRecord {
  roomId: RoomId;
  owner: UserId;
  kind: "space" | "chat";
  agentId: AgentId | null;
  chatId: ChatId | null;
  name: string | null;
  index: number;
  archived: boolean;
}

export type InboxStatus = "pending" | "forwarded" | "done" | "ignored";

/**
 * The part of the store the core uses (implemented by `src/store/`).
 * All methods are synchronous and may throw only on a broken database.
 */
export interface CoreStore {
  transaction<T>(fn: () => T): T;
  users: {
    get(userId: UserId): UserRecord | undefined;
    upsert(record: UserRecord): void;
    setSelectedAgent(userId: UserId, agentId: AgentId): void;
  };
  rooms: {
    get(roomId: RoomId): RoomRecord | undefined;
    upsert(record: RoomRecord): void;
    byOwner(owner: UserId, opts?: { includeArchived?: boolean }): RoomRecord[];
    byChatId(chatId: ChatId): RoomRecord | undefined;
    spaceOf(owner: UserId): RoomRecord | undefined;
    nextIndex(owner: UserId): number;
    setChatId(roomId: RoomId, chatId: ChatId): void;
    setArchived(roomId: RoomId): void;
    rename(roomId: RoomId, name: string): void;
  };
  inbox: {
    setStatus(eventId: EventId, status: InboxStatus, turnId?: TurnId): void;
  };
}
