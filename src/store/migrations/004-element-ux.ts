import type { Migration } from "./index.js";

/**
 * `always_allowed`: agent questions the owner answered "always in this chat" (♾️ / `!always`):
 * later identical prompts in the same conversation are approved by the bot.
 * Keyed by the conversation (chat id) and the agent, not the room, so
 * `!load` of a bookmark brings its approvals back and `!clear` drops them.
 *
 * `wait_marks`: the ⏳ reaction on a message waiting behind a running turn,
 * so it is removed when the message's turn starts even after a restart.
 */
export const elementUx: Migration = {
  version: 4,
  name: "always-allowed-and-wait-marks",
  sql: `
CREATE TABLE always_allowed (
  platform_chat_id TEXT NOT NULL,
  agent_id         TEXT NOT NULL,
  prompt           TEXT NOT NULL,
  allowed_at       INTEGER NOT NULL,
  PRIMARY KEY (platform_chat_id, agent_id, prompt)
) STRICT;

CREATE TABLE wait_marks (
  event_id    TEXT PRIMARY KEY,
  room_id     TEXT NOT NULL,
  reaction_id TEXT NOT NULL
) STRICT;
`,
};
