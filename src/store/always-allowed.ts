import type { Database } from "better-sqlite3";
import type { AgentId, ChatId } from "../core/ids.js";

/** Agent prompts approved "always in this chat", per conversation (`!always` / ♾️). */
export function alwaysAllowedRepo(db: Database) {
  const putStmt = db.prepare(`
    INSERT INTO always_allowed (platform_chat_id, agent_id, prompt, allowed_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (platform_chat_id, agent_id, prompt) DO NOTHING`);
  const hasStmt = db.prepare<[string, string, string], { n: number }>(
    "SELECT 1 AS n FROM always_allowed WHERE platform_chat_id = ? AND agent_id = ? AND prompt = ?",
  );
  const listStmt = db.prepare<[string, string], { prompt: string }>(
    "SELECT prompt FROM always_allowed WHERE platform_chat_id = ? AND agent_id = ? ORDER BY allowed_at, prompt",
  );
  const forgetStmt = db.prepare("DELETE FROM always_allowed WHERE platform_chat_id = ? AND agent_id = ?");
  return {
    allow: (chatId: ChatId, agentId: AgentId, prompt: string, now = Date.now()): void => void putStmt.run(chatId, agentId, prompt, now),
    has: (chatId: ChatId, agentId: AgentId, prompt: string): boolean => hasStmt.get(chatId, agentId, prompt) !== undefined,
    /** Oldest first. */
    list: (chatId: ChatId, agentId: AgentId): string[] => listStmt.all(chatId, agentId).map((r) => r.prompt),
    /** Returns how many were forgotten. */
    forget: (chatId: ChatId, agentId: AgentId): number => forgetStmt.run(chatId, agentId).changes,
  };
}

export type AlwaysAllowedRepo = ReturnType<typeof alwaysAllowedRepo>;
