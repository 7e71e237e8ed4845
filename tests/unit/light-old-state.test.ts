/**
 * A room's start-of-timeline state is kept empty (light-old-state.ts): real
 * matrix-js-sdk rooms, timelines and state, no homeserver.
 */
import { ClientEvent, createClient, EventTimeline, MatrixEvent, Room, RoomEvent } from "matrix-js-sdk";
import { describe, expect, it } from "vitest";
import { keepOldStateLight } from "../../src/matrix/light-old-state.js";

const BOT = "@bot:hs";
const ROOM = "!room:hs";

const state = (type: string, stateKey: string, content: Record<string, unknown>, n: number): MatrixEvent =>
  new MatrixEvent({ type, state_key: stateKey, content, sender: BOT, room_id: ROOM, event_id: `$${type}-${n}`, origin_server_ts: n });

const roomState = (): MatrixEvent[] => [
  state("m.room.create", "", { creator: BOT }, 1),
  state("m.room.member", BOT, { membership: "join" }, 2),
  state("m.room.member", "@alice:hs", { membership: "join", displayname: "Alice" }, 3),
  state("m.room.name", "", { name: "Chat" }, 4),
];

function syncedRoom(light = true) {
  const client = createClient({ baseUrl: "http://127.0.0.1:9", userId: BOT, accessToken: "t" });
  if (light) keepOldStateLight(client);
  const room = new Room(ROOM, client, BOT);
  // As the SDK's sync does: the client hears what the room hears.
  room.on(RoomEvent.TimelineReset, (r, set, all) => client.emit(RoomEvent.TimelineReset, r, set, all));
  room.getLiveTimeline().initialiseState(roomState());
  room.getLiveTimeline().setPaginationToken("back-1", EventTimeline.BACKWARDS);
  return { client, room };
}

describe("a room's start state is kept empty", () => {
  it("never fills it when a room's timeline is first given its state, keeping the back-pagination token and the whole current state", () => {
    const { client, room } = syncedRoom();
    expect(room.oldState.events.size).toBe(0);
    client.emit(ClientEvent.Room, room);
    expect(room.oldState.events.size).toBe(0);
    expect(room.getLiveTimeline().getState(EventTimeline.BACKWARDS)).toBe(room.oldState);
    expect(room.getLiveTimeline().getPaginationToken(EventTimeline.BACKWARDS)).toBe("back-1");
    expect(room.currentState.getStateEvents("m.room.name", "")?.getContent()["name"]).toBe("Chat");
    expect(room.currentState.getMember("@alice:hs")?.name).toBe("Alice");
    expect(room.getJoinedMemberCount()).toBe(2);
  });

  it("empties it again when a limited sync resets the live timeline (which copies the end state to the start)", async () => {
    const { client, room } = syncedRoom();
    client.emit(ClientEvent.Room, room);
    room.resetLiveTimeline("back-2", null);
    expect(room.oldState.events.size).toBe(0);
    expect(room.getLiveTimeline().getPaginationToken(EventTimeline.BACKWARDS)).toBe("back-2");
    expect(room.currentState.getMember("@alice:hs")?.membership).toBe("join");
    // New events still land on the live timeline and in the current state.
    await room.addLiveEvents([state("m.room.name", "", { name: "Renamed" }, 5)], { addToState: true });
    expect(room.currentState.getStateEvents("m.room.name", "")?.getContent()["name"]).toBe("Renamed");
  });

  it("ignores the state a sync rolls into a non-empty timeline's start (sync.js: room.oldState.setStateEvents)", () => {
    const { client, room } = syncedRoom();
    client.emit(ClientEvent.Room, room);
    room.oldState.setStateEvents([state("m.room.member", "@bob:hs", { membership: "join" }, 6)]);
    expect(room.oldState.events.size).toBe(0);
  });

  it("leaves the rooms of other clients in the process as the SDK makes them", () => {
    syncedRoom(); // a light client exists
    const { client, room } = syncedRoom(false);
    client.emit(ClientEvent.Room, room);
    expect(room.oldState.getStateEvents("m.room.name", "")?.getContent()["name"]).toBe("Chat");
  });
});
