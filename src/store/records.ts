/**
 * Row types of the store, with branded ids. Times are epoch milliseconds.
 * These are structurally compatible with the core's port (src/core/core-store.ts).
 */
import type { AgentId, ChatId, EventId, RoomId, TurnId, UserId } from "../core/ids.js";

export interface UserRecord {
  userId: UserId;
  spaceId: RoomId | null;
  lobbyRoomId: RoomId | null;
  selectedAgent: AgentId | null;
  createdAt: number;
}
/** For upsert: fields left undefined keep their stored value; null clears. */
export type UserUpsert = Pick<UserRecord, "userId"> & Partial<Omit<UserRecord, "userId">>;

export type RoomKind = "space" | "chat";

export interface RoomRecord {
  roomId: RoomId;
  owner: UserId;
  kind: RoomKind;
  /** null for spaces. */
  agentId: AgentId | null;
  /** null for spaces. */
  chatId: ChatId | null;
  name: string | null;
  /** Position in the user's Space: 0 for the Space itself, 1, 2, … for chats. */
  index: number;
  archived: boolean;
  createdAt: number;
}
/** For upsert: createdAt defaults to now on insert and is kept on update. */
export type RoomUpsert = Omit<RoomRecord, "createdAt"> & { createdAt?: number };

export interface SavedContextRecord {
  owner: UserId;
  name: string;
  chatId: ChatId;
  agentId: AgentId;
  savedAt: number;
}

export type PendingKind = "clear" | "archive" | "confirm";

export interface PendingRecord {
  roomId: RoomId;
  kind: PendingKind;
  /** The agent turn waiting on a `confirm`; null for clear/archive. */
  turnId: TurnId | null;
  confirmId: string | null;
  agentId: AgentId | null;
  /** The bot's prompt message, so ✅/❌ reactions on it can be matched. */
  promptEventId: EventId | null;
  expiresAt: number;
}

export type InboxStatus = "pending" | "forwarded" | "done" | "ignored";

/** What the Matrix adapter records when an event arrives. */
export interface InboxEvent {
  eventId: EventId;
  roomId: RoomId;
  sender: UserId;
  /** The event content; stored as JSON. */
  content: unknown;
  originTs: number;
}

export interface InboxRecord extends InboxEvent {
  receivedAt: number;
  status: InboxStatus;
  turnId: TurnId | null;
}

