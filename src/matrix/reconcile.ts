import type { MatrixClient } from "matrix-js-sdk";
import type { RoomBinding } from "../core/chat-port.js";
import { asRoomId, type RoomId } from "../core/ids.js";
import { bindingFromContent } from "./chat-adapter.js";
import { BINDING_EVENT, type BindingContent } from "./provisioning.js";

export interface DiscoveredRoom {
  roomId: RoomId;
  name: string | null;
  binding: RoomBinding;
}

/**
 * The bindings the bot wrote into the rooms it is joined to, read from the
 * synced room state — the durable truth the SQLite cache is rebuilt from.
 * Only state the bot itself sent counts: a user could put a look-alike event
 * into a room they control.
 */
export function discoverBindings(client: MatrixClient): DiscoveredRoom[] {
  const bot = client.getSafeUserId();
  const found: DiscoveredRoom[] = [];
  for (const room of client.getRooms()) {
    if (room.getMyMembership() !== "join") continue;
    const event = room.currentState.getStateEvents(BINDING_EVENT, "");
    if (!event || event.getSender() !== bot) continue;
    const binding = bindingFromContent(event.getContent<Partial<BindingContent>>());
    if (binding) found.push({ roomId: asRoomId(room.roomId), name: room.name || null, binding });
  }
  return found;
}
