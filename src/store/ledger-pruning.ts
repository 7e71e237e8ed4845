import type { Logger } from "pino";
import type { Store } from "./store.js";

/** Handled events are forgotten after a week. */
export const LEDGER_KEEP_MS = 7 * 24 * 60 * 60_000;

/**
 * Prunes the handled-event ledger now and then hourly. The ledger only has to
 * outlive replays (a resumed sync, Synapse's ~24 h transaction memory); the
 * caller starts this only once synced, so a first sync after a long downtime
 * still finds its fences. Returns the stop function.
 */
export function pruneLedgerHourly(store: Store, logger: Logger): () => void {
  const prune = (): void => {
    const removed = store.inbox.prune(LEDGER_KEEP_MS);
    if (removed) logger.info({ removed }, "pruned handled events from the ledger");
  };
  prune();
  const timer = setInterval(prune, 60 * 60_000).unref();
  return () => clearInterval(timer);
}
