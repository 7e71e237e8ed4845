import type { Migration } from "./index.js";

/**
 * Earlier builds "forgot" a lost device's login and crypto store name by
 * writing empty strings (lost-crypto-store.ts); they are deleted now, so
 * every reader can take a present key as a real value.
 */
export const forgottenSession: Migration = {
  version: 5,
  name: "forgotten-session",
  sql: `
DELETE FROM kv WHERE value = '' AND key IN ('matrix.access_token', 'matrix.device_id', 'matrix.crypto_store_prefix');
`,
};
