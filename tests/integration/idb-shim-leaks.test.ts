/**
 * The IndexedDB shim under the crypto store forgets finished transactions
 * and closed connections (idb-shim-leaks.ts): without that, every
 * transaction the Rust crypto ever ran stayed in memory. Real shim, real
 * SQLite files.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { installIndexedDb } from "../../src/matrix/crypto-store.js";

const logger = pino({ level: "silent" });
// The few IndexedDB shapes used here (the project compiles without the DOM library).
interface Req<T> {
  result: T;
  error: Error | null;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface Tx {
  objectStore(name: string): { put(value: unknown, key: string): unknown; get(key: string): Req<unknown> };
  abort(): void;
  error: Error | null;
  oncomplete: (() => void) | null;
  onabort: (() => void) | null;
}
interface Db {
  transaction(store: string, mode: "readonly" | "readwrite"): Tx;
  createObjectStore(name: string): unknown;
  close(): void;
  __transactions: unknown[];
}
interface Factory {
  open(name: string, version: number): Req<Db> & { onupgradeneeded: (() => void) | null };
  __connections: Record<string, unknown[]>;
}
const factory = (): Factory => (globalThis as unknown as { shimIndexedDB: Factory }).shimIndexedDB;

const done = <T>(req: Req<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error("request failed"));
  });
const finished = (tx: Tx): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error("aborted"));
  });

function open(name: string): Promise<Db> {
  const req = factory().open(name, 1);
  req.onupgradeneeded = () => req.result.createObjectStore("kv");
  return done(req);
}

describe("IndexedDB shim under the crypto store", () => {
  it("keeps no finished transaction and no closed connection, and still stores and reads", { timeout: 60_000 }, async () => {
    installIndexedDb(mkdtempSync(path.join(tmpdir(), "surfaces-idb-")), logger);
    const name = `leaks-${process.pid}`;
    const db = await open(name);
    for (let i = 0; i < 50; i++) {
      const tx = db.transaction("kv", "readwrite");
      tx.objectStore("kv").put({ n: i }, `k${i}`);
      await finished(tx);
    }
    expect(db.__transactions).toHaveLength(0);
    // A second connection, closed, leaves the list.
    const connections = factory().__connections;
    const second = await open(name);
    expect(connections[name]).toHaveLength(2);
    second.close();
    expect(connections[name]).toEqual([db]);
    const read = db.transaction("kv", "readonly");
    const value = await done(read.objectStore("kv").get("k49"));
    await finished(read);
    expect(value).toEqual({ n: 49 });
    expect(db.__transactions).toHaveLength(0);
    // Last: the shim runs no further transaction on a connection after an abort (a quirk of its own).
    const aborted = db.transaction("kv", "readwrite");
    aborted.objectStore("kv").put({ n: -1 }, "k0");
    aborted.abort();
    await finished(aborted).catch(() => undefined);
    expect(db.__transactions).toHaveLength(0);
    db.close();
    expect(connections[name]).toHaveLength(0);
  });
});
