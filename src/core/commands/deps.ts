import type { Logger } from "pino";
import type { AgentPort } from "../agent-port.js";
import type { ChatPort } from "../chat-port.js";
import type { CoreStore, RoomRecord } from "../core-store.js";
import type { AgentId, ChatId, RoomId, UserId } from "../ids.js";
import type { IncomingEvent } from "../incoming.js";
import type { TurnRunner } from "../turn-runner.js";

/** Limits shown by `!settings` (read-only). */
export interface Limits {
  editIntervalMs: number;
  idleTimeoutMs: number;
  confirmTimeoutMs: number;
}

export interface CommandDeps {
  chat: ChatPort;
  agents: AgentPort;
  store: CoreStore;
  logger: Logger;
  turns: TurnRunner;
  newChatId: () => ChatId;
  /** The agents a user may use, registry default first; empty for strangers. */
  agentsFor(user: UserId): AgentId[];
  limits: Limits;
  now?: () => number;
}

export type MessageEvent = Extract<IncomingEvent, { kind: "message" }>;
export type ReactionEvent = Extract<IncomingEvent, { kind: "reaction" }>;

/** One command invocation: who, where, and how to answer. */
export interface CommandContext {
  event: MessageEvent;
  args: string;
  /** The room's record; undefined in rooms the bot did not create (a lobby). */
  room: RoomRecord | undefined;
  /** Answers with a notice, keyed on the command's event (a retry never posts twice). */
  reply(text: string): Promise<unknown>;
}

/** A chat room of the sender, bound to an agent and a chat id. */
export type ChatRoom = RoomRecord & { kind: "chat"; agentId: AgentId; chatId: ChatId };

export const isChatRoom = (room: RoomRecord | undefined): room is ChatRoom =>
  room?.kind === "chat" && room.agentId !== null && room.chatId !== null;

/** The agent new rooms get: the user's pick while the registry still allows it, else the default. */
export function selectedAgentOf(deps: Pick<CommandDeps, "store" | "agentsFor">, user: UserId): AgentId | undefined {
  const allowed = deps.agentsFor(user);
  const picked = deps.store.users.get(user)?.selectedAgent;
  return picked && allowed.includes(picked) ? picked : allowed[0];
}

/** The user's Space, from the user record or, failing that, the rooms table. */
export function spaceOf(deps: Pick<CommandDeps, "store">, user: UserId): RoomId | undefined {
  return deps.store.users.get(user)?.spaceId ?? deps.store.rooms.spaceOf(user)?.roomId;
}
