import type { Migration } from "./index.js";

/**
 * The first schema. STRICT tables make SQLite reject wrongly typed values.
 * Only `pending` has a foreign key: a pending confirmation without its room
 * is meaningless, while users/rooms/saved contexts are rebuilt from room
 * state in any order and must not depend on each other.
 */
export const init: Migration = {
  version: 1,
  name: "init",
  sql: `
CREATE TABLE users (
  user_id        TEXT PRIMARY KEY,
  space_id       TEXT,
  lobby_room_id  TEXT,
  selected_agent TEXT,
  created_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE rooms (
  room_id          TEXT PRIMARY KEY,
  owner            TEXT NOT NULL,
  kind             TEXT NOT NULL CHECK (kind IN ('space', 'chat')),
  agent_id         TEXT,
  platform_chat_id TEXT,
  name             TEXT,
  idx              INTEGER NOT NULL DEFAULT 0,
  archived         INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
  created_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX rooms_by_owner ON rooms (owner, kind, archived);
-- Not UNIQUE: !load may point a second room at a bookmarked context.
CREATE INDEX rooms_by_chat_id ON rooms (platform_chat_id) WHERE platform_chat_id IS NOT NULL;

CREATE TABLE saved_contexts (
  owner            TEXT NOT NULL,
  name             TEXT NOT NULL,
  platform_chat_id TEXT NOT NULL,
  agent_id         TEXT NOT NULL,
  saved_at         INTEGER NOT NULL,
  PRIMARY KEY (owner, name)
) STRICT;

CREATE TABLE pending (
  room_id         TEXT PRIMARY KEY REFERENCES rooms (room_id) ON DELETE CASCADE,
  kind            TEXT NOT NULL CHECK (kind IN ('clear', 'archive', 'confirm')),
  turn_id         TEXT,
  confirm_id      TEXT,
  agent_id        TEXT,
  prompt_event_id TEXT,
  expires_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX pending_by_prompt ON pending (prompt_event_id) WHERE prompt_event_id IS NOT NULL;
CREATE INDEX pending_by_expiry ON pending (expires_at);

CREATE TABLE kv (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

-- The ledger of handled Matrix events: INSERT OR IGNORE on event_id is the exactly-once gate.
CREATE TABLE inbox (
  event_id    TEXT PRIMARY KEY,
  room_id     TEXT NOT NULL,
  sender      TEXT NOT NULL,
  content     TEXT NOT NULL,
  origin_ts   INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  status      TEXT NOT NULL DEFAULT 'pending'
              CHECK (status IN ('pending', 'forwarded', 'done', 'ignored')),
  turn_id     TEXT
) STRICT;
CREATE INDEX inbox_by_status ON inbox (status);
CREATE INDEX inbox_by_received ON inbox (received_at);

CREATE TABLE sent (
  txn_id   TEXT PRIMARY KEY,
  room_id  TEXT NOT NULL,
  event_id TEXT NOT NULL,
  sent_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT;
`,
};
