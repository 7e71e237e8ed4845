/**
 * The one decoder for `org.surfaces.room`. A binding grants access (whose
 * conversation a room carries, which agent answers), so it counts only when
 * the bot wrote it: the bot created the room and sent the binding event
 * itself. Any room member with enough power could put a look-alike event
 * into a room *they* created; the REST state read drops the sender, so every
 * path (start-up rebuild, targeted recovery, reconcile) reads whole events.
 */
import type { RoomBinding } from "../core/chat-port.js";
import { asAgentId, asChatId, asUserId } from "../core/ids.js";
import { BINDING_EVENT, type BindingContent } from "./provisioning.js";

/** The parts of a state event the decoder looks at. */
export interface StateEventLike {
  sender: string;
  content: Record<string, unknown>;
}

/** Reads one state event of a room by type (state key ""), or undefined. */
export type StateLookup = (type: string) => StateEventLike | undefined;

export type BindingVerdict =
  | { ok: true; binding: RoomBinding }
  | { ok: false; reason: "no binding" | "room not created by the bot" | "binding not sent by the bot" | "malformed binding" };

/** Decides whether a room carries a binding the bot wrote, and decodes it. */
export function trustedBinding(lookup: StateLookup, botUserId: string): BindingVerdict {
  const event = lookup(BINDING_EVENT);
  if (!event) return { ok: false, reason: "no binding" };
  // Room versions up to 10 also name a `creator`; v11+ only the sender. Both must be the bot.
  const create = lookup("m.room.create");
  const creator = create?.content["creator"];
  if (!create || create.sender !== botUserId || (creator !== undefined && creator !== botUserId)) {
    return { ok: false, reason: "room not created by the bot" };
  }
  if (event.sender !== botUserId) return { ok: false, reason: "binding not sent by the bot" };
  const binding = bindingFromContent(event.content);
  return binding ? { ok: true, binding } : { ok: false, reason: "malformed binding" };
}

/** Validates a state event's content into a binding; null when it is not one of ours. */
export function bindingFromContent(content: Partial<BindingContent> | undefined): RoomBinding | null {
  if (!content || typeof content.owner !== "string" || (content.kind !== "space" && content.kind !== "chat")) return null;
  return {
    owner: asUserId(content.owner),
    kind: content.kind,
    agentId: typeof content.agent_id === "string" ? asAgentId(content.agent_id) : null,
    chatId: typeof content.platform_chat_id === "string" ? asChatId(content.platform_chat_id) : null,
    index: typeof content.index === "number" ? content.index : 0,
    archived: content.archived === true,
  };
}
