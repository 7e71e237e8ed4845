/**
 * The core's side of files: turning the media port's outcomes into what the
 * agent is told and what the user sees. Paths and media stay behind the port.
 */
import type { Logger } from "pino";
import type { Attachment } from "./agent-port.js";
import type { ChatPort, FileRefusal, MediaPort, OutgoingFile } from "./chat-port.js";
import type { AgentId, ChatId, RoomId, UserId } from "./ids.js";
import type { IncomingFile } from "./incoming.js";
import { strings } from "./strings.js";

/**
 * Fetches a message's files into the agent's workspace. Returns the text and
 * attachments to forward, or null when the user was told why not.
 */
export async function prepareFiles(
  media: MediaPort | undefined,
  chat: ChatPort,
  input: { roomId: RoomId; agentId: AgentId; chatId: ChatId; userId: UserId; text: string; files: readonly IncomingFile[]; key: string },
  log: Logger,
): Promise<{ text: string; attachments: Attachment[] } | null> {
  if (input.files.length === 0) return { text: input.text, attachments: [] };
  const text = input.text.trim() === "" ? strings.userSentFiles(input.files.map((f) => f.name)) : input.text;
  if (!media) {
    log.warn("message has files but no media port is wired; forwarding the text only");
    return { text, attachments: [] };
  }
  const result = await media.fetchToWorkspace(input.agentId, input.chatId, input.files, input.userId);
  if (result.ok) return { text, attachments: result.attachments };
  await chat.sendNotice(input.roomId, inboundRefusalNotice(result.name, result), `${input.key}.file-refused`);
  return null;
}

function inboundRefusalNotice(name: string, r: FileRefusal): string {
  switch (r.reason) {
    case "too_large":
      return strings.fileTooLargeIn(shown(name), r.limitBytes);
    case "quota":
      return strings.fileQuotaExceeded(shown(name), r.limitBytes);
    case "disk_full":
      return strings.fileDiskFull(shown(name));
    default:
      return strings.fileFetchFailed(shown(name));
  }
}

/** Sends one agent file; a refusal becomes a notice. Never throws. */
export async function sendAgentFile(
  media: MediaPort | undefined,
  chat: ChatPort,
  input: { roomId: RoomId; agentId: AgentId; file: OutgoingFile; key: string },
  log: Logger,
): Promise<void> {
  try {
    if (!media) {
      log.warn({ path: input.file.path }, "file frame but no media port is wired; dropped");
      return;
    }
    const result = await media.sendFile(input.roomId, input.agentId, input.file, input.key);
    if (result.ok) return;
    await chat.sendNotice(input.roomId, refusalNotice(input.file.path, result), `${input.key}.refused`);
  } catch (err) {
    log.error({ err }, "could not send the agent's file or its notice");
  }
}

export function refusalNotice(rawPath: string, r: FileRefusal): string {
  const p = shown(rawPath);
  switch (r.reason) {
    case "too_large":
      return strings.fileTooLargeOut(p, r.limitBytes);
    case "outside":
      return strings.fileOutside(p);
    case "too_long":
      return strings.filePathTooLong;
    case "invalid":
      return strings.fileInvalidPath;
    case "missing":
      return strings.fileMissing(p);
    case "directory":
      return strings.fileIsDirectory(p);
    case "not_file":
      return strings.fileNotRegular(p);
    case "empty":
      return strings.fileEmpty(p);
    case "failed":
    case "quota": // inbound only; never from sendFile
    case "disk_full":
      return strings.fileSendFailed(p);
  }
}

/** A name or path as it may appear inside a notice: no backticks or controls, not too long. */
export function shown(s: string): string {
  const clean = s.replace(/[`\p{Cc}]/gu, "");
  return clean.length > 120 ? `${clean.slice(0, 60)}…${clean.slice(-59)}` : clean;
}
