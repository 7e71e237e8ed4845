/** Opening, migrating and resetting a real SQLite file. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CoreStore } from "../../src/core/core-store.js";
import { asAgentId, asChatId, asEventId, asRoomId, asUserId } from "../../src/core/ids.js";
import { openStore } from "../../src/store/store.js";
import type { Store } from "../../src/store/store.js";
import { migrate } from "../../src/store/migrate.js";
import { MIGRATIONS } from "../../src/store/migrations/index.js";

let dir: string;
let file: string;
const open: Store[] = [];
const openTracked = (f = file) => {
  const s = openStore(f);
  open.push(s);
  return s;
};

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "surfaces-store-"));
  file = path.join(dir, "nested", "surfaces.db");
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("openStore", () => {
  it("creates the file, applies the migrations once and records them", () => {
    const store = openTracked();
    const applied = store.migrations();
    expect(applied.map((m) => [m.version, m.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));
    expect(applied[0]?.appliedAt).toBeGreaterThan(0);
    store.close();

    const again = openTracked();
    expect(again.migrations()).toEqual(applied); // same rows: nothing re-applied
  });

  it("runs in WAL mode with foreign keys on", () => {
    openTracked();
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    } finally {
      raw.close();
    }
    const store = openTracked();
    // The pending → rooms foreign key is enforced only with foreign_keys=ON.
    expect(() =>
      store.pending.set({
        roomId: asRoomId("!nowhere:x"),
        kind: "clear",
        turnId: null,
        confirmId: null,
        agentId: null,
        promptEventId: null,
        expiresAt: 1,
      }),
    ).toThrow(/FOREIGN KEY/);
  });

  it("refuses a database written by a newer build", () => {
    openTracked().close();
    const raw = new Database(file);
    raw.prepare("INSERT INTO schema_migrations VALUES (?, ?, ?)").run(MIGRATIONS.length + 1, "future", 0);
    raw.close();
    expect(() => openStore(file)).toThrow(/newer than this build/);
  });

  it("applies only the migrations that are new", () => {
    const raw = new Database(":memory:");
    const extra = { version: 2, name: "extra", sql: "CREATE TABLE extra (x INTEGER) STRICT;" };
    expect(migrate(raw, MIGRATIONS.slice(0, 1)).map((m) => m.version)).toEqual([1]);
    expect(migrate(raw, [...MIGRATIONS.slice(0, 1), extra]).map((m) => m.version)).toEqual([2]);
    expect(migrate(raw, [...MIGRATIONS.slice(0, 1), extra])).toEqual([]);
    raw.close();
  });

  it("drops the empty strings earlier builds wrote for a forgotten login (005), and only those", () => {
    const raw = new Database(":memory:");
    migrate(raw, MIGRATIONS.slice(0, 4));
    const put = raw.prepare("INSERT INTO kv (key, value) VALUES (?, ?)");
    for (const key of ["matrix.access_token", "matrix.device_id", "matrix.crypto_store_prefix"]) put.run(key, "");
    put.run("matrix.sync_accumulator", "");
    migrate(raw);
    expect(raw.prepare("SELECT key FROM kv ORDER BY key").pluck().all()).toEqual(["matrix.sync_accumulator"]);
    raw.close();
  });

  it("rolls back a failing migration completely", () => {
    const raw = new Database(":memory:");
    const broken = { version: 2, name: "broken", sql: "CREATE TABLE half (x INTEGER); SELECT * FROM missing_table;" };
    expect(() => migrate(raw, [...MIGRATIONS.slice(0, 1), broken])).toThrow();
    const tables = raw.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").all();
    expect(tables).toEqual([]);
    expect(raw.prepare("SELECT MAX(version) AS v FROM schema_migrations").get()).toEqual({ v: 1 });
    raw.close();
  });

  it("works in memory", () => {
    const store = openTracked(":memory:");
    expect(store.rooms.count()).toBe(0);
  });

  it("resetLocalState empties every table but keeps the schema", () => {
    const store = openTracked();
    const user = asUserId("@a:x");
    const room = asRoomId("!r:x");
    store.users.upsert({ userId: user });
    store.rooms.upsert({ roomId: room, owner: user, kind: "chat", agentId: asAgentId("a"), chatId: asChatId("1"), name: "c", index: 1, archived: false });
    store.pending.set({ roomId: room, kind: "clear", turnId: null, confirmId: null, agentId: null, promptEventId: null, expiresAt: 10 });
    store.savedContexts.save({ owner: user, name: "n", chatId: asChatId("1"), agentId: asAgentId("a") });
    store.kv.set("k", "v");
    store.inbox.record({ eventId: asEventId("$e"), roomId: room, sender: user, content: {}, originTs: 1 });

    store.resetLocalState();

    expect(store.users.all()).toEqual([]);
    expect(store.rooms.count()).toBe(0);
    expect(store.pending.get(room)).toBeUndefined();
    expect(store.savedContexts.list(user)).toEqual([]);
    expect(store.kv.get("k")).toBeUndefined();
    expect(store.inbox.has(asEventId("$e"))).toBe(false);
    expect(store.migrations()).toHaveLength(MIGRATIONS.length);
  });

  it("transaction rolls back everything when the function throws", () => {
    const store = openTracked();
    expect(() =>
      store.transaction(() => {
        store.kv.set("a", "1");
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(store.kv.get("a")).toBeUndefined();
    expect(store.transaction(() => (store.kv.set("a", "2"), 42))).toBe(42);
    expect(store.kv.get("a")).toBe("2");
  });

  it("satisfies the core's store port", () => {
    const port: CoreStore = openTracked(":memory:");
    expect(port.rooms.nextIndex(asUserId("@x:y"))).toBe(1);
  });
});
