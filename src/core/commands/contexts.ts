import type { ChatId } from "../ids.js";
import { strings } from "../strings.js";
import { isChatRoom, type ChatRoom, type CommandContext, type CommandDeps } from "./deps.js";
import { cleanName, escapeMarkdown, MAX_SAVED_NAME } from "./sanitize.js";

/** `!context`: this room's agent and chat id, what is always allowed here, and the user's saved contexts. */
export async function showContext(deps: CommandDeps, ctx: CommandContext): Promise<void> {
  const room = ctx.room;
  if (!isChatRoom(room)) return void (await ctx.reply(strings.chatRoomOnly("context")));
  const saved = deps.store.savedContexts.list(ctx.event.sender);
  const allowed = deps.store.alwaysAllowed.list(room.chatId, room.agentId);
  const lines = [strings.contextInfo(room.agentId, room.chatId), "", strings.alwaysHeader(allowed.length)];
  for (const prompt of allowed) lines.push(strings.alwaysLine(prompt));
  lines.push("", strings.savedHeader(saved.length));
  for (const s of saved) lines.push(strings.savedLine(escapeMarkdown(s.name), s.agentId, s.chatId));
  await ctx.reply(lines.join("\n"));
}

/** `!save <name>`: bookmarks this room's context (same name overwrites). */
export async function saveContext(deps: CommandDeps, ctx: CommandContext): Promise<void> {
  const room = ctx.room;
  if (!isChatRoom(room)) return void (await ctx.reply(strings.chatRoomOnly("save")));
  const name = cleanName(ctx.args, MAX_SAVED_NAME);
  if (!name) return void (await ctx.reply(strings.usage("!save <name>")));
  deps.store.savedContexts.save({ owner: ctx.event.sender, name, chatId: room.chatId, agentId: room.agentId });
  await ctx.reply(strings.saved(escapeMarkdown(name)));
}

/** `!load <name>`: points this room at a bookmarked context of the same agent. */
export async function loadContext(deps: CommandDeps, ctx: CommandContext): Promise<void> {
  const room = ctx.room;
  if (!isChatRoom(room)) return void (await ctx.reply(strings.chatRoomOnly("load")));
  if (room.archived) return void (await ctx.reply(strings.roomIsArchived("load")));
  const name = cleanName(ctx.args, MAX_SAVED_NAME);
  if (!name) return void (await ctx.reply(strings.usage("!load <name>")));
  const saved = deps.store.savedContexts.get(ctx.event.sender, name);
  const shown = escapeMarkdown(name);
  if (!saved) return void (await ctx.reply(strings.noSuchSaved(shown)));
  if (saved.agentId !== room.agentId) {
    return void (await ctx.reply(strings.savedOtherAgent(shown, saved.agentId, room.agentId)));
  }
  if (saved.chatId === room.chatId) return void (await ctx.reply(strings.alreadyLoaded(shown)));

  await switchChatId(deps, room, saved.chatId);
  closeIfOrphaned(deps, room, "cleared");
  deps.logger.info({ room_id: room.roomId, chat_id: saved.chatId, old_chat_id: room.chatId }, "saved context loaded");
  await ctx.reply(strings.loaded(shown, saved.chatId));
}

/** Rebinds a room to another chat id: room state first (the durable truth), then the cache. */
export async function switchChatId(deps: CommandDeps | Pick<CommandDeps, "chat" | "store">, room: ChatRoom, chatId: ChatId): Promise<void> {
  const { owner, kind, agentId, index, archived } = room;
  await deps.chat.writeBinding(room.roomId, { owner, kind, agentId, chatId, index, archived });
  deps.store.rooms.setChatId(room.roomId, chatId);
}

/**
 * Tells the agent a chat id will not be used again — unless a bookmark or
 * another room still refers to it, in which case it must stay alive.
 * `room` is the record from before the switch.
 */
export function closeIfOrphaned(
  deps: Pick<CommandDeps, "agents" | "store" | "logger">,
  room: ChatRoom,
  reason: "cleared" | "archived",
): boolean {
  const bookmarked = deps.store.savedContexts.list(room.owner).some((s) => s.chatId === room.chatId && s.agentId === room.agentId);
  const holder = deps.store.rooms.byChatId(room.chatId);
  const heldElsewhere = holder !== undefined && holder.roomId !== room.roomId && !holder.archived;
  if (bookmarked || heldElsewhere) {
    deps.logger.info({ chat_id: room.chatId, bookmarked, held_elsewhere: heldElsewhere }, "chat id still referenced; not closed");
    return false;
  }
  deps.agents.chatClosed(room.agentId, room.chatId, reason);
  return true;
}
