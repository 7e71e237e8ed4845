/**
 * Temp files of downloads a crash cut short (`inbox/<chat>/.<ts>-<uuid>.part`,
 * see inbox-writer.ts) are removed at start-up. Only our own naming pattern,
 * only regular files, only older than `minAgeMs`, never through a symlink.
 */
import { lstat, readdir, unlink } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";

const PART = /^\.(\d+)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.part$/;

export async function sweepPartials(workspacePath: string, minAgeMs: number, now = Date.now()): Promise<string[]> {
  const inbox = path.join(workspacePath, "inbox");
  const removed: string[] = [];
  if (!(await isRealDir(inbox))) return removed;
  for (const chat of await readdir(inbox)) {
    const dir = path.join(inbox, chat);
    if (!(await isRealDir(dir))) continue;
    for (const name of await readdir(dir)) {
      const m = PART.exec(name);
      if (!m || now - Number(m[1]) < minAgeMs) continue;
      const file = path.join(dir, name);
      const st = await lstat(file);
      if (!st.isFile()) continue;
      await unlink(file);
      removed.push(path.relative(workspacePath, file));
    }
  }
  return removed;
}

async function isRealDir(p: string): Promise<boolean> {
  try {
    return (await lstat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Sweeps every workspace's inbox of unfinished downloads older than 10 minutes; logs, never throws. */
export async function sweepInboxes(workspaces: Iterable<{ id: string; workspacePath: string }>, logger: Logger): Promise<void> {
  for (const agent of workspaces) {
    try {
      const removed = await sweepPartials(agent.workspacePath, 10 * 60_000);
      if (removed.length) logger.info({ agent_id: agent.id, removed }, "removed unfinished downloads from the inbox");
    } catch (err) {
      logger.warn({ err, agent_id: agent.id }, "could not sweep the agent's inbox");
    }
  }
}
