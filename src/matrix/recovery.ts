/**
 * Secret storage and key backup from an operator-held recovery key
 * (SURFACES_RECOVERY_KEY, Element's format). The first bot with the key puts
 * its cross-signing keys and a new key backup's key into secret storage; a
 * bot rebuilt from an empty data directory with the same key takes the
 * cross-signing identity back from there, so its new device is signed by
 * the same identity users already trust, and backs up room keys again.
 */
import type { MatrixClient } from "matrix-js-sdk";
import type { CryptoCallbacks } from "matrix-js-sdk/lib/crypto-api/index.js";
import { decodeRecoveryKey } from "matrix-js-sdk/lib/crypto-api/recovery-key.js";
import type { Logger } from "pino";

export class RecoveryKeyError extends Error {
  override readonly name = "RecoveryKeyError";
}

/** The 32-byte key inside a recovery key; a malformed key is the operator's to fix, at start. */
export function parseRecoveryKey(recoveryKey: string): Uint8Array<ArrayBuffer> {
  try {
    return decodeRecoveryKey(recoveryKey.trim());
  } catch (err) {
    throw new RecoveryKeyError(`SURFACES_RECOVERY_KEY is not a valid recovery key (${err instanceof Error ? err.message : String(err)})`);
  }
}

/**
 * The crypto callback that opens secret storage with the recovery key. It
 * offers the key only for a secret-storage key it actually opens, so a
 * recovery key from another account fails cleanly instead of decrypting
 * garbage.
 */
export function recoveryCallbacks(privateKey: Uint8Array<ArrayBuffer>, client: () => MatrixClient | undefined): CryptoCallbacks {
  return {
    getSecretStorageKey: async ({ keys }) => {
      const storage = client()?.secretStorage;
      for (const [keyId, info] of Object.entries(keys)) {
        if (storage && (await storage.checkKey(privateKey, info))) return [keyId, privateKey];
      }
      return null;
    },
  };
}

export interface RecoveryDeps {
  client: MatrixClient;
  privateKey: Uint8Array<ArrayBuffer>;
  logger: Logger;
}

/**
 * Makes secret storage and key backup match the recovery key. Runs after
 * cross-signing is set up, or — on a rebuilt bot — lets the cross-signing
 * set-up find the keys in secret storage (call `restoreFromSecretStorage`
 * first then).
 */
export async function setUpSecretStorage(deps: RecoveryDeps): Promise<void> {
  const crypto = deps.client.getCrypto();
  if (!crypto) return;
  if (!(await deps.client.secretStorage.hasKey())) {
    await crypto.bootstrapSecretStorage({
      createSecretStorageKey: () => Promise.resolve({ privateKey: deps.privateKey, keyInfo: { name: "Surfaces recovery key" } }),
      setupNewSecretStorage: true,
      setupNewKeyBackup: true,
    });
    deps.logger.info("secret storage and key backup set up with the recovery key");
    return;
  }
  // Secret storage exists: it must open with this key (getSecretStorageKey refuses a wrong one).
  await crypto.bootstrapSecretStorage({});
  if ((await crypto.getKeyBackupInfo()) === null) {
    await crypto.resetKeyBackup();
    deps.logger.info("key backup created");
  } else {
    await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
    await crypto.checkKeyBackupAndEnable();
  }
  deps.logger.info({ backup_version: await crypto.getActiveSessionBackupVersion() }, "secret storage opened with the recovery key; room keys are backed up");
}
