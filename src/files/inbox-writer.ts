/**
 * Writes a user's file into `<workspace>/inbox/<chat_id>/<timestamp>-<safe-name>`.
 * The bytes stream to a hidden temp name in the same directory and are
 * linked to the final name only when complete and within the limit: a failed
 * or refused download leaves nothing behind, and link() never replaces an
 * existing file, so two files with the same name both survive.
 */
import { randomUUID } from "node:crypto";
import { chmod, chown, link, lstat, mkdir, open, realpath, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { dirModeFor, inboxFileName, isSafeComponent, safeName } from "./names.js";
import { isInside } from "./paths.js";

export interface Ownership {
  /** Mode for written files (directories get the matching x bits). */
  fileMode: number;
  uid?: number;
  gid?: number;
}

export interface InboxTarget {
  workspacePath: string;
  chatId: string;
  /** The name the user gave the file (made safe here). */
  name: string;
  maxBytes: number;
  /**
   * Bytes pass through this first (an encrypted attachment's decryption).
   * Made only once the pipeline is in place, so its failure at the end of
   * the stream always has a listener.
   */
  decode?: () => Transform;
}

export interface WrittenFile {
  /** Relative to the workspace, `/`-separated: what the agent is told. */
  relative: string;
  absolute: string;
  size: number;
}

export class FileTooLargeError extends Error {
  override readonly name = "FileTooLargeError";
  constructor(readonly limitBytes: number) {
    super(`file exceeds ${limitBytes} bytes`);
  }
}

export class InboxOutsideWorkspaceError extends Error {
  override readonly name = "InboxOutsideWorkspaceError";
}

const MAX_NAME_ATTEMPTS = 1000;

export async function writeToInbox(source: Readable, target: InboxTarget, own: Ownership, now: () => number = Date.now): Promise<WrittenFile> {
  if (!isSafeComponent(target.chatId)) throw new Error(`unsafe chat id for a directory name: ${JSON.stringify(target.chatId)}`);
  const dir = await prepareDir(target.workspacePath, target.chatId, own);
  const ts = now();
  const tmp = path.join(dir, `.${ts}-${randomUUID()}.part`);
  const handle = await open(tmp, "wx", own.fileMode);
  let size = 0;
  try {
    const limiter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        done(size > target.maxBytes ? new FileTooLargeError(target.maxBytes) : null, chunk);
      },
    });
    // The write stream closes the handle when done.
    if (target.decode) await pipeline(source, target.decode(), limiter, handle.createWriteStream());
    else await pipeline(source, limiter, handle.createWriteStream());
    await chmod(tmp, own.fileMode); // open()'s mode is filtered by the umask
    if (own.uid !== undefined || own.gid !== undefined) await chown(tmp, own.uid ?? -1, own.gid ?? -1);
    const finalName = await claimName(tmp, dir, ts, safeName(target.name));
    const absolute = path.join(dir, finalName);
    return { relative: path.relative(await realpath(target.workspacePath), absolute).split(path.sep).join("/"), absolute, size };
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Creates inbox/<chat_id>/ with the volume's owner and mode, refusing symlinks planted on the way. */
async function prepareDir(workspacePath: string, chatId: string, own: Ownership): Promise<string> {
  const dirMode = dirModeFor(own.fileMode);
  const realWorkspace = await realpath(workspacePath);
  let dir = realWorkspace;
  // One level at a time with lstat: the agent owns its workspace and could
  // have made `inbox` a symlink to elsewhere; mkdir -p would follow it.
  for (const part of ["inbox", chatId]) {
    dir = path.join(dir, part);
    const created = await mkdir(dir, { mode: dirMode }).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === "EEXIST") return false;
        throw err;
      },
    );
    const st = await lstat(dir);
    if (!st.isDirectory()) throw new InboxOutsideWorkspaceError(`${dir} is not a plain directory`);
    if (created) {
      await chmod(dir, dirMode);
      if (own.uid !== undefined || own.gid !== undefined) await chown(dir, own.uid ?? -1, own.gid ?? -1);
    }
  }
  if (!isInside(realWorkspace, await realpath(dir))) throw new InboxOutsideWorkspaceError(`inbox ${dir} is outside ${realWorkspace}`);
  return dir;
}

/** Links the finished temp file to the first free `<ts>-<name>[-n]`; never overwrites. */
async function claimName(tmp: string, dir: string, ts: number, safe: string): Promise<string> {
  for (let attempt = 1; attempt <= MAX_NAME_ATTEMPTS; attempt++) {
    const name = inboxFileName(ts, safe, attempt);
    const dest = path.join(dir, name);
    try {
      await link(tmp, dest);
      await unlink(tmp);
      return name;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") continue;
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw err;
      // A volume without hard links: check, then rename (a tiny race, only there).
      if (await stat(dest).then(() => true, () => false)) continue;
      await rename(tmp, dest);
      return name;
    }
  }
  throw new Error(`no free name for ${safe} after ${MAX_NAME_ATTEMPTS} attempts`);
}
