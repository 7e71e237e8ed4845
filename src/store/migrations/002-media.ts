import type { Migration } from "./index.js";

/**
 * The ledger of user files the bot wrote into agent inboxes: one row per
 * media source (mxc://) per agent chat, so the same media sent twice in one
 * chat reuses the file, and a user's bytes can be summed for the quota.
 * `ino` is TEXT because inode numbers can exceed 2^53.
 */
export const media: Migration = {
  version: 2,
  name: "media",
  sql: `
CREATE TABLE media (
  agent_id   TEXT NOT NULL,
  chat_id    TEXT NOT NULL,
  source     TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  path       TEXT NOT NULL,
  relative   TEXT NOT NULL,
  size       INTEGER NOT NULL,
  ino        TEXT NOT NULL,
  written_at INTEGER NOT NULL,
  PRIMARY KEY (agent_id, chat_id, source)
) STRICT;
CREATE INDEX media_by_user ON media (user_id);
`,
};
