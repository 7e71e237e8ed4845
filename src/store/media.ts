import type { Database } from "better-sqlite3";

/** One user file the bot wrote into an agent's inbox. */
export interface MediaRecord {
  agentId: string;
  chatId: string;
  /** Where the bytes came from (an mxc:// URI for Matrix). */
  source: string;
  userId: string;
  /** Absolute, on the bot's side. */
  path: string;
  /** Relative to the workspace: what the agent was told. */
  relative: string;
  size: number;
  /** Inode at writing time, so a file swapped under the same name is not taken for ours. */
  ino: string;
  writtenAt: number;
}

interface Row {
  agent_id: string;
  chat_id: string;
  source: string;
  user_id: string;
  path: string;
  relative: string;
  size: number;
  ino: string;
  written_at: number;
}

const toRecord = (r: Row): MediaRecord => ({
  agentId: r.agent_id,
  chatId: r.chat_id,
  source: r.source,
  userId: r.user_id,
  path: r.path,
  relative: r.relative,
  size: r.size,
  ino: r.ino,
  writtenAt: r.written_at,
});

export type MediaRepo = ReturnType<typeof mediaRepo>;

/** The ledger behind the per-user quota and the one-copy-per-chat rule (src/files/inbox-budget.ts). */
export function mediaRepo(db: Database) {
  const findStmt = db.prepare<[string, string, string], Row>("SELECT * FROM media WHERE agent_id = ? AND chat_id = ? AND source = ?");
  const upsertStmt = db.prepare(`
    INSERT INTO media (agent_id, chat_id, source, user_id, path, relative, size, ino, written_at)
    VALUES (@agentId, @chatId, @source, @userId, @path, @relative, @size, @ino, @writtenAt)
    ON CONFLICT (agent_id, chat_id, source) DO UPDATE SET
      user_id = excluded.user_id, path = excluded.path, relative = excluded.relative,
      size = excluded.size, ino = excluded.ino, written_at = excluded.written_at`);
  const removeStmt = db.prepare("DELETE FROM media WHERE agent_id = ? AND chat_id = ? AND source = ?");
  const byUserStmt = db.prepare<[string], Row>("SELECT * FROM media WHERE user_id = ? ORDER BY written_at");

  return {
    find: (agentId: string, chatId: string, source: string): MediaRecord | undefined => {
      const r = findStmt.get(agentId, chatId, source);
      return r ? toRecord(r) : undefined;
    },
    record: (m: MediaRecord): void => void upsertStmt.run(m),
    remove: (agentId: string, chatId: string, source: string): void => void removeStmt.run(agentId, chatId, source),
    byUser: (userId: string): MediaRecord[] => byUserStmt.all(userId).map(toRecord),
  };
}
