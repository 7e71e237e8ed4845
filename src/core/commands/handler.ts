import type { Logger } from "pino";
import type { AgentPort } from "../agent-port.js";
import type { ChatPort } from "../chat-port.js";
import type { CoreStore, RoomRecord } from "../core-store.js";
import type { AgentId, ChatId, UserId } from "../ids.js";
import type { IncomingEvent } from "../incoming.js";
import { strings } from "../strings.js";
import type { TurnRunner } from "../turn-runner.js";
import type { ParsedCommand } from "./parse.js";
import { helpText } from "./help.js";

export interface CommandDeps {
  chat: ChatPort;
  agents: AgentPort;
  store: CoreStore;
  logger: Logger;
  turns: TurnRunner;
  newChatId: () => ChatId;
  agentsFor(user: UserId): AgentId[];
}

type MessageEvent = Extract<IncomingEvent, { kind: "message" }>;
type ReactionEvent = Extract<IncomingEvent, { kind: "reaction" }>;

/** Runs `!commands` for the room's owner. */
export class CommandHandler {
  constructor(private readonly deps: CommandDeps) {}

  async run(command: ParsedCommand, event: MessageEvent, room: RoomRecord | undefined): Promise<void> {
    const { chat } = this.deps;
    const key = `cmd.${event.eventId}`;
    switch (command.name) {
      case "help":
        await chat.sendNotice(event.roomId, helpText, key);
        return;
      case "stop":
        if (!this.deps.turns.stop(event.roomId)) await chat.sendNotice(event.roomId, "Nothing is running here.", key);
        return;
      default:
        void room;
        await chat.sendNotice(event.roomId, strings.unknownCommand(command.name), key);
    }
  }

  async react(event: ReactionEvent, room: RoomRecord | undefined): Promise<void> {
    void room;
    if (event.key.startsWith("⏹")) this.deps.turns.stop(event.roomId);
  }
}
