/**
 * matrix-js-sdk hands the encryption part of every /sync to the Rust
 * crypto (`processSyncChanges` → `OlmMachine.receiveSyncChanges`), which
 * clones and saves its whole account each time, even when the sync brought
 * nothing for it: no to-device message, no device-list change and the same
 * one-time and fallback key counts as the last one. That save is several
 * IndexedDB transactions, and it runs before the sync's room events are
 * handled: it was most of the time between a message's /sync answer and
 * the bot handing it on (17–22 ms), and a share of the bot's CPU per answer.
 *
 * Such an idle sync is not passed on. Anything the crypto acts on (a
 * to-device message, a device-list change of a user it tracks, a key count
 * that moved) goes through as before, and so does one sync at least every
 * `maxIdleMs`, so the crypto's own periodic upkeep (fallback key rotation)
 * still runs.
 *
 * Device-list changes of users the crypto does not track (members of
 * unencrypted rooms only) count as idle: the Rust crypto drops them itself
 * (`IdentityManager::receive_device_changes` marks only tracked users as
 * changed), after the same account clone and save. On a busy homeserver
 * they come in most syncs (anyone sharing a room logging in somewhere).
 */
import type { Logger } from "pino";

/** The part of matrix-js-sdk's `SyncCryptoCallbacks.processSyncChanges` argument read here. */
export interface SyncCryptoChanges {
  toDeviceEvents: unknown[];
  deviceLists?: { changed?: string[]; left?: string[] };
  oneTimeKeysCounts?: Record<string, number>;
  unusedFallbackKeys?: string[];
}

interface CryptoCallbacks {
  processSyncChanges(changes: SyncCryptoChanges): Promise<unknown[]>;
  /** matrix-js-sdk's RustCrypto keeps its OlmMachine here. */
  olmMachine?: { trackedUsers?(): Promise<Set<{ toString(): string }>> };
}

/** What the crypto last saw of the key counts: an idle sync is one that repeats them. */
const keyState = (c: SyncCryptoChanges): string =>
  JSON.stringify([Object.entries(c.oneTimeKeysCounts ?? {}).sort(), [...(c.unusedFallbackKeys ?? [])].sort()]);

export function skipIdleCryptoSyncs(crypto: object | undefined, logger: Logger, maxIdleMs = 60_000, now: () => number = Date.now): boolean {
  const backend = crypto as Partial<CryptoCallbacks> | undefined;
  if (typeof backend?.processSyncChanges !== "function") {
    logger.warn("crypto backend without processSyncChanges; every sync goes to the crypto");
    return false;
  }
  const process = backend.processSyncChanges.bind(backend);
  const trackedUsers = backend.olmMachine?.trackedUsers?.bind(backend.olmMachine);
  // Without a way to ask which users are tracked, every device-list change goes through.
  const tracksAny = async (users: string[]): Promise<boolean> => {
    if (!trackedUsers) return true;
    const tracked = new Set([...(await trackedUsers())].map((u) => u.toString()));
    return users.some((u) => tracked.has(u));
  };
  let lastKeys: string | null = null;
  let lastPassed = 0;
  backend.processSyncChanges = async (changes: SyncCryptoChanges): Promise<unknown[]> => {
    const keys = keyState(changes);
    const changed = changes.deviceLists?.changed ?? [];
    const idle =
      changes.toDeviceEvents.length === 0 &&
      !changes.deviceLists?.left?.length &&
      keys === lastKeys &&
      now() - lastPassed < maxIdleMs &&
      (changed.length === 0 || !(await tracksAny(changed)));
    if (idle) return [];
    const at = now();
    // Only what the crypto took in counts as seen: after a failure the next sync goes through again.
    const received = await process(changes);
    lastKeys = keys;
    lastPassed = at;
    return received;
  };
  return true;
}
