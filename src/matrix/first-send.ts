/**
 * When the first event of a streamed answer may go out. It is the event the
 * push notification shows, so it waits for a first sentence (or line, or a
 * screenful) — but never longer than a short window after the first text:
 * a slow agent's answer still appears promptly, a fast one is not delayed.
 * A status line alone (the agent started with a tool) is not held.
 */

/** The most the first event waits for a first sentence. */
export const FIRST_SENTENCE_WINDOW_MS = 500;
/** Text this long reads as something in a notification, sentence or not. */
export const FIRST_SENTENCE_MAX_CHARS = 200;

/** A sentence end (., !, ?, …, :) followed by a space, or a line break, after some text. */
const SENTENCE_END = /\S[.!?…:]\s|\S\s*\n/u;

/** Whether `text` already makes a meaningful first event. */
export function firstSendReady(text: string): boolean {
  return text.length >= FIRST_SENTENCE_MAX_CHARS || SENTENCE_END.test(text);
}
