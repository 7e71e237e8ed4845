import { strings } from "../strings.js";
import { closeIfOrphaned, switchChatId } from "./contexts.js";
import { isChatRoom, spaceOf, type CommandDeps } from "./deps.js";
import type { RoomId } from "../ids.js";

type LifecycleDeps = Pick<CommandDeps, "chat" | "store" | "agents" | "logger" | "newChatId">;

/** After `!yes` to `!clear`: a fresh chat id for the room; the old one is closed. */
export async function clearRoom(deps: LifecycleDeps, roomId: RoomId, key: string): Promise<void> {
  const room = deps.store.rooms.get(roomId);
  if (!isChatRoom(room) || room.archived) return;
  const chatId = deps.newChatId();
  await switchChatId(deps, room, chatId);
  // "Always in this chat" ends with the conversation, bookmarked or not.
  deps.store.alwaysAllowed.forget(room.chatId, room.agentId);
  closeIfOrphaned(deps, room, "cleared");
  deps.logger.info({ room_id: roomId, chat_id: chatId, old_chat_id: room.chatId }, "room cleared");
  await deps.chat.sendNotice(roomId, strings.cleared(chatId), key);
}

/**
 * After `!yes` to `!archive`: out of the Space, binding marked archived,
 * cache marked archived (routing then answers with a notice), old chat closed.
 */
export async function archiveRoom(deps: LifecycleDeps, roomId: RoomId, key: string): Promise<void> {
  const room = deps.store.rooms.get(roomId);
  if (!isChatRoom(room) || room.archived) return;
  const spaceId = spaceOf(deps, room.owner);
  if (spaceId) await deps.chat.setSpaceChild(spaceId, roomId, false);
  const { owner, kind, agentId, chatId, index } = room;
  await deps.chat.writeBinding(roomId, { owner, kind, agentId, chatId, index, archived: true });
  deps.store.rooms.setArchived(roomId);
  closeIfOrphaned(deps, room, "archived");
  deps.logger.info({ room_id: roomId, chat_id: chatId }, "room archived");
  await deps.chat.sendNotice(roomId, strings.archived, key);
}
