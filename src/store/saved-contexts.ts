import type { Database } from "better-sqlite3";
import type { AgentId, ChatId, UserId } from "../core/ids.js";
import type { SavedContextRecord } from "./records.js";

interface Row {
  owner: string;
  name: string;
  platform_chat_id: string;
  agent_id: string;
  saved_at: number;
}

const toRecord = (r: Row): SavedContextRecord => ({
  owner: r.owner as UserId,
  name: r.name,
  chatId: r.platform_chat_id as ChatId,
  agentId: r.agent_id as AgentId,
  savedAt: r.saved_at,
});

export type SavedContextsRepo = ReturnType<typeof savedContextsRepo>;

/** Bookmarks of agent contexts (`!save` / `!load`), per owner and name. */
export function savedContextsRepo(db: Database) {
  const putStmt = db.prepare(`
    INSERT INTO saved_contexts (owner, name, platform_chat_id, agent_id, saved_at)
    VALUES (@owner, @name, @chatId, @agentId, @savedAt)
    ON CONFLICT (owner, name) DO UPDATE SET
      platform_chat_id = excluded.platform_chat_id, agent_id = excluded.agent_id, saved_at = excluded.saved_at`);
  const getStmt = db.prepare<[string, string], Row>("SELECT * FROM saved_contexts WHERE owner = ? AND name = ?");
  const listStmt = db.prepare<[string], Row>("SELECT * FROM saved_contexts WHERE owner = ? ORDER BY name");
  const deleteStmt = db.prepare("DELETE FROM saved_contexts WHERE owner = ? AND name = ?");

  return {
    /** Saving under an existing name overwrites that bookmark. */
    save: (ctx: Omit<SavedContextRecord, "savedAt"> & { savedAt?: number }): void => {
      putStmt.run({ ...ctx, savedAt: ctx.savedAt ?? Date.now() });
    },
    get: (owner: UserId, name: string): SavedContextRecord | undefined => {
      const row = getStmt.get(owner, name);
      return row && toRecord(row);
    },
    /** Sorted by name. */
    list: (owner: UserId): SavedContextRecord[] => listStmt.all(owner).map(toRecord),
    delete: (owner: UserId, name: string): boolean => deleteStmt.run(owner, name).changes > 0,
  };
}
