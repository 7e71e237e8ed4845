/**
 * A child process for the crypto-store test: opens the IndexedDB store the
 * way the bot does (installIndexedDb) in the directory given as argv[2],
 * then writes records one transaction at a time, several transactions in
 * flight, printing "DONE <n>" when record n's transaction fired `complete`.
 * It never stops by itself; the test SIGKILLs it in the middle.
 */
import pino from "pino";
import { installIndexedDb } from "../../src/matrix/crypto-store.js";

const dir = process.argv[2] ?? "";
installIndexedDb(dir, pino({ level: "silent" }));
interface Req { result: unknown; onsuccess: (() => void) | null; onerror: (() => void) | null; onupgradeneeded?: (() => void) | null }
interface Tx { objectStore(name: string): { put(value: unknown, key: string): void }; oncomplete: (() => void) | null; onerror: (() => void) | null }
interface Db { transaction(store: string, mode: string): Tx; createObjectStore(name: string): void }
const idb = (globalThis as unknown as { indexedDB: { open(name: string, version: number): Req } }).indexedDB;
const db = await new Promise<Db>((resolve, reject) => {
  const req = idb.open("durability", 1);
  req.onupgradeneeded = () => (req.result as Db).createObjectStore("records");
  req.onsuccess = () => resolve(req.result as Db);
  req.onerror = () => reject(new Error("open failed"));
});
let n = 0;
function write(): void {
  const i = n++;
  const tx = db.transaction("records", "readwrite");
  tx.objectStore("records").put({ i, payload: "x".repeat(2000) }, `r${i}`);
  tx.oncomplete = () => {
    process.stdout.write(`DONE ${i}\n`);
    write();
  };
  tx.onerror = () => process.exit(3);
}
for (let k = 0; k < 4; k++) write();
