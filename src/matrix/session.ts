import { createClient, MatrixError, type MatrixClient } from "matrix-js-sdk";
import type { CryptoCallbacks } from "matrix-js-sdk/lib/crypto-api/index.js";
import type { Logger } from "pino";
import { homeserverHttp } from "./http-transport.js";
import { HomeserverUnreachableError, policies, RateLimitedError, retrying, type RetryPolicy } from "./retry.js";
import { sdkLogger } from "./sdk-logger.js";
import type { PersistentSyncStore } from "./sync-store.js";

export interface Credentials {
  homeserverUrl: string;
  userId: string;
  accessToken?: string;
  password?: string;
  deviceId?: string;
  /** The device whose keys the data directory's crypto store holds (crypto-store.ts storeDeviceId). */
  storeDeviceId?: string;
}

/** Small key-value persistence for the session (the store's kv table). */
export interface SessionPersistence {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  delete(key: string): void;
}

/** The session's keys in its persistence (the store's kv table); reset keeps the first two. */
export const SESSION_KEYS = {
  /** Access token from a password login (a secret: never log it). */
  accessToken: "matrix.access_token",
  /** Device id from the first password login. */
  deviceId: "matrix.device_id",
  /** The matrix-js-sdk sync accumulator (JSON). */
  syncAccumulator: "matrix.sync_accumulator",
  /** The position a rebuild through sliding sync started from: a sync gap's backfill stops there (gap-fill.ts). */
  historyFloor: "matrix.history_floor",
} as const;
const TOKEN_KEY = SESSION_KEYS.accessToken;
const DEVICE_KEY = SESSION_KEYS.deviceId;

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
    // The token's own device wins: a device id saved from an earlier login
    // (or configured) that differs would scope transaction ids and keys to
    // the wrong device.
    if (whoami && creds.deviceId && creds.deviceId !== whoami) {
      logger.warn({ configured: creds.deviceId, device_id: whoami }, "SURFACES_DEVICE_ID is not the access token's device; using the token's");
    }
    const deviceId = whoami ?? creds.deviceId ?? persisted.get(DEVICE_KEY) ?? "SURFACES";
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
  // The device whose keys this data directory holds comes first: the one
  // saved at the last login, else the one the crypto store names (surfaces.db
  // lost). A configured id that differs would be a device with other keys
  // (the homeserver refuses new one-time keys for it); with none of the
  // three, the homeserver makes a new device.
  const device = savedDevice ?? creds.storeDeviceId ?? creds.deviceId;
  if (creds.deviceId && device !== creds.deviceId) {
    logger.warn({ configured: creds.deviceId, device_id: device }, "SURFACES_DEVICE_ID is not the device whose keys this data directory holds; using the latter");
  }
  const client = createClient({ baseUrl: creds.homeserverUrl, logger: sdkLogger(logger) });
  const res = await client
    .loginRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: creds.userId },
      password: creds.password ?? "",
      device_id: device,
      initial_device_display_name: "Surfaces bot",
    })
    .catch((err: unknown) => {
      // A 429 (Synapse's rc_login) is the start-up policy's to wait out.
      if (err instanceof MatrixError && err.isRateLimitError()) throw err;
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

export { HomeserverUnreachableError };

/** The homeserver refused the credentials: an operator must fix the configuration. */
export class LoginRejectedError extends Error {
  override name = "LoginRejectedError";
}

/** The token's device id (absent for some appservice tokens). */
async function whoAmIDevice(creds: Credentials, token: string): Promise<string | undefined> {
  let res: Response;
  try {
    res = await fetch(new URL("/_matrix/client/v3/account/whoami", creds.homeserverUrl), {
      headers: { Authorization: `Bearer ${token}` },
    });
  } catch (err) {
    throw new HomeserverUnreachableError(`${creds.homeserverUrl}: ${err instanceof Error ? (err.cause as Error | undefined)?.message ?? err.message : String(err)}`);
  }
  if (res.status >= 500) throw new HomeserverUnreachableError(`${creds.homeserverUrl}: HTTP ${res.status}`);
  if (res.status === 429) throw new RateLimitedError(`whoami: HTTP 429`, await retryAfterMs(res));
  if (!res.ok) throw new LoginRejectedError(`the homeserver rejected the access token of ${creds.userId} (HTTP ${res.status})`);
  const body = (await res.json()) as { user_id: string; device_id?: string };
  if (body.user_id !== creds.userId) throw new LoginRejectedError(`the access token belongs to ${body.user_id}, not ${creds.userId}`);
  return body.device_id;
}

/**
 * Start-up waits for a homeserver that is not up yet (a restart, a compose
 * stack coming up) or that rate-limits the login, instead of crashing: the
 * start-up retry policy, one log line per wait. Rejected credentials are not
 * retried.
 */
export async function untilReachable<T>(attempt: () => Promise<T>, logger: Logger, maxDelayMs = 30_000): Promise<T> {
  const policy: RetryPolicy = {
    ...policies.startup,
    delay: (err, n) => {
      if (err instanceof LoginRejectedError) return null;
      const wait = policies.startup.delay(err, n);
      // The homeserver's own wait is kept whole; only our backoff is capped.
      return wait === null || isRateLimit(err) ? wait : Math.min(wait, maxDelayMs);
    },
  };
  return retrying(policy, { logger, what: "homeserver at start-up" }, attempt);
}

const isRateLimit = (err: unknown): boolean =>
  err instanceof RateLimitedError || (err instanceof MatrixError && err.isRateLimitError());

/** `retry_after_ms` from a 429's JSON body, else the Retry-After header, else null. */
async function retryAfterMs(res: Response): Promise<number | null> {
  const body = (await res.json().catch(() => ({}))) as { retry_after_ms?: unknown };
  if (typeof body.retry_after_ms === "number") return body.retry_after_ms;
  const header = Number(res.headers.get("retry-after"));
  return Number.isFinite(header) && header > 0 ? header * 1000 : null;
}

export function buildClient(
  creds: Credentials,
  session: { accessToken: string; deviceId: string },
  store: PersistentSyncStore,
  logger: Logger,
  cryptoCallbacks?: CryptoCallbacks,
  fetchFn?: typeof fetch,
): MatrixClient {
  return createClient({
    ...(cryptoCallbacks && { cryptoCallbacks }),
    // The lean transport unless the caller wraps it (initial-sync.ts does).
    fetchFn: fetchFn ?? ((input, init) => homeserverHttp.fetch(input, init)),
    baseUrl: creds.homeserverUrl,
    userId: creds.userId,
    accessToken: session.accessToken,
    deviceId: session.deviceId,
    store,
    logger: sdkLogger(logger),
    timelineSupport: false,
  });
}
