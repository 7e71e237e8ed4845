import { ClientEvent, EventTimeline, RoomEvent, SyncState, type MatrixClient, type MatrixEvent, type Room } from "matrix-js-sdk";
import type { Logger } from "pino";
import { asEventId, asRoomId, asUserId } from "../core/ids.js";
import type { IncomingEvent } from "../core/incoming.js";
import { afterDecryption, toIncoming } from "./convert.js";
import { DecryptionGate } from "./decryption.js";
import { GapFiller } from "./gap-fill.js";

export interface IntakeHandlers {
  /** A live event for the core. Must be synchronous up to recording it in the ledger. */
  onEvent: (event: IncomingEvent) => void;
  /** A historical event from a first-ever sync: record it as seen, never answer it. */
  onHistorical(event: IncomingEvent): void;
  onSyncState?(state: SyncState): void;
  /** Whether the ledger already holds an event (where a gap's backfill stops). */
  known: (eventId: string) => boolean;
}

export interface IntakeOptions {
  /** How long an encrypted message waits for a late room key before the owner is asked to resend. */
  decryptGraceMs: number;
  /** Where a sync gap's backfill stops (gap-fill.ts). */
  historyFloor?: () => string | undefined;
}

/**
 * Turns the SDK's sync stream into core events. Without a saved sync
 * position, the first sync only shows history (what was said before the bot
 * started or while its database was lost): it is recorded, not answered.
 * With one, everything is live and the ledger drops replays.
 */
export function attachIntake(
  client: MatrixClient,
  hadSavedSync: boolean,
  logger: Logger,
  handlers: IntakeHandlers,
  opts: IntakeOptions,
): DecryptionGate {
  const botUserId = client.getSafeUserId();
  let historical = !hadSavedSync;
  const runId = Date.now().toString(36);

  const gaps = new GapFiller(client, logger, handlers.known, handlers.onEvent, opts.historyFloor);
  const live = (incoming: IncomingEvent | null): void => {
    if (!incoming) return;
    if (gaps.holds(incoming.roomId)) gaps.hold(incoming);
    else handlers.onEvent(incoming);
  };
  const gate = new DecryptionGate(client, logger, { graceMs: opts.decryptGraceMs }, {
    ready: (event) => live(toIncoming(event)),
    undecryptable: (event) => live(afterDecryption(event)),
  });

  // The SDK resets a room's live timeline just before it adds the events of
  // a limited sync: the moment to start filling the gap and hold new events.
  client.on(RoomEvent.TimelineReset, (room: Room | undefined) => {
    if (historical || !room || room.getMyMembership() !== "join") return;
    gaps.start(room.roomId, room.getLiveTimeline().getPaginationToken(EventTimeline.BACKWARDS));
  });

  client.on(ClientEvent.Sync, (state) => {
    if (state === SyncState.Prepared || state === SyncState.Syncing) historical = false;
    handlers.onSyncState?.(state);
  });

  client.on(RoomEvent.Timeline, (event: MatrixEvent, room: Room | undefined, toStartOfTimeline: boolean | undefined, removed: boolean) => {
    if (toStartOfTimeline || removed || !room) return;
    trimTimeline(room);
    if (event.getSender() === botUserId) return;
    if (historical) {
      // Recorded as seen, never answered: no need to wait for its decryption.
      const incoming = toIncoming(event);
      if (incoming) handlers.onHistorical(incoming);
      return;
    }
    gate.submit(event);
  });

  client.on(RoomEvent.MyMembership, (room: Room, membership: string) => {
    if (membership !== "invite") return;
    const inviter = room.currentState.getMember(botUserId)?.events.member?.getSender();
    if (!inviter) {
      logger.warn({ room_id: room.roomId }, "invite without a readable member event; ignored");
      return;
    }
    // Invites arrive as stripped state without event ids. One id per room and
    // process run: replays within a run are dropped, and an invite still
    // pending after a restart is handled again (the bot never joined).
    const eventId = asEventId(`invite:${room.roomId}:${runId}`);
    handlers.onEvent({ kind: "invite", roomId: asRoomId(room.roomId), eventId, sender: asUserId(inviter) });
  });
  return gate;
}

/** Events kept in memory per room: the bot reads each event once, as it arrives. */
const TIMELINE_KEEP = 30;

/**
 * matrix-js-sdk keeps every event of a room's live timeline in memory for
 * the life of the process; a bot never scrolls back, so old ones are dropped
 * (room state is kept apart and stays whole).
 */
function trimTimeline(room: Room): void {
  const events = room.getLiveTimeline().getEvents();
  if (events.length <= TIMELINE_KEEP * 2) return;
  room.removeEvents(events.slice(0, events.length - TIMELINE_KEEP).flatMap((e) => e.getId() ?? []));
}
