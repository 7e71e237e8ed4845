export { openStore } from "./store.js";
export type { Store } from "./store.js";
export { newChatId, chatIdGenerator } from "./chat-ids.js";
export type { AppliedMigration } from "./migrate.js";
export type { ByOwnerOptions } from "./rooms.js";
export type * from "./records.js";
