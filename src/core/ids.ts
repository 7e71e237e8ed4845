/**
 * Branded identifiers: a RoomId is not a UserId even though both are strings
 * on the wire. Brand at the edge (adapter, store, registry), never in core.
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type RoomId = Brand<string, "RoomId">;
export type UserId = Brand<string, "UserId">;
export type EventId = Brand<string, "EventId">;
export type AgentId = Brand<string, "AgentId">;
/** The conversation key the agent remembers a chat by (numeric string). */
export type ChatId = Brand<string, "ChatId">;
/** One user turn; the agent protocol's `request_id` (uuid). */
export type TurnId = Brand<string, "TurnId">;

export const asRoomId = (s: string): RoomId => s as RoomId;
export const asUserId = (s: string): UserId => s as UserId;
export const asEventId = (s: string): EventId => s as EventId;
export const asAgentId = (s: string): AgentId => s as AgentId;
export const asChatId = (s: string): ChatId => s as ChatId;
export const asTurnId = (s: string): TurnId => s as TurnId;
