import type { Database } from "better-sqlite3";

/** Well-known kv keys, so the writers and readers agree on names. */
export const KV_KEYS = {
  /** The matrix-js-sdk sync accumulator (JSON). */
  syncAccumulator: "matrix.sync_accumulator",
  /** Device id from the first password login. */
  deviceId: "matrix.device_id",
  /** Access token from a password login (a secret: never log it). */
  accessToken: "matrix.access_token",
} as const;

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
