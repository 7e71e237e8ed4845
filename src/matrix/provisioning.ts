import type { RoomBinding } from "../core/chat-port.js";
import type { RoomId, UserId } from "../core/ids.js";

export const BINDING_EVENT = "org.surfaces.room";

/** The `org.surfaces.room` content: snake_case on the wire, as the design names it. */
export interface BindingContent {
  owner: string;
  kind: "space" | "chat";
  agent_id: string | null;
  platform_chat_id: string | null;
  index: number;
  archived: boolean;
}

export const toContent = (b: RoomBinding): BindingContent => ({
  owner: b.owner,
  kind: b.kind,
  agent_id: b.agentId,
  platform_chat_id: b.chatId,
  index: b.index,
  archived: b.archived,
});

/**
 * Power levels for every room the bot creates: the bot alone may change
 * encryption, Space children, power levels and its own binding state. No
 * `users` map: as creator the bot already holds top power (room v11 gives it
 * 100 by default; v12 makes creators all-powerful and refuses to list them),
 * and the owner talks at the default level and renames with `!rename`.
 */
export function powerLevels(): Record<string, unknown> {
  return {
    users_default: 0,
    events_default: 0,
    state_default: 50,
    ban: 100,
    kick: 100,
    redact: 50,
    invite: 100,
    events: {
      "m.room.encryption": 100,
      "m.space.child": 100,
      "m.room.power_levels": 100,
      "m.room.tombstone": 100,
      "m.room.server_acl": 100,
      "m.room.history_visibility": 100,
      [BINDING_EVENT]: 100,
    },
  };
}

export function serverOf(userId: string): string {
  return userId.slice(userId.indexOf(":") + 1);
}

/** createRoom body for the user's Space. */
export function spaceRequest(bot: UserId, owner: UserId, name: string): Record<string, unknown> {
  return {
    name,
    topic: "Your conversations with your agent — one room per chat.",
    preset: "private_chat",
    visibility: "private",
    invite: [owner],
    creation_content: { type: "m.space" },
    power_level_content_override: powerLevels(),
    initial_state: [
      { type: BINDING_EVENT, state_key: "", content: toContent({ owner, kind: "space", agentId: null, chatId: null, index: 0, archived: false }) },
      { type: "m.room.history_visibility", state_key: "", content: { history_visibility: "shared" } },
    ],
  };
}

/** The state event that makes a room end-to-end encrypted (Megolm, the defaults Element uses). */
export const ENCRYPTION_STATE = { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } } as const;

/**
 * createRoom body for one chat room, already linked to its Space; encrypted
 * unless the operator turned that off. The Space itself holds no messages
 * and stays unencrypted, as Element creates Spaces.
 */
export function chatRoomRequest(bot: UserId, spaceId: RoomId, name: string, binding: RoomBinding, encrypted = true): Record<string, unknown> {
  return {
    name,
    preset: "private_chat",
    visibility: "private",
    invite: [binding.owner],
    power_level_content_override: powerLevels(),
    initial_state: [
      { type: BINDING_EVENT, state_key: "", content: toContent(binding) },
      { type: "m.space.parent", state_key: spaceId, content: { via: [serverOf(bot)], canonical: true } },
      { type: "m.room.history_visibility", state_key: "", content: { history_visibility: "shared" } },
      ...(encrypted ? [ENCRYPTION_STATE] : []),
    ],
  };
}
