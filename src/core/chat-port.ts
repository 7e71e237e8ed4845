import type { AgentId, ChatId, EventId, RoomId, UserId } from "./ids.js";
import type { Attachment, Block } from "./agent-port.js";
import type { IncomingFile } from "./incoming.js";
import type { ToolTrail } from "./trail.js";

/** What the bot writes into every room it creates (`org.surfaces.room`). */
export interface RoomBinding {
  owner: UserId;
  kind: "space" | "chat";
  agentId: AgentId | null;
  chatId: ChatId | null;
  index: number;
  archived: boolean;
}

/**
 * A visible answer to one turn, streamed. Implementations pace edits, split
 * long answers and retry; callers just append. Methods never throw: a reply
 * that cannot be delivered is logged by the adapter.
 */
export interface ReplyStream {
  /** Adds Markdown to the answer. */
  appendText(delta: string): void;
  /** Shows a short status line (tool call, progress) while the turn runs. */
  setStatus(line: string | null): void;
  /** Adds structured content rendered natively. */
  appendBlock(block: Block): void;
  /** Ends the answer; the final edit holds exactly the whole answer. */
  finish(outcome: { stopped?: boolean }): Promise<void>;
  /** The id of the first event of the answer, once sent (for ⏹ reactions). */
  firstEventId(): EventId | null;
  /**
   * Optional: the turn's tool trail, which `finish` shows (collapsed) under
   * the final answer. A stream without it shows no trail.
   */
  showTrail?(trail: ToolTrail): void;
}

/**
 * The core's view of the chat network. Implemented by `src/matrix/`.
 * Sends carry a caller-chosen idempotency `key` (unique per turn and
 * position) so a retry never posts twice.
 */
export interface ChatPort {
  /** Posts a short notice (m.notice). Retries transient failures; may reject after giving up. */
  sendNotice(roomId: RoomId, text: string, key: string): Promise<EventId>;
  /** Posts Markdown as a normal message. Same retry contract as sendNotice. */
  sendText(roomId: RoomId, markdown: string, key: string): Promise<EventId>;
  /** Opens a streamed answer; `key` prefixes every event's transaction id. */
  openReply(roomId: RoomId, key: string): ReplyStream;
  /** Typing indicator; the adapter refreshes it until turned off. Never throws. */
  setTyping(roomId: RoomId, on: boolean): void;
  /** Joins, says `text`, leaves. Used to turn away strangers. May reject. */
  refuseInvite(roomId: RoomId, text: string): Promise<void>;
  /** Declines an invite without joining (the room's content never reaches the bot). May reject. */
  rejectInvite(roomId: RoomId): Promise<void>;
  /** Joins a room the bot was invited to. May reject. */
  acceptInvite(roomId: RoomId): Promise<void>;
  /** Creates the user's Space (invites the user). May reject; never retried blindly. */
  createSpace(owner: UserId, name: string): Promise<RoomId>;
  /** Creates a chat room inside `spaceId`, bound by `binding`, and invites the owner. */
  createChatRoom(spaceId: RoomId, name: string, binding: RoomBinding): Promise<RoomId>;
  /** Rewrites a room's `org.surfaces.room` state. */
  writeBinding(roomId: RoomId, binding: RoomBinding): Promise<void>;
  /** Invites a user (ignores "already in the room"). */
  invite(roomId: RoomId, user: UserId): Promise<void>;
  /** Sets the room's display name. May reject. */
  rename(roomId: RoomId, name: string): Promise<void>;
  /** Lists a room in a Space, or takes it out (`present: false`). May reject. */
  setSpaceChild(spaceId: RoomId, roomId: RoomId, present: boolean): Promise<void>;
  /** A link that opens the room in the user's client. */
  roomLink(roomId: RoomId): string;
  /**
   * Reacts to `eventId` with `emoji` (an `m.annotation`); `key` makes a retry
   * post once. Resolves to the reaction's id, or null when it could not be
   * sent (logged). Never throws: it only decorates.
   */
  react(roomId: RoomId, eventId: EventId, emoji: string, key: string): Promise<EventId | null>;
  /** Removes (redacts) an event the bot sent, such as a reaction. Never throws (logged). */
  redact(roomId: RoomId, eventId: EventId, key: string): Promise<void>;
  /** Moves the bot's read receipt (`m.read`) to `eventId`. Never throws (logged). */
  markRead(roomId: RoomId, eventId: EventId): Promise<void>;
}

/** Optional capability: read a room's binding back from the homeserver (targeted recovery). */
export interface BindingReader {
  /** The room's `org.surfaces.room` content, or null when it has none or the bot cannot read it. Never throws. */
  readBinding(roomId: RoomId): Promise<RoomBinding | null>;
}

/** A file the agent asked to send, as the agent described it. */
export interface OutgoingFile {
  path: string;
  name?: string;
  mime?: string;
  caption?: string;
}

/** Why a file could not be taken in or sent; each has its own notice in strings.ts. */
export type FileRefusal =
  | { reason: "too_large"; limitBytes: number }
  // Inbound only: the user's quota (SURFACES_USER_QUOTA_BYTES) or the free-space floor (SURFACES_MIN_FREE_BYTES).
  | { reason: "quota"; limitBytes: number }
  | { reason: "disk_full" }
  | { reason: "outside" | "too_long" | "invalid" | "missing" | "directory" | "not_file" | "empty" | "failed" };

/**
 * Optional capability: moving files between the chat network and an agent's
 * workspace. Implemented by `src/matrix/media-port.ts` over `src/files/`; the
 * core never sees a path on disk or a media URL. Methods never throw: every
 * failure is a refusal (already logged).
 */
export interface MediaPort {
  /**
   * Copies the user's files into the agent's inbox for `chatId`, all or none,
   * counted against `userId`'s quota. Media already written for this chat is
   * not copied again: the attachment names the file already there.
   */
  fetchToWorkspace(
    agentId: AgentId,
    chatId: ChatId,
    files: readonly IncomingFile[],
    userId: UserId,
  ): Promise<{ ok: true; attachments: Attachment[] } | ({ ok: false; name: string } & FileRefusal)>;
  /** Uploads a workspace file and posts it in the room. */
  sendFile(roomId: RoomId, agentId: AgentId, file: OutgoingFile, key: string): Promise<{ ok: true; eventId: EventId } | ({ ok: false } & FileRefusal)>;
}
