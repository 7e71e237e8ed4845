/**
 * Applies the numbered migrations in order, each in its own transaction,
 * and records it in schema_migrations. Running it again is a no-op.
 */
import type { Database } from "better-sqlite3";
import { MIGRATIONS } from "./migrations/index.js";
import type { Migration } from "./migrations/index.js";

export interface AppliedMigration {
  version: number;
  name: string;
  appliedAt: number;
}

export function appliedMigrations(db: Database): AppliedMigration[] {
  return db
    .prepare("SELECT version, name, applied_at AS appliedAt FROM schema_migrations ORDER BY version")
    .all() as AppliedMigration[];
}

/** Returns the migrations applied by this call. */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): Migration[] {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);

  const versionNow = db.prepare("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations").pluck();
  const current = versionNow.get() as number;
  if (current > migrations.length) {
    // A newer build wrote this file; running old code on it could corrupt it.
    throw new Error(
      `database schema version ${current} is newer than this build knows (${migrations.length}); upgrade Surfaces`,
    );
  }
  const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
  const applied: Migration[] = [];
  for (const m of migrations.slice(current)) {
    // IMMEDIATE takes the write lock first, so a second process opening the
    // same file waits and then sees the migration as done instead of redoing it.
    db.transaction(() => {
      if ((versionNow.get() as number) >= m.version) return;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
      applied.push(m);
    }).immediate();
  }
  return applied;
}
