/**
 * Opens a file an agent asked to send, only when it really lies inside the
 * agent's workspace: lexical check first (nothing is touched for `..` or
 * foreign paths), then realpath of both sides (symlinks pointing out), then
 * an O_NOFOLLOW open and, on Linux, a last look at what the descriptor is.
 */
import { constants, type promises as fsp } from "node:fs";
import { open, readlink, realpath } from "node:fs/promises";
import path from "node:path";
import { isInside, mapAgentPath, type WorkspaceScope } from "./paths.js";

export type OpenRefusal = "outside" | "too_long" | "invalid" | "missing" | "directory" | "not_file" | "empty" | "too_large";

export interface OpenedFile {
  handle: fsp.FileHandle;
  /** Real path on the surface's side. */
  realPath: string;
  /** Relative to the workspace (for logs). */
  relative: string;
  size: number;
}

export type OpenResult = { ok: true; file: OpenedFile } | { ok: false; reason: OpenRefusal };

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

export async function openWorkspaceFile(raw: string, scope: WorkspaceScope, maxBytes: number): Promise<OpenResult> {
  const mapped = mapAgentPath(raw, scope);
  if (!mapped.ok) return mapped;

  let realWorkspace: string;
  let real: string;
  try {
    realWorkspace = await realpath(scope.workspacePath);
    real = await realpath(mapped.absolute);
  } catch (err) {
    const code = errno(err);
    if (code === "ENOENT" || code === "ENOTDIR") return { ok: false, reason: "missing" };
    if (code === "ENAMETOOLONG") return { ok: false, reason: "too_long" };
    if (code === "ELOOP") return { ok: false, reason: "outside" };
    throw err;
  }
  if (!isInside(realWorkspace, real)) return { ok: false, reason: "outside" };

  let handle: fsp.FileHandle;
  try {
    // O_NONBLOCK: a FIFO planted in the workspace must not hang the open.
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = errno(err);
    if (code === "ENOENT") return { ok: false, reason: "missing" };
    if (code === "ELOOP") return { ok: false, reason: "outside" }; // swapped for a symlink since realpath
    throw err;
  }
  try {
    // Closes the gap between realpath and open: the descriptor's own path must still be inside.
    const viaProc = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => null);
    if (viaProc !== null && path.isAbsolute(viaProc) && !isInside(realWorkspace, viaProc)) {
      await handle.close();
      return { ok: false, reason: "outside" };
    }
    const st = await handle.stat();
    const refusal: OpenRefusal | null = st.isDirectory()
      ? "directory"
      : !st.isFile()
        ? "not_file"
        : st.size === 0
          ? "empty"
          : st.size > maxBytes
            ? "too_large"
            : null;
    if (refusal) {
      await handle.close();
      return { ok: false, reason: refusal };
    }
    return { ok: true, file: { handle, realPath: real, relative: mapped.relative, size: st.size } };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}
