import type { Logger } from "pino";
import type { ChatPort } from "./chat-port.js";
import type { AgentId, ChatId, RoomId, UserId } from "./ids.js";
import { strings } from "./strings.js";
import type { CoreStore } from "./core-store.js";

export interface OnboardingDeps {
  chat: ChatPort;
  store: CoreStore;
  logger: Logger;
  newChatId: () => ChatId;
  /** The agents a user may use, default first; empty for strangers. */
  agentsFor(user: UserId): AgentId[];
}

export const spaceNameFor = (user: UserId): string => `Surfaces · ${user.slice(1).split(":")[0] ?? user}`;

/**
 * A known user's invite: join, and give them a Space with a first chat room —
 * once. Callers serialise per user so two quick invites cannot race.
 */
export async function welcomeUser(deps: OnboardingDeps, user: UserId, inviteRoom: RoomId): Promise<void> {
  const { chat, store } = deps;
  const log = deps.logger.child({ user, room_id: inviteRoom });
  await chat.acceptInvite(inviteRoom);

  const existing = store.users.get(user);
  const existingSpace = existing?.spaceId ?? store.rooms.spaceOf(user)?.roomId ?? null;
  if (existingSpace) {
    log.info({ space_id: existingSpace }, "known user invited again; no new space");
    store.users.upsert({ userId: user, spaceId: existingSpace, lobbyRoomId: inviteRoom, selectedAgent: existing?.selectedAgent ?? null });
    await chat.invite(existingSpace, user);
    await chat.sendText(inviteRoom, strings.alreadyHaveSpace(spaceNameFor(user)), `invite.${inviteRoom}.again.${Date.now()}`);
    return;
  }

  const agentId = deps.agentsFor(user)[0];
  if (!agentId) throw new Error(`user ${user} has no agent`);
  const spaceName = spaceNameFor(user);
  const spaceId = await chat.createSpace(user, spaceName);
  store.transaction(() => {
    store.users.upsert({ userId: user, spaceId, lobbyRoomId: inviteRoom, selectedAgent: agentId });
    store.rooms.upsert({ roomId: spaceId, owner: user, kind: "space", agentId: null, chatId: null, name: spaceName, index: 0, archived: false });
  });
  log.info({ space_id: spaceId }, "space created");

  const chatRoom = await createChat(deps, user, spaceId, agentId, null);
  await chat.sendText(chatRoom, strings.firstChatGreeting(agentId), `room.${chatRoom}.greeting`);
  if (inviteRoom !== spaceId) await chat.sendText(inviteRoom, strings.welcome(spaceName), `invite.${inviteRoom}.welcome`);
}

/** Creates one chat room in the user's Space and records it. */
export async function createChat(
  deps: Pick<OnboardingDeps, "chat" | "store" | "logger" | "newChatId">,
  user: UserId,
  spaceId: RoomId,
  agentId: AgentId,
  name: string | null,
): Promise<RoomId> {
  const index = deps.store.rooms.nextIndex(user);
  const chatId = deps.newChatId();
  const roomName = name ?? `Chat ${index}`;
  const binding = { owner: user, kind: "chat" as const, agentId, chatId, index, archived: false };
  const roomId = await deps.chat.createChatRoom(spaceId, roomName, binding);
  deps.store.rooms.upsert({ roomId, owner: user, kind: "chat", agentId, chatId, name: roomName, index, archived: false });
  deps.logger.info({ room_id: roomId, agent_id: agentId, chat_id: chatId, user }, "chat room created");
  return roomId;
}
