/**
 * When a data directory's crypto store is gone but its database is not, a
 * password login makes a new device: the stored login and store name are
 * forgotten, the sync position is kept. A configured access token (tied to
 * the old device) or a present store changes nothing.
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { CRYPTO_PREFIX_KEY } from "../../src/matrix/crypto-store.js";
import { cryptoStoreLost, forgetLostDevice } from "../../src/matrix/lost-crypto-store.js";
import { SESSION_KEYS, type SessionPersistence } from "../../src/matrix/session.js";

const logger = pino({ level: "silent" });

function dataDir(withStore: boolean): { dir: string; kv: Map<string, string>; persistence: SessionPersistence } {
  const dir = mkdtempSync(path.join(tmpdir(), "surfaces-lost-"));
  if (withStore) mkdirSync(path.join(dir, "crypto"));
  const kv = new Map<string, string>([
    [CRYPTO_PREFIX_KEY, "surfaces-abc"],
    [SESSION_KEYS.accessToken, "syt_old"],
    [SESSION_KEYS.deviceId, "OLDDEVICE"],
    [SESSION_KEYS.syncAccumulator, "{}"],
  ]);
  return { dir, kv, persistence: { get: (k) => kv.get(k), set: (k, v) => void kv.set(k, v), delete: (k) => void kv.delete(k) } };
}

// Nothing listens there: the old device's logout fails, which is logged and not fatal.
const homeserverUrl = "http://127.0.0.1:9";

describe("lost crypto store", () => {
  it("a present store is not lost, and nothing is forgotten", async () => {
    const { dir, kv, persistence } = dataDir(true);
    expect(cryptoStoreLost(dir, persistence)).toBe(false);
    expect(await forgetLostDevice({ homeserverUrl, dataDir: dir, persistence, password: "pw", logger })).toBe(false);
    expect(kv.get(SESSION_KEYS.deviceId)).toBe("OLDDEVICE");
  });

  it("a directory that never had a store (first start) is not lost", () => {
    const { dir, kv, persistence } = dataDir(false);
    kv.delete(CRYPTO_PREFIX_KEY);
    expect(cryptoStoreLost(dir, persistence)).toBe(false);
  });

  it("with a password, the login and store name are forgotten and the sync position kept", async () => {
    const { dir, kv, persistence } = dataDir(false);
    expect(cryptoStoreLost(dir, persistence)).toBe(true);
    expect(await forgetLostDevice({ homeserverUrl, dataDir: dir, persistence, password: "pw", logger })).toBe(true);
    expect(kv.has(SESSION_KEYS.accessToken)).toBe(false);
    expect(kv.has(SESSION_KEYS.deviceId)).toBe(false);
    expect(kv.has(CRYPTO_PREFIX_KEY)).toBe(false);
    expect(kv.get(SESSION_KEYS.syncAccumulator)).toBe("{}");
    expect(cryptoStoreLost(dir, persistence)).toBe(false);
  });

  it("with a configured access token (tied to the old device) or no password, nothing changes", async () => {
    const { dir, kv, persistence } = dataDir(false);
    expect(await forgetLostDevice({ homeserverUrl, dataDir: dir, persistence, accessToken: "syt_conf", password: "pw", logger })).toBe(false);
    expect(await forgetLostDevice({ homeserverUrl, dataDir: dir, persistence, logger })).toBe(false);
    expect(kv.get(SESSION_KEYS.deviceId)).toBe("OLDDEVICE");
  });
});
