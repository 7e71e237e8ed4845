/**
 * Fresh `platform_chat_id`s. An agent remembers a conversation by its chat
 * id, so an id must never be handed out twice — not even after the SQLite
 * file is lost, which is why this is not a database counter (a rebuilt
 * database would count from 1 again and reopen old conversations).
 *
 * The id is the clock in microsecond-sized slots: Date.now() * 1000 plus a
 * sequence, and never less than the previous id + 1, so it is strictly
 * increasing within a process and, across restarts, ahead of every id
 * issued before (as long as the clock does not go backwards). Values stay
 * below 2^53 until the year 2255, so they survive JSON numbers too.
 */
import type { ChatId } from "../core/ids.js";
import { asChatId } from "../core/ids.js";

export function chatIdGenerator(clock: () => number = Date.now): () => ChatId {
  let last = 0;
  return () => {
    last = Math.max(clock() * 1000, last + 1);
    return asChatId(String(last));
  };
}

export const newChatId: () => ChatId = chatIdGenerator();
