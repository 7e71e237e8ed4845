/**
 * Cross-signing for the bot's own account: a master key, a self-signing key
 * that signs the bot's device, a user-signing key. Clients then see the
 * device as signed by its owner, which Element requires before it shares
 * room keys under its "exclude insecure devices" setting.
 */
import { MatrixError, type MatrixClient } from "matrix-js-sdk";
import type { Logger } from "pino";
import { setUpSecretStorage } from "./recovery.js";

export interface CrossSigningDeps {
  client: MatrixClient;
  userId: string;
  /** SURFACES_PASSWORD, when set: a reset of existing cross-signing keys needs it (user-interactive auth). */
  password?: string;
  logger: Logger;
  /** Attempts while the device's own keys are still being uploaded (default 5). */
  attempts?: number;
  /** True once the bot is shutting down: no further attempt. */
  stopping?: () => boolean;
}

/**
 * Sets up cross-signing once; later starts find the private keys in the
 * crypto store and only check them. Best effort: a failure is logged and
 * the bot works on, unverified.
 */
export async function setUpCrossSigning(deps: CrossSigningDeps): Promise<boolean> {
  const crypto = deps.client.getCrypto();
  const deviceId = deps.client.getDeviceId();
  if (!crypto || !deviceId) return false;
  const attempts = deps.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    if (deps.stopping?.()) return false;
    try {
      await crypto.bootstrapCrossSigning({
        authUploadDeviceSigningKeys: async (makeRequest) => {
          // A first upload needs no auth (MSC3967); replacing keys does.
          try {
            await makeRequest(null);
          } catch (err) {
            const session = uiaSession(err);
            if (session === undefined || !deps.password) throw err;
            const auth = { type: "m.login.password", identifier: { type: "m.id.user", user: deps.userId }, password: deps.password };
            await makeRequest(session ? { ...auth, session } : auth);
          }
        },
      });
      const status = await crypto.getDeviceVerificationStatus(deps.userId, deviceId);
      deps.logger.info({ device_id: deviceId, signed_by_owner: status?.signedByOwner ?? false }, "cross-signing ready");
      return status?.signedByOwner ?? false;
    } catch (err) {
      if (attempt >= attempts) {
        deps.logger.warn(
          { err, hint: deps.password ? undefined : "an account that already has cross-signing keys needs SURFACES_PASSWORD to replace them" },
          "could not set up cross-signing; clients show the bot's device as unverified",
        );
        return false;
      }
      // The device's own keys may not be on the server yet (uploaded after the first sync).
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

/** The session id of a user-interactive-auth challenge (HTTP 401 with flows), if that is what `err` is. */
function uiaSession(err: unknown): string | null | undefined {
  if (!(err instanceof MatrixError) || err.httpStatus !== 401) return undefined;
  const session = (err.data as { session?: unknown }).session;
  return typeof session === "string" ? session : null;
}

/**
 * The bot's whole identity set-up after its first sync: cross-signing, then
 * (with a recovery key) secret storage and key backup. Never throws.
 */
export async function setUpEncryptionIdentity(deps: CrossSigningDeps & { recoveryKey?: Uint8Array<ArrayBuffer> }): Promise<void> {
  await setUpCrossSigning(deps);
  if (!deps.recoveryKey || deps.stopping?.()) return;
  try {
    await setUpSecretStorage({ client: deps.client, privateKey: deps.recoveryKey, logger: deps.logger });
  } catch (err) {
    deps.logger.warn({ err }, "could not set up secret storage and key backup with SURFACES_RECOVERY_KEY (a key for another account?)");
  }
}
