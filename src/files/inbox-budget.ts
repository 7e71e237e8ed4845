/**
 * What may still be written for a user: the per-user quota, counted from the
 * bot's ledger of files it wrote (src/store/media.ts), and the free space
 * left on the agents volume. A ledger row counts only while its file is still
 * the one the bot wrote (same inode and size): files the agent deleted free
 * the user's quota again, and their rows are dropped here.
 */
import { lstat, statfs } from "node:fs/promises";
import type { MediaRecord } from "../store/media.js";

/** The store's media ledger, as far as the media port needs it. */
export interface MediaLedger {
  find(agentId: string, chatId: string, source: string): MediaRecord | undefined;
  record(m: MediaRecord): void;
  remove(agentId: string, chatId: string, source: string): void;
  byUser(userId: string): MediaRecord[];
}

/** True while the ledger's file is still there, unchanged in identity and size. */
export async function stillWritten(m: MediaRecord): Promise<boolean> {
  const st = await lstat(m.path, { bigint: true }).catch(() => null);
  return st !== null && st.isFile() && st.ino.toString() === m.ino && Number(st.size) === m.size;
}

/** Bytes of the user's files still in agent inboxes; forgets the rows whose file is gone. */
export async function userUsage(ledger: MediaLedger, userId: string): Promise<number> {
  let total = 0;
  for (const m of ledger.byUser(userId)) {
    if (await stillWritten(m)) total += m.size;
    else ledger.remove(m.agentId, m.chatId, m.source);
  }
  return total;
}

/** Bytes an unprivileged writer may still use on the filesystem holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}
