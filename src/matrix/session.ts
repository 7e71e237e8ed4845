import { createClient, type MatrixClient } from "matrix-js-sdk";
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
    const deviceId = creds.deviceId ?? persisted.get(DEVICE_KEY) ?? (await whoAmIDevice(creds, creds.accessToken));
    persisted.set(DEVICE_KEY, deviceId);
    return { accessToken: creds.accessToken, deviceId };
  }
  const savedToken = persisted.get(TOKEN_KEY);
  const savedDevice = persisted.get(DEVICE_KEY);
  if (savedToken && savedDevice) {
    try {
      await whoAmIDevice(creds, savedToken);
      return { accessToken: savedToken, deviceId: savedDevice };
    } catch {
      logger.info("saved access token no longer valid; logging in again with the same device");
    }
  }
  const client = createClient({ baseUrl: creds.homeserverUrl, logger: sdkLogger(logger) });
  const res = await client.loginRequest({
    type: "m.login.password",
    identifier: { type: "m.id.user", user: creds.userId },
    password: creds.password ?? "",
    device_id: creds.deviceId ?? savedDevice,
    initial_device_display_name: "Surfaces bot",
  });
  persisted.set(TOKEN_KEY, res.access_token);
  persisted.set(DEVICE_KEY, res.device_id);
  logger.info({ device_id: res.device_id }, "logged in with password");
  return { accessToken: res.access_token, deviceId: res.device_id };
}

async function whoAmIDevice(creds: Credentials, token: string): Promise<string> {
  const res = await fetch(new URL("/_matrix/client/v3/account/whoami", creds.homeserverUrl), {
    headers: { Authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw new Error(`whoami failed: HTTP ${res.status}`);
  const body = (await res.json()) as { user_id: string; device_id?: string };
  if (body.user_id !== creds.userId) throw new Error(`token belongs to ${body.user_id}, not ${creds.userId}`);
  return body.device_id ?? "SURFACES";
}

export function buildClient(
  creds: Credentials,
  session: { accessToken: string; deviceId: string },
  store: PersistentSyncStore,
  logger: Logger,
): MatrixClient {
  return createClient({
    baseUrl: creds.homeserverUrl,
    userId: creds.userId,
    accessToken: session.accessToken,
    deviceId: session.deviceId,
    store,
    logger: sdkLogger(logger),
    timelineSupport: false,
  });
}
