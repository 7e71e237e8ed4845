/**
 * matrix-js-sdk keeps two copies of every room's state: the state at the end
 * of the live timeline (`currentState`, what everything reads) and the state
 * at its start (`oldState`), which only back-pagination through the SDK
 * reads. Each copy has its own maps per event type, its own `RoomMember`s
 * and its own re-emitter: about a fifth of the memory a room costs the bot
 * while idle. The bot never paginates through the SDK (gap-fill.ts asks the
 * homeserver itself), so a room's start state is swapped for an empty one
 * that keeps only the back-pagination token, once the sync has filled it:
 * when a room first arrives and whenever its live timeline is reset (a
 * limited sync forks a full copy of the end state as the new start).
 */
import { ClientEvent, EventTimeline, RoomEvent, RoomState, type MatrixClient, type Room } from "matrix-js-sdk";

/** Where the SDK keeps a timeline's start state (a public field, typed read-only through getState). */
interface WithStartState {
  startState?: RoomState;
}

/** Replaces the room's start-of-timeline state with an empty one carrying the same pagination token. */
export function lightenOldState(room: Room): void {
  const timeline = room.getLiveTimeline();
  const old = timeline.getState(EventTimeline.BACKWARDS);
  if (!old || old.events.size === 0) return;
  const light = new RoomState(room.roomId);
  light.paginationToken = old.paginationToken;
  (timeline as unknown as WithStartState).startState = light;
  room.oldState = light;
}

export function keepOldStateLight(client: MatrixClient): void {
  client.on(ClientEvent.Room, lightenOldState);
  client.on(RoomEvent.TimelineReset, (room: Room | undefined) => {
    if (room) lightenOldState(room);
  });
}
