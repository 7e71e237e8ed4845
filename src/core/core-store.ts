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

export interface SavedContext {
  owner: UserId;
  name: string;
  chatId: ChatId;
  agentId: AgentId;
  savedAt: number;
}

/** A question waiting for the owner's `!yes` / `!no` (at most one per room). */
export interface PendingQuestion {
  roomId: RoomId;
  kind: "clear" | "archive" | "confirm";
  turnId: TurnId | null;
  confirmId: string | null;
  agentId: AgentId | null;
  promptEventId: EventId | null;
  expiresAt: number;
}

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
  savedContexts: {
    save(ctx: Omit<SavedContext, "savedAt"> & { savedAt?: number }): void;
    get(owner: UserId, name: string): SavedContext | undefined;
    list(owner: UserId): SavedContext[];
  };
  pending: {
    set(p: PendingQuestion): void;
    /** Passing `now` hides questions that expired at or before it. */
    get(roomId: RoomId, now?: number): PendingQuestion | undefined;
    /** Deletes the room's question and returns it if still live at `now`. */
    take(roomId: RoomId, now?: number): PendingQuestion | undefined;
    delete(roomId: RoomId): boolean;
    byPromptEvent(eventId: EventId, now?: number): PendingQuestion | undefined;
    all(): PendingQuestion[];
  };
  /** Agent prompts approved "always in this chat" (`!always` / ♾️), per conversation and agent. */
  alwaysAllowed: {
    allow(chatId: ChatId, agentId: AgentId, prompt: string, now?: number): void;
    has(chatId: ChatId, agentId: AgentId, prompt: string): boolean;
    /** Oldest first. */
    list(chatId: ChatId, agentId: AgentId): string[];
    forget(chatId: ChatId, agentId: AgentId): number;
  };
  /** The ⏳ reaction on a message waiting behind a running turn (removed when its turn starts, restarts included). */
  waitMarks: {
    set(eventId: EventId, roomId: RoomId, reactionId: EventId): void;
    take(eventId: EventId): { roomId: RoomId; reactionId: EventId } | undefined;
  };
  inbox: {
    setStatus(eventId: EventId, status: InboxStatus, turnId?: TurnId): void;
  };
}
