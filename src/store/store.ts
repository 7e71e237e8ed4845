/**
 * The bot's SQLite store: a cache of what the homeserver's room state holds,
 * plus the ledger that makes delivery exactly-once (inbox). One file,
 * WAL mode with synchronous=NORMAL, synchronous better-sqlite3 calls (each
 * well under a millisecond).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { alwaysAllowedRepo } from "./always-allowed.js";
import type { AlwaysAllowedRepo } from "./always-allowed.js";
import { kvRepo } from "./kv.js";
import type { KvRepo } from "./kv.js";
import { inboxRepo } from "./inbox.js";
import type { InboxRepo } from "./inbox.js";
import { appliedMigrations, migrate } from "./migrate.js";
import type { AppliedMigration } from "./migrate.js";
import { mediaRepo } from "./media.js";
import type { MediaRepo } from "./media.js";
import { pendingRepo } from "./pending.js";
import type { PendingRepo } from "./pending.js";
import { roomsRepo } from "./rooms.js";
import type { RoomsRepo } from "./rooms.js";
import { savedContextsRepo } from "./saved-contexts.js";
import type { SavedContextsRepo } from "./saved-contexts.js";
import { usersRepo } from "./users.js";
import type { UsersRepo } from "./users.js";
import { waitMarksRepo } from "./wait-marks.js";
import type { WaitMarksRepo } from "./wait-marks.js";

export interface Store {
  readonly path: string;
  readonly users: UsersRepo;
  readonly rooms: RoomsRepo;
  readonly savedContexts: SavedContextsRepo;
  readonly pending: PendingRepo;
  readonly alwaysAllowed: AlwaysAllowedRepo;
  readonly waitMarks: WaitMarksRepo;
  readonly kv: KvRepo;
  readonly inbox: InboxRepo;
  readonly media: MediaRepo;
  /** Runs fn in one transaction (nested calls become savepoints); rolls back if it throws. */
  transaction<T>(fn: () => T): T;
  /** Empties every table except schema_migrations (operator `reset --mode local-only`). */
  resetLocalState(): void;
  /** Migrations recorded in schema_migrations, oldest first. */
  migrations(): AppliedMigration[];
  close(): void;
}

// Every table resetLocalState empties; pending before rooms because of its foreign key.
const LOCAL_TABLES = ["pending", "always_allowed", "wait_marks", "saved_contexts", "rooms", "users", "kv", "inbox", "media"] as const;

export function openStore(file: string): Store {
  if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma("journal_mode = WAL");
    // NORMAL (WAL): every commit survives a crash or SIGKILL of the bot, which
    // is what the exactly-once ledger relies on; only an OS crash or power
    // loss may roll back the last commits (consistently: the saved sync
    // position rolls back with them, so those events are replayed). FULL
    // fsynced each of the 3 ledger writes per message on the event loop:
    // 5.5 s of 13.6 s busy time in the many-rooms bench, for every room.
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    // Another process (the operator CLI) may hold the write lock for a moment.
    db.pragma("busy_timeout = 5000");
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }

  return {
    path: file,
    users: usersRepo(db),
    rooms: roomsRepo(db),
    savedContexts: savedContextsRepo(db),
    pending: pendingRepo(db),
    alwaysAllowed: alwaysAllowedRepo(db),
    waitMarks: waitMarksRepo(db),
    kv: kvRepo(db),
    inbox: inboxRepo(db),
    media: mediaRepo(db),
    transaction: <T>(fn: () => T): T => db.transaction(fn)(),
    resetLocalState: () =>
      db.transaction(() => {
        for (const table of LOCAL_TABLES) db.prepare(`DELETE FROM ${table}`).run();
      })(),
    migrations: () => appliedMigrations(db),
    close: () => {
      if (db.open) db.close();
    },
  };
}
