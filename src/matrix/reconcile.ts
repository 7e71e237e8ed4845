import type { MatrixClient, Room } from "matrix-js-sdk";
import { asRoomId } from "../core/ids.js";
import type { BoundRoom } from "../core/recovery.js";
import { trustedBinding, type StateLookup } from "./binding.js";

/** State lookups over the SDK's synced room state (whole events, with their senders). */
export const syncedState =
  (room: Room): StateLookup =>
  (type) => {
    const event = room.currentState.getStateEvents(type, "");
    return event ? { sender: event.getSender() ?? "", content: event.getContent() } : undefined;
  };

/**
 * The bindings the bot wrote into the rooms it is joined to, read from the
 * synced room state — the durable truth the SQLite cache is rebuilt from.
 * Only rooms the bot created, with a binding the bot sent, count.
 */
export function discoverBindings(client: MatrixClient): BoundRoom[] {
  const bot = client.getSafeUserId();
  const found: BoundRoom[] = [];
  for (const room of client.getRooms()) {
    if (room.getMyMembership() !== "join") continue;
    const verdict = trustedBinding(syncedState(room), bot);
    if (verdict.ok) found.push({ roomId: asRoomId(room.roomId), name: room.name || null, binding: verdict.binding });
  }
  return found;
}
