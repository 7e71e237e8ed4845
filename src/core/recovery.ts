/**
 * What the core does once the first sync has answered, before it handles
 * anything new: rebuild the room cache from the bindings the bot wrote,
 * end the turns a crash cut short with a notice, give open questions their
 * timers back, and replay the events that arrived but were never handled —
 * in arrival order.
 */
import type { Logger } from "pino";
import type { ChatPort, RoomBinding } from "./chat-port.js";
import type { CoreStore } from "./core-store.js";
import type { Dispatcher } from "./dispatcher.js";
import type { EventId, RoomId, TurnId } from "./ids.js";
import type { IncomingEvent } from "./incoming.js";
import { strings } from "./strings.js";

/** A room with a binding the bot wrote (already checked by the chat side). */
export interface BoundRoom {
  roomId: RoomId;
  name: string | null;
  binding: RoomBinding;
}

/** The ledger rows recovery reads. */
export interface RecoveryLedger {
  /** Events whose turn was forwarded but never ended (a crash mid-answer). */
  inFlight(): Array<{ roomId: RoomId; eventId: EventId; turnId: TurnId | null }>;
  /** Events recorded but never handled, oldest first. */
  pending(): Array<{ content: unknown }>;
}

export interface RecoveryDeps {
  store: CoreStore & { inbox: RecoveryLedger };
  chat: ChatPort;
  dispatcher: Dispatcher;
  logger: Logger;
}

export function recoverAfterStart(deps: RecoveryDeps, found: readonly BoundRoom[]): void {
  rebuildRooms(deps.store, found, deps.logger);
  resumeInterrupted(deps);
  deps.dispatcher.confirmations.resume();
  // Pending events, in arrival order, before anything new: nothing is
  // handled until the rooms are known.
  for (const row of deps.store.inbox.pending()) void deps.dispatcher.enqueue(row.content as IncomingEvent);
}

/** Rebuilds the room cache from the bindings in room state; never creates a room. */
function rebuildRooms(store: CoreStore, found: readonly BoundRoom[], logger: Logger): void {
  let added = 0;
  store.transaction(() => {
    for (const { roomId, name, binding } of found) {
      if (!store.rooms.get(roomId)) added++;
      store.rooms.upsert({ roomId, name, ...binding });
      const user = store.users.get(binding.owner);
      if (binding.kind === "space" && !user?.spaceId) {
        store.users.upsert({ userId: binding.owner, spaceId: roomId, lobbyRoomId: user?.lobbyRoomId ?? null, selectedAgent: user?.selectedAgent ?? null });
      }
    }
  });
  logger.info({ rooms: found.length, added }, "room state reconciled");
}

/** Turns a crash cut short end with a notice, not with silence or a second answer. */
function resumeInterrupted({ store, chat, logger }: RecoveryDeps): void {
  for (const row of store.inbox.inFlight()) {
    logger.warn({ room_id: row.roomId, event_id: row.eventId, turn: row.turnId }, "turn interrupted by a restart");
    store.inbox.setStatus(row.eventId, "done");
    void chat.sendNotice(row.roomId, strings.turnInterrupted, `interrupted.${row.eventId}`).catch((err: unknown) => {
      logger.error({ err, room_id: row.roomId }, "could not announce the interrupted turn");
    });
  }
}
