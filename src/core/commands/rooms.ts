import { createChat } from "../onboarding.js";
import { strings } from "../strings.js";
import { isChatRoom, selectedAgentOf, spaceOf, type CommandContext, type CommandDeps } from "./deps.js";
import { cleanName, escapeMarkdown, MAX_ROOM_NAME } from "./sanitize.js";

/** `!new [name]` (anywhere): a chat room in the user's Space with the selected agent. */
export async function newChat(deps: CommandDeps, ctx: CommandContext): Promise<void> {
  const user = ctx.event.sender;
  const spaceId = spaceOf(deps, user);
  if (!spaceId) return void (await ctx.reply(strings.noSpaceYet));
  const agentId = selectedAgentOf(deps, user);
  if (!agentId) return void (await ctx.reply(strings.noAgent));
  const name = cleanName(ctx.args, MAX_ROOM_NAME) || null;

  const roomId = await createChat(deps, user, spaceId, agentId, name);
  const shownName = deps.store.rooms.get(roomId)?.name ?? name ?? roomId;
  // The user may have left the Space; inviting again is harmless if not.
  await deps.chat.invite(spaceId, user);
  await deps.chat.sendText(roomId, strings.firstChatGreeting(agentId), `room.${roomId}.greeting`);
  if (roomId !== ctx.event.roomId) {
    await ctx.reply(strings.newChatCreated(escapeMarkdown(shownName), deps.chat.roomLink(roomId), agentId));
  }
}

/** `!rename <name>`: the room's display name, cleaned of invisible and control characters. */
export async function rename(deps: CommandDeps, ctx: CommandContext): Promise<void> {
  if (!ctx.room) return void (await ctx.reply(strings.chatRoomOnly("rename")));
  const name = cleanName(ctx.args, MAX_ROOM_NAME);
  if (!name) return void (await ctx.reply(strings.usage("!rename <name>")));
  await deps.chat.rename(ctx.room.roomId, name);
  deps.store.rooms.rename(ctx.room.roomId, name);
  deps.logger.info({ room_id: ctx.room.roomId }, "room renamed");
  await ctx.reply(strings.renamed(escapeMarkdown(name)));
}

/** `!chats` (anywhere): the user's active chat rooms. */
export async function listChats(deps: CommandDeps, ctx: CommandContext): Promise<void> {
  const chats = deps.store.rooms.byOwner(ctx.event.sender).filter((r) => isChatRoom(r) && !r.archived);
  const lines = [strings.chatsHeader(chats.length)];
  for (const r of chats) {
    const name = escapeMarkdown(r.name ?? `Chat ${r.index}`);
    lines.push(strings.chatsLine(name, deps.chat.roomLink(r.roomId), r.agentId ?? "?", r.roomId === ctx.event.roomId));
  }
  await ctx.reply(lines.join("\n"));
}
