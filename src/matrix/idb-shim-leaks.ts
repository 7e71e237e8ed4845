/**
 * indexeddbshim 17 keeps every transaction a connection ever started in
 * `IDBDatabase.__transactions` (its only use: aborting them when the
 * connection is force-closed) until that connection closes, and every
 * connection in `IDBFactory.__connections[name]` until the database is
 * deleted. The Rust crypto holds one connection for the life of the process
 * and starts several transactions per message and per room, so each one
 * (with its requests and their results) stayed in memory for good: an
 * in-memory copy of the store that grew without bound. Here a transaction
 * leaves the list when it completes or aborts, and a connection when it
 * closes; the shim skips closed connections and finished transactions
 * wherever it walks those lists, so nothing it does changes.
 */
import type { Logger } from "pino";

interface ShimTransaction {
  addEventListener(type: "complete" | "abort", listener: () => void): void;
}
interface ShimDatabase {
  readonly name: string;
  __transactions?: ShimTransaction[];
  transaction: (this: ShimDatabase, ...args: unknown[]) => ShimTransaction;
  close: (this: ShimDatabase) => void;
}
interface ShimFactory {
  __connections?: Record<string, ShimDatabase[]>;
}

const remove = <T>(list: T[] | undefined, item: T): void => {
  const i = list?.indexOf(item) ?? -1;
  if (i >= 0) list!.splice(i, 1);
};

/** Patches the shim installed on `global` (after indexeddbshim's setGlobalVars). Returns whether it could. */
export function plugShimLeaks(global: object, logger: Logger): boolean {
  const g = global as { IDBDatabase?: { prototype: ShimDatabase }; shimIndexedDB?: ShimFactory };
  const proto = g.IDBDatabase?.prototype;
  const factory = g.shimIndexedDB;
  if (!proto || !factory || typeof proto.transaction !== "function" || typeof proto.close !== "function" || !factory.__connections) {
    logger.warn("IndexedDB shim internals not as expected; its transaction and connection lists grow with use");
    return false;
  }
  const { transaction, close } = proto;
  proto.transaction = function (this: ShimDatabase, ...args: unknown[]): ShimTransaction {
    const trans = transaction.apply(this, args);
    const forget = (): void => remove(this.__transactions, trans);
    trans.addEventListener("complete", forget);
    trans.addEventListener("abort", forget);
    return trans;
  };
  proto.close = function (this: ShimDatabase): void {
    close.call(this);
    remove(factory.__connections?.[this.name], this);
  };
  return true;
}
