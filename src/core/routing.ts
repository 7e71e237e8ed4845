import type { IncomingEvent } from "./incoming.js";
import type { UserId } from "./ids.js";
import { parseCommand, type ParsedCommand } from "./commands/parse.js";

/** What the core knows about the room an event came from. */
export interface RoomContext {
  kind: "chat" | "space" | "unknown";
  owner: UserId | null;
  archived: boolean;
}

export interface RoutingFacts {
  botUserId: UserId;
  senderAllowed: boolean;
  room: RoomContext;
  /**
   * For an invite from a stranger: whether they get the one-sentence answer
   * (their server hosts registry users and they were not answered lately).
   * Otherwise the invite is rejected without joining. Default false.
   */
  strangerMayBeTold?: boolean;
}

export type Action =
  | { type: "ignore"; reason: string }
  | { type: "refuse-invite"; tell: boolean }
  | { type: "accept-invite" }
  | { type: "encrypted-notice" }
  | { type: "command"; command: ParsedCommand }
  | { type: "forward" }
  | { type: "recover-room" }
  | { type: "archived-notice" }
  | { type: "reaction" };

/**
 * Pure routing: one incoming event plus what is known about its room gives
 * one action. All I/O happens in the dispatcher.
 */
export function decide(event: IncomingEvent, facts: RoutingFacts): Action {
  if (event.sender === facts.botUserId) return { type: "ignore", reason: "own event" };

  if (event.kind === "invite") {
    return facts.senderAllowed ? { type: "accept-invite" } : { type: "refuse-invite", tell: facts.strangerMayBeTold === true };
  }
  if (!facts.senderAllowed) return { type: "ignore", reason: "sender not in registry" };

  const { room } = facts;
  const ownsRoom = room.owner === null || room.owner === event.sender;
  if (!ownsRoom) return { type: "ignore", reason: "sender is not the room owner" };

  if (event.kind === "reaction") {
    return room.kind === "chat" ? { type: "reaction" } : { type: "ignore", reason: "reaction outside a chat" };
  }

  if (event.encrypted) return { type: "encrypted-notice" };
  const command = parseCommand(event.text);
  if (command) return { type: "command", command };

  switch (room.kind) {
    case "chat":
      return room.archived ? { type: "archived-notice" } : event.files.length > 0 || event.text.trim() !== ""
        ? { type: "forward" }
        : { type: "ignore", reason: "empty message" };
    case "space":
      return { type: "ignore", reason: "message in a space" };
    case "unknown":
      return { type: "recover-room" };
  }
}
