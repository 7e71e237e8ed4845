import type { MatrixEvent } from "matrix-js-sdk";
import { asEventId, asRoomId, asUserId } from "../core/ids.js";
import type { IncomingEvent, IncomingFile } from "../core/incoming.js";
import { fileKeysOf } from "./attachment-crypto.js";

const FILE_TYPES = new Set(["m.file", "m.image", "m.audio", "m.video"]);

/**
 * A Matrix timeline event as a core event, or null when the core has no use
 * for it (state, edits, notices from other bots, redactions…). A decrypted
 * event reads as its clear type and content; one still `m.room.encrypted`
 * is one the bot could not decrypt.
 */
export function toIncoming(event: MatrixEvent): IncomingEvent | null {
  const roomId = event.getRoomId();
  const eventId = event.getId();
  const sender = event.getSender();
  if (!roomId || !eventId || !sender || event.isState() || event.isRedacted()) return null;
  const base = { roomId: asRoomId(roomId), eventId: asEventId(eventId), sender: asUserId(sender) };
  // A failed decryption shows as an "m.bad.encrypted" message in the SDK.
  if (event.isDecryptionFailure()) return { kind: "message", ...base, text: "", files: [], encrypted: true };

  switch (event.getType()) {
    case "m.room.encrypted":
      return { kind: "message", ...base, text: "", files: [], encrypted: true };
    case "m.reaction": {
      // In an encrypted reaction the relation is in the clear part (spec: the
      // encrypted payload's copy, if any, is ignored); getRelation reads it there.
      const rel = event.getRelation();
      if (rel?.rel_type !== "m.annotation" || !rel.event_id || typeof rel.key !== "string") return null;
      return { kind: "reaction", ...base, targetEventId: asEventId(rel.event_id), key: rel.key };
    }
    case "m.room.message":
      return messageOf(event, base);
    default:
      return null;
  }
}

/**
 * The core event for a message that stayed undecryptable, under its own
 * ledger id: the notice asking to resend is handled once, and the message
 * itself still gets through once (under its real id) if its key comes later.
 */
export function afterDecryption(event: MatrixEvent): IncomingEvent | null {
  const incoming = toIncoming(event);
  if (incoming?.kind !== "message" || !incoming.encrypted) return incoming;
  return { ...incoming, eventId: asEventId(`${incoming.eventId}#undecryptable`) };
}

function messageOf(event: MatrixEvent, base: Pick<IncomingEvent, "roomId" | "eventId" | "sender">): IncomingEvent | null {
  const content = event.getContent<Record<string, unknown>>();
  const relates = content["m.relates_to"] as { rel_type?: string } | undefined;
  if (relates?.rel_type === "m.replace") return null; // edits are not new turns
  const msgtype = content["msgtype"];
  const body = typeof content["body"] === "string" ? content["body"] : "";
  if (msgtype === "m.text" || msgtype === "m.emote") {
    return { kind: "message", ...base, text: body, files: [], encrypted: false };
  }
  if (typeof msgtype === "string" && FILE_TYPES.has(msgtype)) {
    const file = fileOf(content, body);
    if (!file) return null;
    // Matrix 1.10: `body` is a caption only when it differs from `filename`.
    const caption = typeof content["filename"] === "string" && content["filename"] !== body ? body : "";
    return { kind: "message", ...base, text: caption, files: [file], encrypted: false };
  }
  return null; // m.notice (bots must not answer it), m.location, polls…
}

function fileOf(content: Record<string, unknown>, body: string): IncomingFile | null {
  // An encrypted attachment names its media in `file` instead of `url`.
  const encrypted = fileKeysOf(content["file"]);
  const url = encrypted ? encrypted.url : content["url"];
  if (typeof url !== "string" || !url.startsWith("mxc://")) return null;
  const info = (content["info"] ?? {}) as { mimetype?: unknown; size?: unknown };
  const name = typeof content["filename"] === "string" ? content["filename"] : body || "file";
  return {
    source: url,
    name,
    ...(typeof info.mimetype === "string" ? { mime: info.mimetype } : {}),
    ...(typeof info.size === "number" ? { size: info.size } : {}),
    ...(encrypted ? { encryption: encrypted.keys } : {}),
  };
}
