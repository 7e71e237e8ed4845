import type { Migration } from "./index.js";

/**
 * Agent questions the owner answered "always in this chat" (♾️ / `!always`):
 * later identical prompts in the same conversation are approved by the bot.
 * Keyed by the conversation (chat id) and the agent, not the room, so
 * `!load` of a bookmark brings its approvals back and `!clear` drops them.
 */
export const alwaysAllowed: Migration = {
  version: 2,
  name: "always-allowed",
  sql: `
CREATE TABLE always_allowed (
  platform_chat_id TEXT NOT NULL,
  agent_id         TEXT NOT NULL,
  prompt           TEXT NOT NULL,
  allowed_at       INTEGER NOT NULL,
  PRIMARY KEY (platform_chat_id, agent_id, prompt)
) STRICT;
`,
};
