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
 */
export function cutPoint(text: string, maxBytes = MAX_SEGMENT_BYTES): number {
  if (Buffer.byteLength(text, "utf8") <= maxBytes) return text.length;
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch, "utf8");
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += ch.length;
  }
  const head = text.slice(0, end);
  const para = head.lastIndexOf("\n\n");
  if (para > end / 2) return para + 2;
  const line = head.lastIndexOf("\n");
  if (line > end / 2) return line + 1;
  const space = head.lastIndexOf(" ");
  if (space > end / 2) return space + 1;
  return end;
}
