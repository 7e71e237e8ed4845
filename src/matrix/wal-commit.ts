/**
 * Durable commits for the crypto store without blocking the event loop.
 *
 * With `synchronous = FULL` SQLite fsyncs the write-ahead log inside
 * COMMIT, and better-sqlite3 runs COMMIT on the main thread: every write
 * transaction of the Rust crypto stopped the whole bot for the length of an
 * fsync (1.5–2 ms here; more on a busy disk). Instead the connection runs
 * with `synchronous = NORMAL` (COMMIT appends to the log, no fsync) and the
 * shim's driver hands a write transaction's COMMIT result back — which is
 * what lets the transaction's `complete` event fire, and the next
 * transaction on the database start — only after an fsync of the log,
 * started after that COMMIT, has finished on libuv's thread pool. So a
 * completed transaction is on disk exactly as before; what the bot does
 * meanwhile (other rooms, other databases, the sync) is no longer frozen.
 * Commits that arrive while an fsync is running share the next one.
 * Checkpoints still sync the log and the database themselves (SQLite does
 * that in NORMAL mode too). A SIGKILL loses nothing that was committed: the
 * log's pages are in the kernel's cache once COMMIT returns.
 */
import { closeSync, fstatSync, fsync, openSync, statSync } from "node:fs";

/** The shim's driver under one WebSQL database (indexeddbshim 17's nodeSQLiteDatabase). */
export interface ShimDriver {
  exec(queries: { sql: string }[], readOnly: boolean, callback: (err: Error | null, results?: unknown[]) => void): void;
}

const END = /^\s*(END|COMMIT)\b/i;
const ROLLBACK = /^\s*ROLLBACK\b/i;
const READS = /^\s*(SELECT|BEGIN)\b/i;

/** One write-ahead log's fsyncs: at most one at a time; commits made while it runs wait for the next. */
class LogSyncer {
  private running = false;
  private next: ((err: Error | null) => void)[] = [];
  private fd: number | null = null;
  private ino = 0;

  constructor(private readonly file: string) {}

  /** Calls `done` once an fsync begun after this call has finished. Call right after the COMMIT. */
  sync(done: (err: Error | null) => void): void {
    this.next.push(done);
    if (!this.running) this.start();
  }

  /**
   * The log file as it is now. SQLite deletes and recreates it only on this
   * thread (closing the last connection, changing the journal mode), and a
   * log it removed was checkpointed and synced first; so the file at the
   * path when a commit has just returned is the one holding that commit.
   */
  private current(): number | null {
    let ino: number;
    try {
      ino = statSync(this.file).ino;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null; // no log: nothing appended since it was checkpointed
      throw err;
    }
    if (this.fd !== null && ino === this.ino) return this.fd;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = openSync(this.file, "r");
    this.ino = fstatSync(this.fd).ino;
    return this.fd;
  }

  private start(): void {
    const batch = this.next;
    this.next = [];
    const finish = (err: Error | null): void => {
      this.running = false;
      for (const cb of batch) cb(err);
      if (this.next.length > 0) this.start();
    };
    let fd: number | null;
    try {
      fd = this.current();
    } catch (err) {
      this.fd = null;
      finish(err as Error);
      return;
    }
    if (fd === null) {
      finish(null);
      return;
    }
    this.running = true;
    fsync(fd, finish);
  }
}

/**
 * Wraps the driver's `exec` so that a COMMIT after any write is reported
 * only once the log is on disk. `onSyncError` gets an fsync failure; the
 * COMMIT's callback is then not called (the shim would ignore an error
 * there and fire `complete` for data that may not be on disk).
 */
export function syncCommitsOffThread(driver: ShimDriver, logFile: string, onSyncError: (err: Error) => void): void {
  const exec = driver.exec.bind(driver);
  const syncer = new LogSyncer(logFile);
  let wrote = false;
  driver.exec = (queries, readOnly, callback) => {
    let commits = false;
    for (const q of queries) {
      if (readOnly || READS.test(q.sql)) continue;
      if (END.test(q.sql) || ROLLBACK.test(q.sql)) {
        commits ||= wrote && END.test(q.sql);
        wrote = false;
      } else {
        wrote = true;
      }
    }
    exec(queries, readOnly, (err, results) => {
      if (!commits) {
        callback(err, results);
        return;
      }
      syncer.sync((syncErr) => {
        if (syncErr) onSyncError(syncErr);
        else callback(err, results);
      });
    });
  };
}
