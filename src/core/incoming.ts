import type { Attachment } from "./agent-port.js";
import type { EventId, RoomId, UserId } from "./ids.js";

/** A file the user sent, not yet copied into an agent's workspace. */
export interface IncomingFile {
  /** Adapter-specific handle the media port can fetch (an mxc:// URI for Matrix). */
  source: string;
  name: string;
  mime?: string;
  size?: number;
  /** Set for an end-to-end encrypted attachment: AES-256-CTR key and IV, SHA-256 of the ciphertext (base64). */
  encryption?: { key: string; iv: string; sha256: string };
}

/** Platform-neutral events the chat adapter hands to the core. */
export type IncomingEvent =
  | {
      kind: "message";
      roomId: RoomId;
      eventId: EventId;
      sender: UserId;
      senderName?: string;
      text: string;
      files: IncomingFile[];
      /** True when the message stayed encrypted: its keys never reached the bot. */
      encrypted: boolean;
    }
  | { kind: "invite"; roomId: RoomId; eventId: EventId; sender: UserId }
  | {
      kind: "reaction";
      roomId: RoomId;
      eventId: EventId;
      sender: UserId;
      targetEventId: EventId;
      key: string;
    };

export type { Attachment };
