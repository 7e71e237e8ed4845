import type { Database } from "better-sqlite3";

export type KvRepo = ReturnType<typeof kvRepo>;

export function kvRepo(db: Database) {
  const getStmt = db.prepare<[string], string>("SELECT value FROM kv WHERE key = ?").pluck();
  const setStmt = db.prepare("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)");
  const delStmt = db.prepare("DELETE FROM kv WHERE key = ?");
  return {
    get: (key: string): string | undefined => getStmt.get(key),
    set: (key: string, value: string): void => void setStmt.run(key, value),
    delete: (key: string): boolean => delStmt.run(key).changes > 0,
  };
}
