/** A ChatPort that records what the core would post, for fault and fuzz tests. */
import type { Block } from "../../src/core/agent-port.js";
import type { ChatPort, ReplyStream } from "../../src/core/chat-port.js";
import { asEventId, type EventId, type RoomId } from "../../src/core/ids.js";

export interface RecordedReply {
  roomId: RoomId;
  key: string;
  text: string;
  blocks: Block[];
  /** How many times finish() was called (must end up exactly 1 for a delivered turn). */
  finished: number;
  stopped: boolean;
}

export interface RecordingChat extends ChatPort {
  notices: Array<{ roomId: RoomId; text: string; key: string }>;
  texts: Array<{ roomId: RoomId; text: string; key: string }>;
  replies: RecordedReply[];
  typing: boolean[];
  reactions: Array<{ roomId: RoomId; eventId: EventId; emoji: string; key: string; reactionId: EventId }>;
  redactions: Array<{ roomId: RoomId; eventId: EventId; key: string }>;
  reads: Array<{ roomId: RoomId; eventId: EventId }>;
}

export function recordingChat(): RecordingChat {
  let n = 0;
  const unused = (name: string) => (): never => {
    throw new Error(`${name} is not expected in this test`);
  };
  const chat: RecordingChat = {
    notices: [],
    texts: [],
    replies: [],
    typing: [],
    reactions: [],
    redactions: [],
    reads: [],
    async sendNotice(roomId, text, key) {
      chat.notices.push({ roomId, text, key });
      return asEventId(`$n${++n}`);
    },
    async sendText(roomId, text, key) {
      chat.texts.push({ roomId, text, key });
      return asEventId(`$t${++n}`);
    },
    openReply(roomId, key): ReplyStream {
      const rec: RecordedReply = { roomId, key, text: "", blocks: [], finished: 0, stopped: false };
      chat.replies.push(rec);
      let first: EventId | null = null;
      return {
        appendText(delta) {
          if (rec.finished) throw new Error("text appended after finish");
          rec.text += delta;
          first ??= asEventId(`$r${++n}`);
        },
        setStatus() {},
        appendBlock(block) {
          rec.blocks.push(block);
        },
        async finish(outcome) {
          rec.finished++;
          rec.stopped = outcome.stopped ?? false;
        },
        firstEventId: () => first,
      };
    },
    setTyping(_roomId, on) {
      chat.typing.push(on);
    },
    refuseInvite: unused("refuseInvite"),
    rejectInvite: unused("rejectInvite"),
    acceptInvite: unused("acceptInvite"),
    createSpace: unused("createSpace"),
    createChatRoom: unused("createChatRoom"),
    writeBinding: unused("writeBinding"),
    invite: unused("invite"),
    rename: unused("rename"),
    setSpaceChild: unused("setSpaceChild"),
    roomLink: (roomId) => `https://matrix.to/#/${roomId}`,
    async react(roomId, eventId, emoji, key) {
      const reactionId = asEventId(`$x${++n}`);
      chat.reactions.push({ roomId, eventId, emoji, key, reactionId });
      return reactionId;
    },
    async redact(roomId, eventId, key) {
      chat.redactions.push({ roomId, eventId, key });
    },
    async markRead(roomId, eventId) {
      chat.reads.push({ roomId, eventId });
    },
  };
  return chat;
}
