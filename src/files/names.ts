/**
 * File names that are safe to create inside a workspace: no separators, no
 * `..`, no control or bidi-override characters, unicode kept, length capped.
 */

/** Bytes, not characters: most filesystems cap a name at 255 bytes. */
export const MAX_NAME_BYTES = 180;

// C0/C1 controls, DEL, and the bidi overrides/isolates that can disguise an extension.
const UNSAFE_CHARS = /[\p{Cc}\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;

/** A readable, safe single-component file name for `name` (never empty). */
export function safeName(name: string): string {
  let s = name.normalize("NFC").replace(UNSAFE_CHARS, "");
  s = s.replace(/[/\\]/g, "_"); // separators of every platform the agent might run on
  s = s.replace(/\.{2,}/g, "."); // no `..` anywhere
  s = s.trim().replace(/^\.+/, ""); // no hidden files, no leading dot-dot remnant
  s = s.replace(/\s+/g, " ");
  if (s === "") s = "file";
  return capBytes(s, MAX_NAME_BYTES);
}

/** Shortens a name to at most `max` UTF-8 bytes, keeping a short extension and whole code points. */
export function capBytes(name: string, max: number): string {
  if (Buffer.byteLength(name) <= max) return name;
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : "";
  const room = max - Buffer.byteLength(ext);
  let out = "";
  for (const ch of name.slice(0, name.length - ext.length)) {
    if (Buffer.byteLength(out + ch) > room) break;
    out += ch;
  }
  return out + ext;
}

/** `<timestamp>-<name>`, with `-2`, `-3`… before the extension when that name is taken. */
export function inboxFileName(timestampMs: number, safe: string, attempt = 1): string {
  if (attempt <= 1) return `${timestampMs}-${safe}`;
  const dot = safe.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [safe.slice(0, dot), safe.slice(dot)] : [safe, ""];
  return `${timestampMs}-${stem}-${attempt}${ext}`;
}

/** A chat id used as a directory name must be one plain component. */
export function isSafeComponent(s: string): boolean {
  return /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(s);
}

/** Directory mode matching a file mode: every class that may read may also enter (0644 → 0755). */
export function dirModeFor(fileMode: number): number {
  let mode = fileMode & 0o777;
  for (const [r, x] of [[0o400, 0o100], [0o040, 0o010], [0o004, 0o001]] as const) if (mode & r) mode |= x;
  return mode;
}
