import type { Migration } from "./index.js";

/**
 * `sent` (txn id → event id) and `counters` were never read: transaction ids
 * derived from the turn already make a retried send the same event, and the
 * metrics live in prom-client. Dropped rather than kept as misleading
 * storage.
 */
export const dropUnused: Migration = {
  version: 3,
  name: "drop-unused",
  sql: `
DROP TABLE IF EXISTS sent;
DROP TABLE IF EXISTS counters;
`,
};
