import type { RoomRecord } from "../core-store.js";
import { isStopReaction, type Confirmations } from "../confirmations.js";
import { strings } from "../strings.js";
import { agentCommand, settings } from "./agents.js";
import { loadContext, saveContext, showContext } from "./contexts.js";
import { isChatRoom, type CommandContext, type CommandDeps, type MessageEvent, type ReactionEvent } from "./deps.js";
import { helpText } from "./help.js";
import type { ParsedCommand } from "./parse.js";
import { listChats, newChat, rename } from "./rooms.js";

export type { CommandDeps } from "./deps.js";

type Command = (deps: CommandDeps, ctx: CommandContext) => Promise<void>;

/**
 * Runs `!commands` for the room's owner (routing has already checked who
 * sent them) and the owner's reactions.
 */
export class CommandHandler {
  private readonly table: Record<string, Command>;

  constructor(
    private readonly deps: CommandDeps,
    private readonly confirmations: Confirmations,
  ) {
    const ask = (kind: "clear" | "archive", name: string): Command => (_d, ctx) => this.askRoomChange(kind, name, ctx);
    const answer = (approved: boolean): Command => (_d, ctx) =>
      this.confirmations.answer(ctx.event.roomId, approved, `cmd.${ctx.event.eventId}`);
    this.table = {
      help: (_d, ctx) => ctx.reply(helpText).then(() => undefined),
      new: newChat,
      rename,
      chats: listChats,
      context: showContext,
      save: saveContext,
      load: loadContext,
      agent: agentCommand,
      agents: agentCommand,
      settings,
      clear: ask("clear", "clear"),
      reset: ask("clear", "reset"),
      archive: ask("archive", "archive"),
      yes: answer(true),
      no: answer(false),
      always: (_d, ctx) => this.confirmations.answer(ctx.event.roomId, true, `cmd.${ctx.event.eventId}`, true),
      stop: async (d, ctx) => {
        const outcome = d.turns.stop(ctx.event.roomId);
        if (outcome === "nothing") await ctx.reply(strings.nothingRunning);
        else if (outcome === "cancelled") await ctx.reply(strings.stoppedBeforeStart);
      },
    };
  }

  async run(command: ParsedCommand, event: MessageEvent, room: RoomRecord | undefined): Promise<void> {
    const key = `cmd.${event.eventId}`;
    const ctx: CommandContext = {
      event,
      args: command.args,
      room,
      reply: (text) => this.deps.chat.sendNotice(event.roomId, text, key),
    };
    const handler = Object.hasOwn(this.table, command.name) ? this.table[command.name] : undefined;
    if (!handler) return void (await ctx.reply(strings.unknownCommand(command.name.slice(0, 32))));
    this.deps.logger.debug({ room_id: event.roomId, command: command.name }, "command");
    await handler(this.deps, ctx);
  }

  /** ✅ / ❌ / ♾️ on a question's prompt answer it; ⏹ on the streaming answer stops it. */
  async react(event: ReactionEvent, room: RoomRecord | undefined): Promise<void> {
    void room;
    if (await this.confirmations.react(event.roomId, event.targetEventId, event.key, `react.${event.eventId}`)) return;
    if (isStopReaction(event.key)) {
      const turn = this.deps.turns.activeIn(event.roomId);
      if (turn && turn.reply.firstEventId() === event.targetEventId) this.deps.turns.stop(event.roomId);
    }
  }

  private async askRoomChange(kind: "clear" | "archive", name: string, ctx: CommandContext): Promise<void> {
    if (!isChatRoom(ctx.room)) return void (await ctx.reply(strings.chatRoomOnly(name)));
    if (ctx.room.archived) return void (await ctx.reply(strings.roomIsArchived(name)));
    await this.confirmations.askRoomChange(kind, ctx.room.roomId, `cmd.${ctx.event.eventId}`);
  }
}
