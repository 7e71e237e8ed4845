/**
 * Durable storage for the Rust crypto (matrix-sdk-crypto-wasm). The wasm
 * build keeps its state in IndexedDB, which Node lacks; indexeddbshim
 * provides IndexedDB over SQLite (better-sqlite3), one SQLite transaction
 * per IndexedDB transaction, committed before its `complete` event. So an
 * account change (new one-time keys, a room key) is on disk before the
 * crypto hands out the request that uploads it — see docs/design-notes.md.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";
import setGlobalVars from "indexeddbshim";
import type { MatrixClient } from "matrix-js-sdk";
import type { Logger } from "pino";
import { plugShimLeaks } from "./idb-shim-leaks.js";
import { syncCommitsOffThread, type ShimDriver } from "./wal-commit.js";

/** The kv key naming this data directory's crypto databases. */
export const CRYPTO_PREFIX_KEY = "matrix.crypto_store_prefix";
/** The same name and the device it belongs to, in a file beside the databases (crypto/). */
const PREFIX_FILE = "store-prefix";

interface PrefixFile {
  prefix?: unknown;
  device_id?: unknown;
  user_id?: unknown;
}

/** The name file's content, or undefined when it is missing or unreadable. */
function readPrefixFile(file: string): PrefixFile | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as PrefixFile;
  } catch {
    return undefined;
  }
}

/** The store's name from its file, if the file names it for this device (a store holds one device's keys). */
function prefixOf(saved: PrefixFile | undefined, deviceId: string): string | undefined {
  return saved?.device_id === deviceId && typeof saved.prefix === "string" && saved.prefix !== "" ? saved.prefix : undefined;
}

/**
 * The device whose keys the crypto store of `dataDir` holds: a password
 * login with no saved device (surfaces.db lost) logs in as it again, instead
 * of making a new device and leaving the old one behind.
 */
export function storeDeviceId(dataDir: string, userId: string): string | undefined {
  const saved = readPrefixFile(`${dataDir}/crypto/${PREFIX_FILE}`);
  // Files from before the user id was kept are taken as this user's: a data directory serves one bot.
  if (saved?.user_id !== undefined && saved.user_id !== userId) return undefined;
  const id = saved?.device_id;
  return typeof id === "string" && id !== "" ? id : undefined;
}

/** Writes a small file so that it is whole and on disk before anything depends on it. */
function writeDurably(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dirFd = openSync(dirname(file), "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

let installedDir: string | null = null;

/**
 * Puts a SQLite-backed `indexedDB` on globalThis, its files in `dir`. The
 * shim keeps one catalogue database per process, so the first directory
 * wins; a second one (only tests start two bots in one process) is logged,
 * and the per-data-directory database names keep the stores apart.
 */
export function installIndexedDb(dir: string, logger: Logger): void {
  if (installedDir === dir) return;
  if (installedDir !== null) {
    logger.warn({ crypto_dir: installedDir, wanted: dir }, "IndexedDB already lives in another directory in this process; crypto databases go there");
    return;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  setGlobalVars(globalThis as never, {
    checkOrigin: false,
    databaseBasePath: dir,
    deleteDatabaseFiles: false,
  });
  tuneConnections(logger);
  plugShimLeaks(globalThis, logger);
  startTransactionsPromptly();
  installedDir = dir;
}

/** The better-sqlite3 connection under one of the shim's databases: what `tuneConnections` uses of it. */
interface SqliteConnection {
  readonly name: string;
  pragma(sql: string, opts?: { simple: boolean }): unknown;
  prepare(sql: string): unknown;
}
/** The shim's WebSQL database, down to its better-sqlite3 connection (indexeddbshim 17, websql-configurable 3). */
interface ShimWebSql {
  _db?: Partial<ShimDriver> & { _db?: { _db?: SqliteConnection } };
}
type OpenDatabase = (...args: unknown[]) => ShimWebSql;

/** Prepared statements kept per connection; the shim's SQL is a small fixed set per object store (values are bound, not spliced in). */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Tunes each connection the shim opens. Write-ahead log: a commit is one
 * append and one fsync of the log (the default rollback journal costs a
 * journal file created, synced and deleted, and the database synced, on
 * every commit). The fsync runs off the main thread, and the transaction's
 * `complete` waits for it (wal-commit.ts); where the shim's driver is not
 * the one expected, `synchronous = FULL` does it inside COMMIT instead.
 * Either way a transaction is on disk when its `complete` event fires. The
 * mode is kept in the file; a connection that cannot switch (another one
 * holds a lock) works on in the mode the file has. Prepared statements are
 * reused: the shim prepares every statement anew (`db.prepare(sql)` per
 * query), and the Rust crypto runs the same few dozen over and over.
 */
function tuneConnections(logger: Logger): void {
  const shim = (globalThis as unknown as { shimIndexedDB?: { __openDatabase?: OpenDatabase } }).shimIndexedDB;
  const open = shim?.__openDatabase;
  if (!shim || !open) {
    logger.warn("IndexedDB shim without __openDatabase; crypto databases keep SQLite's rollback journal");
    return;
  }
  shim.__openDatabase = (...args: unknown[]): ShimWebSql => {
    const webSql = open(...args);
    const driver = webSql._db;
    const sqlite = driver?._db?._db;
    try {
      if (!sqlite) throw new Error("no better-sqlite3 connection under the shim's database");
      if (sqlite.pragma("journal_mode", { simple: true }) !== "wal") sqlite.pragma("journal_mode = WAL");
      if (sqlite.pragma("journal_mode", { simple: true }) === "wal" && typeof driver?.exec === "function") {
        syncCommitsOffThread(driver as ShimDriver, `${sqlite.name}-wal`, (err) => {
          // The shim would fire `complete` for a commit that may not be on disk; stop instead (the store reopens at what is).
          logger.fatal({ err, database: sqlite.name }, "crypto store: fsync of the write-ahead log failed; stopping");
          process.exit(1);
        });
        sqlite.pragma("synchronous = NORMAL");
      } else {
        sqlite.pragma("synchronous = FULL");
      }
    } catch (err) {
      logger.warn({ err, database: args[0] }, "crypto database stays in SQLite's rollback-journal mode");
    }
    if (sqlite) cacheStatements(sqlite);
    return webSql;
  };
}

/**
 * Makes `prepare` hand out a statement prepared before for the same SQL.
 * The shim runs each statement to the end (`all()` or `run()`) before the
 * next, so one statement object per SQL text is never used twice at once;
 * SQLite re-prepares a cached statement by itself after a schema change.
 */
function cacheStatements(sqlite: SqliteConnection): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, unknown>();
  sqlite.prepare = (sql: string): unknown => {
    let stmt = cache.get(sql);
    if (stmt === undefined) {
      stmt = prepare(sql);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.clear();
      cache.set(sql, stmt);
    }
    return stmt;
  };
}

type TransactionMethod = (this: unknown, ...args: unknown[]) => unknown;

/**
 * The shim starts a transaction's requests with `setTimeout(…, 0)` "as soon
 * as all synchronous code is done" (its IDBTransaction constructor); in
 * Node a timer runs 1 ms later at the earliest, and the Rust crypto runs
 * about twenty transactions one after another per message. While the shim
 * builds a transaction, a zero-delay timer becomes `setImmediate`: it too
 * runs after the synchronous code and every queued promise job (so the
 * requests queued with the transaction are all there), without the
 * millisecond. Nothing else changes: the shim calls no other timer there.
 */
function startTransactionsPromptly(): void {
  const proto = (globalThis as unknown as { IDBDatabase?: { prototype: { transaction: TransactionMethod } } }).IDBDatabase?.prototype;
  if (!proto) return;
  const transaction = proto.transaction;
  proto.transaction = function (this: unknown, ...args: unknown[]): unknown {
    const timer = globalThis.setTimeout; // the one in place now (test fake timers included)
    globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...rest: unknown[]) =>
      ms ? timer(fn, ms, ...rest) : setImmediate(fn, ...rest)) as typeof setTimeout;
    try {
      return transaction.apply(this, args);
    } finally {
      globalThis.setTimeout = timer;
    }
  };
}

export interface CryptoStoreDeps {
  /** The bot's data directory (SURFACES_DATA_DIR). */
  dataDir: string;
  kv: { get(key: string): string | undefined; set(key: string, value: string): void };
  logger: Logger;
}

/**
 * Starts the client's Rust crypto on the durable store. The database names
 * carry a random prefix kept beside them (with the device it belongs to) and
 * in the bot's own database: a restart on the same data directory opens the
 * same device keys, also after surfaces.db was lost; a new data directory or
 * a new device starts a new store (never a stale one left in the process).
 */
export async function initCrypto(client: MatrixClient, deps: CryptoStoreDeps): Promise<void> {
  const dir = `${deps.dataDir}/crypto`;
  const prefixFile = `${dir}/${PREFIX_FILE}`;
  const deviceId = client.getDeviceId() ?? "";
  const saved = readPrefixFile(prefixFile);
  // The file beside the databases names them; the kv copy is how older versions kept it.
  let prefix = prefixOf(saved, deviceId) ?? deps.kv.get(CRYPTO_PREFIX_KEY);
  if (prefix && !existsSync(dir)) {
    // The homeserver still has this device's old keys; new ones will not be accepted for it.
    // (With a password, lost-crypto-store.ts has already made this a new device.)
    deps.logger.error(
      { crypto_dir: dir },
      "the crypto store of this data directory is missing; restore it from the same backup as surfaces.db, or log in with SURFACES_PASSWORD instead of an access token to become a new device",
    );
  }
  installIndexedDb(dir, deps.logger);
  prefix ??= `surfaces-${randomBytes(6).toString("hex")}`;
  // Kept with the store, so a lost or deleted surfaces.db (rebuilt from room
  // state) reopens the same device keys instead of making new ones that the
  // homeserver refuses ("one time key … already exists").
  mkdirSync(dir, { recursive: true, mode: 0o700 }); // installed once per process: a second bot's dir may not exist yet
  const userId = client.getUserId();
  if (prefixOf(saved, deviceId) !== prefix || saved?.user_id !== userId) {
    writeDurably(prefixFile, JSON.stringify({ prefix, device_id: deviceId, user_id: userId }));
  }
  if (deps.kv.get(CRYPTO_PREFIX_KEY) !== prefix) deps.kv.set(CRYPTO_PREFIX_KEY, prefix);
  await client.initRustCrypto({ useIndexedDB: true, cryptoDatabasePrefix: prefix });
  const keys = await client.getCrypto()?.getOwnDeviceKeys();
  deps.logger.info({ device_id: client.getDeviceId(), ed25519: keys?.ed25519 }, "end-to-end encryption ready");
}

/**
 * Stops syncing but leaves the crypto running; returns what stops it. At
 * shutdown the turns still running finish their answers, and in encrypted
 * rooms those sends need the crypto (matrix-js-sdk's stopClient() would
 * close it at once, and a later use fails inside the wasm).
 */
export function stopSyncKeepCrypto(client: MatrixClient): () => void {
  const crypto = client.getCrypto() as unknown as { stop(): void } | undefined;
  if (!crypto) {
    client.stopClient();
    return () => undefined;
  }
  const stopCrypto = crypto.stop.bind(crypto);
  crypto.stop = () => undefined;
  try {
    client.stopClient();
  } finally {
    crypto.stop = stopCrypto;
  }
  return stopCrypto;
}
