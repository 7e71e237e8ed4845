/**
 * An event may hold 65,536 bytes, and an edit carries the text twice plus its
 * HTML. Keeping each message's Markdown under this many UTF-8 bytes leaves
 * room for all of that.
 */
export const MAX_SEGMENT_BYTES = 8_000;

/**
 * Where to cut `text` so the head fits in `maxBytes`: at the last paragraph
 * or line break when there is one in the second half, else at a code point.
 * Returns text.length when all of it fits.
 *
 * Looks at no more than the first `maxBytes` code units, however long `text`
 * is: a UTF-16 code unit is at least one UTF-8 byte, so nothing past them can
 * fit. A huge answer therefore costs the same per message as a short one.
 */
export function cutPoint(text: string, maxBytes = MAX_SEGMENT_BYTES): number {
  if (text.length <= maxBytes && Buffer.byteLength(text, "utf8") <= maxBytes) return text.length;
  const window = text.length > maxBytes ? text.slice(0, maxBytes) : text;
  let bytes = 0;
  let end = 0;
  for (const ch of window) {
    const size = Buffer.byteLength(ch, "utf8");
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += ch.length;
  }
  // (A surrogate pair cut by the window's edge never fits: its lone half
  // counts 3 bytes after at least maxBytes - 1.)
  const head = text.slice(0, end);
  const para = head.lastIndexOf("\n\n");
  if (para > end / 2) return para + 2;
  const line = head.lastIndexOf("\n");
  if (line > end / 2) return line + 1;
  const space = head.lastIndexOf(" ");
  if (space > end / 2) return space + 1;
  return end;
}
