/**
 * matrix-js-sdk keeps two copies of every room's state: the state at the end
 * of the live timeline (`currentState`, what everything reads) and the state
 * at its start (`oldState`), which only back-pagination through the SDK
 * reads. Each copy has its own maps per event type and its own
 * `RoomMember`s, and filling it is a share of a first sync's work. The bot
 * never paginates through the SDK (gap-fill.ts asks the homeserver itself),
 * so its rooms' start state stays empty and keeps only the back-pagination
 * token: their timelines are initialised with the end state only, the start
 * state is an empty one that ignores the state a sync would roll into it,
 * and when a live timeline is reset (a limited sync forks a full copy of the
 * end state as the new start) that copy is swapped for an empty one again.
 * Only rooms of the clients given to keepOldStateLight are affected.
 */
import { ClientEvent, EventTimeline, RoomEvent, RoomState, type MatrixClient, type MatrixEvent, type Room } from "matrix-js-sdk";

/** Where the SDK keeps a timeline's start state (a public field, typed read-only through getState). */
interface WithStartState {
  startState?: RoomState;
}

const lightClients = new WeakSet<MatrixClient>();
const lightStates = new WeakSet<RoomState>();

function emptyStartState(roomId: string, paginationToken: string | null): RoomState {
  const state = new RoomState(roomId);
  state.paginationToken = paginationToken;
  // sync.js rolls a non-empty timeline's start state forward with each sync's state: not this one.
  state.setStateEvents = (): void => undefined;
  lightStates.add(state);
  return state;
}

/** Replaces the room's start-of-timeline state with an empty one carrying the same pagination token. */
export function lightenOldState(room: Room): void {
  const timeline = room.getLiveTimeline();
  const old = timeline.getState(EventTimeline.BACKWARDS);
  if (!old || lightStates.has(old)) return;
  const light = emptyStartState(room.roomId, old.paginationToken);
  (timeline as unknown as WithStartState).startState = light;
  room.oldState = light;
}

type InitialiseState = (this: EventTimeline, events: MatrixEvent[], opts?: { timelineWasEmpty?: boolean }) => void;
let wrapped = false;

/**
 * EventTimeline.initialiseState fills the start and the end state alike
 * (the start one only if present): for the rooms of a light client it runs
 * with the start state set aside.
 */
function initialiseEndStateOnly(): void {
  if (wrapped) return;
  wrapped = true;
  const proto = EventTimeline.prototype as unknown as { initialiseState: InitialiseState };
  const initialise = proto.initialiseState;
  proto.initialiseState = function (this: EventTimeline, events, opts) {
    const room = this.getTimelineSet().room;
    if (!room || !lightClients.has(room.client)) {
      initialise.call(this, events, opts);
      return;
    }
    const timeline = this as unknown as WithStartState;
    const start = timeline.startState;
    timeline.startState = undefined;
    try {
      initialise.call(this, events, opts);
    } finally {
      timeline.startState = start;
    }
  };
}

export function keepOldStateLight(client: MatrixClient): void {
  lightClients.add(client);
  initialiseEndStateOnly();
  client.on(ClientEvent.Room, lightenOldState);
  client.on(RoomEvent.TimelineReset, (room: Room | undefined) => {
    if (room) lightenOldState(room);
  });
}
