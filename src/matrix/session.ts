import { createClient, MatrixError, type MatrixClient } from "matrix-js-sdk";
import type { CryptoCallbacks } from "matrix-js-sdk/lib/crypto-api/index.js";
import type { Logger } from "pino";
import { sdkLogger } from "./sdk-logger.js";
import type { PersistentSyncStore } from "./sync-store.js";

export interface Credentials {
  homeserverUrl: string;
  userId: string;
  accessToken?: string;
  password?: string;
  deviceId?: string;
}

/** Small key-value persistence for the session (the store's kv table). */
export interface SessionPersistence {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

const TOKEN_KEY = "matrix.access_token";
const DEVICE_KEY = "matrix.device_id";

/**
 * Resolves an access token and device id. A password login happens once; its
 * token and device id are kept, so a restart reuses the same device — which
 * also keeps transaction ids meaningful across restarts (Synapse scopes them
 * to the device).
 */
export async function resolveSession(
  creds: Credentials,
  persisted: SessionPersistence,
  logger: Logger,
): Promise<{ accessToken: string; deviceId: string }> {
  if (creds.accessToken) {
    // Checking the token also proves the homeserver is reachable before syncing.
    const whoami = await whoAmIDevice(creds, creds.accessToken);
    const deviceId = creds.deviceId ?? persisted.get(DEVICE_KEY) ?? whoami;
    persisted.set(DEVICE_KEY, deviceId);
    return { accessToken: creds.accessToken, deviceId };
  }
  const savedToken = persisted.get(TOKEN_KEY);
  const savedDevice = persisted.get(DEVICE_KEY);
  if (savedToken && savedDevice) {
    try {
      await whoAmIDevice(creds, savedToken);
      return { accessToken: savedToken, deviceId: savedDevice };
    } catch (err) {
      if (!(err instanceof LoginRejectedError)) throw err;
      logger.info("saved access token no longer valid; logging in again with the same device");
    }
  }
  const client = createClient({ baseUrl: creds.homeserverUrl, logger: sdkLogger(logger) });
  const res = await client
    .loginRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: creds.userId },
      password: creds.password ?? "",
      device_id: creds.deviceId ?? savedDevice,
      initial_device_display_name: "Surfaces bot",
    })
    .catch((err: unknown) => {
      if (err instanceof MatrixError && (err.httpStatus === 401 || err.httpStatus === 403)) {
        throw new LoginRejectedError(`the homeserver refused the password login for ${creds.userId} (${err.errcode ?? err.httpStatus})`);
      }
      throw err instanceof MatrixError && (err.httpStatus ?? 0) < 500 ? err : new HomeserverUnreachableError(String(err));
    });
  persisted.set(TOKEN_KEY, res.access_token);
  persisted.set(DEVICE_KEY, res.device_id);
  logger.info({ device_id: res.device_id }, "logged in with password");
  return { accessToken: res.access_token, deviceId: res.device_id };
}

/** The homeserver could not be reached (network, 5xx): worth retrying. */
export class HomeserverUnreachableError extends Error {
  override name = "HomeserverUnreachableError";
}

/** The homeserver refused the credentials: an operator must fix the configuration. */
export class LoginRejectedError extends Error {
  override name = "LoginRejectedError";
}

async function whoAmIDevice(creds: Credentials, token: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(new URL("/_matrix/client/v3/account/whoami", creds.homeserverUrl), {
      headers: { Authorization: `Bearer ${token}` },
    });
  } catch (err) {
    throw new HomeserverUnreachableError(`${creds.homeserverUrl}: ${err instanceof Error ? (err.cause as Error | undefined)?.message ?? err.message : String(err)}`);
  }
  if (res.status >= 500) throw new HomeserverUnreachableError(`${creds.homeserverUrl}: HTTP ${res.status}`);
  if (!res.ok) throw new LoginRejectedError(`the homeserver rejected the access token of ${creds.userId} (HTTP ${res.status})`);
  const body = (await res.json()) as { user_id: string; device_id?: string };
  if (body.user_id !== creds.userId) throw new LoginRejectedError(`the access token belongs to ${body.user_id}, not ${creds.userId}`);
  return body.device_id ?? "SURFACES";
}

/**
 * Start-up waits for a homeserver that is not up yet (a restart, a compose
 * stack coming up) instead of crashing: retries with backoff, one log line
 * each. Rejected credentials are not retried.
 */
export async function untilReachable<T>(attempt: () => Promise<T>, logger: Logger, maxDelayMs = 30_000): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof HomeserverUnreachableError)) throw err;
      const delay = Math.min(maxDelayMs, 500 * 2 ** Math.min(n - 1, 10));
      logger.warn({ reason: err.message, retry_in_ms: delay, attempt: n }, "homeserver not reachable; retrying");
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export function buildClient(
  creds: Credentials,
  session: { accessToken: string; deviceId: string },
  store: PersistentSyncStore,
  logger: Logger,
  cryptoCallbacks?: CryptoCallbacks,
): MatrixClient {
  return createClient({
    ...(cryptoCallbacks && { cryptoCallbacks }),
    baseUrl: creds.homeserverUrl,
    userId: creds.userId,
    accessToken: session.accessToken,
    deviceId: session.deviceId,
    store,
    logger: sdkLogger(logger),
    timelineSupport: false,
  });
}
