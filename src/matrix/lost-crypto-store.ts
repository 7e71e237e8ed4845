/**
 * A data directory whose `surfaces.db` survived but whose crypto store did
 * not (restored without it, or deleted): the device it names has keys on
 * the homeserver that nobody holds any more, and new ones will not be
 * accepted for it. With a password the bot becomes a new device and keeps
 * its sync position, so messages sent in the meantime are still read (their
 * room keys come from the key backup, see recovery.ts).
 */
import { existsSync } from "node:fs";
import type { Logger } from "pino";
import { CRYPTO_PREFIX_KEY } from "./crypto-store.js";
import { SESSION_KEYS, type SessionPersistence } from "./session.js";

export interface LostStoreDeps {
  homeserverUrl: string;
  dataDir: string;
  persistence: SessionPersistence;
  /** A configured SURFACES_ACCESS_TOKEN is tied to its device: nothing to do then. */
  accessToken?: string;
  password?: string;
  logger: Logger;
}

/** True when this data directory had a crypto store that is now gone. */
export function cryptoStoreLost(dataDir: string, persistence: SessionPersistence): boolean {
  return Boolean(persistence.get(CRYPTO_PREFIX_KEY)) && !existsSync(`${dataDir}/crypto`);
}

/**
 * Forgets the stored login and crypto store name when the store is lost
 * and a password can log in again; the old device is logged out (best
 * effort), so clients stop encrypting for keys nobody holds. Returns
 * whether the next login must make a new device.
 */
export async function forgetLostDevice(deps: LostStoreDeps): Promise<boolean> {
  if (!cryptoStoreLost(deps.dataDir, deps.persistence) || deps.accessToken || !deps.password) return false;
  const oldDevice = deps.persistence.get(SESSION_KEYS.deviceId);
  const oldToken = deps.persistence.get(SESSION_KEYS.accessToken);
  deps.logger.warn({ device_id: oldDevice }, "the crypto store of this data directory is missing; logging in again as a new device");
  if (oldToken) {
    try {
      const res = await fetch(new URL("/_matrix/client/v3/logout", deps.homeserverUrl), {
        method: "POST",
        headers: { Authorization: `Bearer ${oldToken}`, "Content-Type": "application/json" },
        body: "{}",
        signal: AbortSignal.timeout(10_000),
      });
      if (res.ok) deps.logger.info({ device_id: oldDevice }, "old device logged out");
      else deps.logger.warn({ device_id: oldDevice, status: res.status }, "could not log the old device out; remove it in Element's session list");
    } catch (err) {
      deps.logger.warn({ err, device_id: oldDevice }, "could not log the old device out; remove it in Element's session list");
    }
  }
  // The sync position stays.
  deps.persistence.delete(SESSION_KEYS.accessToken);
  deps.persistence.delete(SESSION_KEYS.deviceId);
  deps.persistence.delete(CRYPTO_PREFIX_KEY);
  return true;
}
