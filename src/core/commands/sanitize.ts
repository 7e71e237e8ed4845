/**
 * Names typed by users (room names, bookmark names) are untrusted text that
 * ends up in room lists and in other people's clients. Strip what can hide
 * or reorder text, fold whitespace, and bound the length.
 */

// C0/C1 controls, bidi embeddings/overrides/isolates and marks, zero-width
// characters, soft hyphen, word joiner and BOM.
const INVISIBLE = /[\p{Cc}\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/gu;

export const MAX_ROOM_NAME = 64;
export const MAX_SAVED_NAME = 40;

/** A safe, single-line, bounded version of `raw` (may be empty). */
export function cleanName(raw: string, max: number): string {
  const folded = raw
    .replace(/[\r\n\t\u2028\u2029]+/gu, " ")
    .replace(INVISIBLE, "")
    .replace(/\s+/gu, " ")
    .trim();
  // Cut on code points, not UTF-16 units, so no half surrogate pair is left.
  const points = [...folded];
  return points.length <= max ? folded : points.slice(0, max).join("").trimEnd();
}

/**
 * Markdown characters escaped, so a name shows as typed and cannot inject
 * links; `&` too, or a name like `&lt;b&gt;` would show as `<b>`.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>|~&]/gu, (c) => `\\${c}`);
}
