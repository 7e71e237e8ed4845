/** A `!command args` line, or null when the text is not a command. */
export interface ParsedCommand {
  name: string;
  args: string;
}

/**
 * Commands start with `!` as the first non-space character. Odd spacing
 * (`!  new   x`, tabs, NBSP) is tolerated; the name is case-insensitive.
 */
export function parseCommand(text: string): ParsedCommand | null {
  const trimmed = text.replace(/^[\s\u00a0]+/u, "");
  if (!trimmed.startsWith("!")) return null;
  const rest = trimmed.slice(1).replace(/^[\s\u00a0]+/u, "");
  const match = /^([A-Za-z]+)(?:[\s\u00a0]+([\s\S]*))?$/u.exec(rest);
  if (!match) return null;
  return { name: (match[1] ?? "").toLowerCase(), args: (match[2] ?? "").trim() };
}
