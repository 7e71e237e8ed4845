/**
 * Writes a user's file into `<workspace>/inbox/<chat_id>/<timestamp>-<safe-name>`.
 * The bytes stream to a hidden temp name in the same directory and are
 * linked to the final name only when complete and within the limit: a failed
 * or refused download leaves nothing behind, and link() never replaces an
 * existing file, so two files with the same name both survive.
 *
 * The agent owns its workspace (same uid as the bot in the image) and may
 * swap anything in it for a symlink at any moment. So no step goes by a path
 * the agent can redirect: each directory is opened with O_NOFOLLOW and then
 * used through its descriptor (`/proc/self/fd/<n>/<name>`, Linux's openat),
 * mode and owner are set on open descriptors (fchmod/fchown), and where the
 * directory and the linked file really are is checked again after the link.
 */
import { randomUUID } from "node:crypto";
import { constants, existsSync, type promises as fsp } from "node:fs";
import { link, lstat, mkdir, open, readlink, realpath, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { Transform, Writable, type Readable } from "node:stream";
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
  /** Inode of the written file (decimal; may exceed 2^53). */
  ino: string;
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

/** The temp file or the inbox folder was swapped while the file was being written; nothing was kept. */
export class InboxRaceError extends Error {
  override readonly name = "InboxRaceError";
}

const MAX_NAME_ATTEMPTS = 1000;
const PROC_FD = "/proc/self/fd";
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const TMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export async function writeToInbox(source: Readable, target: InboxTarget, own: Ownership, now: () => number = Date.now): Promise<WrittenFile> {
  if (!isSafeComponent(target.chatId)) throw new Error(`unsafe chat id for a directory name: ${JSON.stringify(target.chatId)}`);
  const realWorkspace = await realpath(target.workspacePath);
  const expectedDir = path.join(realWorkspace, "inbox", target.chatId);
  const dir = await openInboxDir(realWorkspace, target.chatId, own);
  try {
    const ts = now();
    const tmpName = `.${ts}-${randomUUID()}.part`;
    const file = await open(dir.at(tmpName), TMP_FLAGS, own.fileMode);
    let size = 0;
    try {
      // The descriptor must be in the directory we checked (the folder is pinned, but be sure).
      await expectWhere(file, path.join(expectedDir, tmpName));
      const limiter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          done(size > target.maxBytes ? new FileTooLargeError(target.maxBytes) : null, chunk);
        },
      });
      // The handle stays open for fchmod/fchown below.
      if (target.decode) await pipeline(source, target.decode(), limiter, handleSink(file));
      else await pipeline(source, limiter, handleSink(file));
      // On the descriptor, not the name: the agent may have swapped the name meanwhile.
      await file.chmod(own.fileMode); // open()'s mode is filtered by the umask
      if (own.uid !== undefined || own.gid !== undefined) await file.chown(own.uid ?? -1, own.gid ?? -1);
      const ours = await file.stat({ bigint: true });
      const finalName = await claimName(dir, tmpName, ts, safeName(target.name), ours);
      // After the link: the folder must still be the workspace's, else take the file back out.
      if ((await dir.where()) !== expectedDir) {
        await unlink(dir.at(finalName)).catch(() => undefined);
        throw new InboxRaceError(`inbox folder moved during the write (now ${await dir.where()})`);
      }
      const absolute = path.join(expectedDir, finalName);
      return { relative: path.relative(realWorkspace, absolute).split(path.sep).join("/"), absolute, size, ino: ours.ino.toString() };
    } catch (err) {
      await unlink(dir.at(tmpName)).catch(() => undefined); // by name inside the pinned folder: never elsewhere
      throw err;
    } finally {
      await file.close().catch(() => undefined);
    }
  } finally {
    await dir.close();
  }
}

/**
 * Removes a file writeToInbox wrote, only if it still lies inside the
 * workspace (the folder is opened without following symlinks and checked
 * through its descriptor, so a swapped folder cannot redirect the unlink).
 */
export async function removeFromInbox(workspacePath: string, absolute: string): Promise<void> {
  const realWorkspace = await realpath(workspacePath).catch(() => null);
  if (!realWorkspace || !isInside(realWorkspace, absolute)) return;
  const dir = await PinnedDir.open(path.dirname(absolute)).catch(() => null);
  if (!dir) return;
  try {
    if ((await dir.where()) === path.dirname(absolute)) await unlink(dir.at(path.basename(absolute))).catch(() => undefined);
  } finally {
    await dir.close();
  }
}

/** A directory held open; names inside it resolve against that very directory. */
class PinnedDir {
  private constructor(
    private readonly handle: fsp.FileHandle,
    private readonly fallback: string,
  ) {}

  static async open(p: string): Promise<PinnedDir> {
    return new PinnedDir(await open(p, DIR_FLAGS), p);
  }

  /** A path to `name` inside this directory that no rename or symlink swap can redirect (on Linux). */
  at(name: string): string {
    return HAS_PROC ? `${PROC_FD}/${this.handle.fd}/${name}` : path.join(this.fallback, name);
  }

  /** Where the directory really is now. */
  async where(): Promise<string> {
    return HAS_PROC ? readlink(`${PROC_FD}/${this.handle.fd}`) : realpath(this.fallback);
  }

  chmod(mode: number): Promise<void> {
    return this.handle.chmod(mode);
  }

  chown(uid: number, gid: number): Promise<void> {
    return this.handle.chown(uid, gid);
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

const HAS_PROC = existsSync(PROC_FD);

/** Writes into an open handle and leaves it open (a handle's own write stream holds it until destroyed). */
function handleSink(file: fsp.FileHandle): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      void (async () => {
        for (let off = 0; off < chunk.length; ) off += (await file.write(chunk, off)).bytesWritten;
      })().then(() => done(), done);
    },
  });
}

/** The open file must be exactly `expected` (Linux; elsewhere this check is skipped). */
async function expectWhere(file: fsp.FileHandle, expected: string): Promise<void> {
  if (!HAS_PROC) return;
  const actual = await readlink(`${PROC_FD}/${file.fd}`);
  if (actual !== expected) throw new InboxRaceError(`temp file opened at ${actual}, expected ${expected}`);
}

/**
 * Opens inbox/<chat_id>/ under the real workspace, creating each level with
 * the volume's owner and mode, one level at a time through the parent's
 * descriptor: the agent could make `inbox` a symlink to elsewhere, and
 * mkdir -p (or any path walk) would follow it.
 */
async function openInboxDir(realWorkspace: string, chatId: string, own: Ownership): Promise<PinnedDir> {
  const dirMode = dirModeFor(own.fileMode);
  let dir = await PinnedDir.open(realWorkspace);
  let expected = realWorkspace;
  try {
    for (const part of ["inbox", chatId]) {
      expected = path.join(expected, part);
      const created = await mkdir(dir.at(part), { mode: dirMode }).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code === "EEXIST") return false;
          throw err;
        },
      );
      const child = await PinnedDir.open(dir.at(part)).catch((err: NodeJS.ErrnoException) => {
        // ELOOP: a symlink (O_NOFOLLOW); ENOTDIR: something else that is not a directory.
        if (err.code === "ELOOP" || err.code === "ENOTDIR") throw new InboxOutsideWorkspaceError(`${expected} is not a plain directory`);
        throw err;
      });
      await dir.close();
      dir = child;
      if ((await dir.where()) !== expected) throw new InboxOutsideWorkspaceError(`inbox ${expected} is really ${await dir.where()}`);
      if (created) {
        await dir.chmod(dirMode);
        if (own.uid !== undefined || own.gid !== undefined) await dir.chown(own.uid ?? -1, own.gid ?? -1);
      }
    }
    return dir;
  } catch (err) {
    await dir.close();
    throw err;
  }
}

/**
 * Links the finished temp file to the first free `<ts>-<name>[-n]` in the
 * pinned folder; never overwrites. link() does not follow a symlink put in
 * place of the temp name, so the linked inode is compared with ours and
 * taken back out when it is not the file we wrote.
 */
async function claimName(dir: PinnedDir, tmpName: string, ts: number, safe: string, ours: { dev: bigint; ino: bigint }): Promise<string> {
  const tmp = dir.at(tmpName);
  for (let attempt = 1; attempt <= MAX_NAME_ATTEMPTS; attempt++) {
    const name = inboxFileName(ts, safe, attempt);
    const dest = dir.at(name);
    try {
      await link(tmp, dest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") continue;
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw err;
      // A volume without hard links: check, then rename (a tiny race, only there).
      if (await lstat(dest).then(() => true, () => false)) continue;
      await rename(tmp, dest);
    }
    await unlink(tmp).catch(() => undefined);
    const st = await lstat(dest, { bigint: true }).catch(() => null);
    if (!st || !st.isFile() || st.dev !== ours.dev || st.ino !== ours.ino) {
      if (st && !st.isDirectory()) await unlink(dest).catch(() => undefined);
      throw new InboxRaceError(`temp file ${tmpName} was swapped before it was linked`);
    }
    return name;
  }
  throw new Error(`no free name for ${safe} after ${MAX_NAME_ATTEMPTS} attempts`);
}
