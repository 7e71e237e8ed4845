import { asAgentId } from "../ids.js";
import { spaceNameFor } from "../onboarding.js";
import { strings } from "../strings.js";
import { isChatRoom, selectedAgentOf, type CommandContext, type CommandDeps } from "./deps.js";
import { escapeMarkdown } from "./sanitize.js";

/** `!agent [id]` (anywhere): lists the user's agents, or picks the one for new rooms. */
export async function agentCommand(deps: CommandDeps, ctx: CommandContext): Promise<void> {
  const user = ctx.event.sender;
  const allowed = deps.agentsFor(user);
  const wanted = ctx.args.split(/\s+/u)[0] ?? "";
  if (wanted) {
    const id = asAgentId(wanted);
    // Shown back only if it is a real id of the user's; typed text is not echoed raw.
    if (!allowed.includes(id)) return void (await ctx.reply(strings.agentNotYours(wanted.replace(/[^\w.:@-]/gu, "").slice(0, 64))));
    deps.store.users.setSelectedAgent(user, id);
    deps.logger.info({ user, agent_id: id }, "agent selected for new rooms");
    return void (await ctx.reply(strings.agentSelected(id)));
  }
  const selected = selectedAgentOf(deps, user);
  const lines: string[] = [strings.agentsHeader];
  for (const id of allowed) {
    const status = strings.agentStatus[deps.agents.status(id)] ?? deps.agents.status(id);
    lines.push(strings.agentLine(id, id === selected, status));
  }
  lines.push("", strings.agentHint);
  await ctx.reply(lines.join("\n"));
}

/** `!settings` (anywhere): a read-only dashboard. */
export async function settings(deps: CommandDeps, ctx: CommandContext): Promise<void> {
  const user = ctx.event.sender;
  const rooms = deps.store.rooms.byOwner(user, { includeArchived: true }).filter(isChatRoom);
  const space = deps.store.users.get(user)?.spaceId ?? deps.store.rooms.spaceOf(user)?.roomId;
  await ctx.reply(
    strings.settings({
      user,
      agent: selectedAgentOf(deps, user) ?? "—",
      agents: deps.agentsFor(user).length,
      // Linked by its name, as `!chats` does; the id means nothing to a person.
      space: space ? `[${escapeMarkdown(deps.store.rooms.get(space)?.name ?? spaceNameFor(user))}](${deps.chat.roomLink(space)})` : "—",
      chats: rooms.filter((r) => !r.archived).length,
      archived: rooms.filter((r) => r.archived).length,
      ...deps.limits,
    }),
  );
}
