/**
 * Synapse admin and account calls a dev/test harness needs: shared-secret
 * registration, login, whoami and the per-user rate-limit override. Plain
 * fetch against 127.0.0.1, so it works from any process that knows the base
 * URL and the shared secret.
 */
import { createHmac, randomBytes } from "node:crypto";

export interface RegisteredUser {
  userId: string;
  accessToken: string;
  deviceId: string;
  password: string;
}

export interface RateLimitOverride {
  /** 0 (with burstCount 0) means unlimited. */
  messagesPerSecond: number;
  burstCount: number;
}

/** Thrown for any non-2xx answer; carries the Matrix errcode when there is one. */
export class MatrixHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = "MatrixHttpError";
  }
}

async function call<T>(
  baseUrl: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown } = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  if (opts.token) headers["authorization"] = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(new URL(path, baseUrl), {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json ?? {}) as { errcode?: string; error?: string };
    throw new MatrixHttpError(
      res.status,
      err.errcode,
      `${method} ${path} -> ${res.status} ${err.errcode ?? ""} ${err.error ?? text.slice(0, 200)}`.trim(),
    );
  }
  return json as T;
}

/**
 * Creates a user with the shared-secret admin API (works with
 * enable_registration off). The mac is HMAC-SHA1 over
 * nonce\0user\0password\0admin|notadmin.
 */
export async function registerWithSharedSecret(
  baseUrl: string,
  sharedSecret: string,
  localpart: string,
  password: string = randomBytes(12).toString("hex"),
  admin = false,
): Promise<RegisteredUser> {
  const path = "/_synapse/admin/v1/register";
  const { nonce } = await call<{ nonce: string }>(baseUrl, "GET", path);
  const mac = createHmac("sha1", sharedSecret)
    .update(`${nonce}\0${localpart}\0${password}\0${admin ? "admin" : "notadmin"}`)
    .digest("hex");
  const res = await call<{ user_id: string; access_token: string; device_id: string }>(baseUrl, "POST", path, {
    body: { nonce, username: localpart, password, admin, mac },
  });
  return { userId: res.user_id, accessToken: res.access_token, deviceId: res.device_id, password };
}

/** Password login; gives a new device and token. */
export async function loginWithPassword(baseUrl: string, userId: string, password: string): Promise<RegisteredUser> {
  const res = await call<{ user_id: string; access_token: string; device_id: string }>(
    baseUrl,
    "POST",
    "/_matrix/client/v3/login",
    { body: { type: "m.login.password", identifier: { type: "m.id.user", user: userId }, password } },
  );
  return { userId: res.user_id, accessToken: res.access_token, deviceId: res.device_id, password };
}

/** The user id behind a token, or undefined when the token is not valid (any more). */
export async function whoami(baseUrl: string, token: string): Promise<string | undefined> {
  try {
    const res = await call<{ user_id: string }>(baseUrl, "GET", "/_matrix/client/v3/account/whoami", { token });
    return res.user_id;
  } catch (err) {
    if (err instanceof MatrixHttpError && err.status === 401) return undefined;
    throw err;
  }
}

const overridePath = (userId: string) => `/_synapse/admin/v1/users/${encodeURIComponent(userId)}/override_ratelimit`;

export async function overrideRateLimit(
  baseUrl: string,
  adminToken: string,
  userId: string,
  limit: RateLimitOverride,
): Promise<void> {
  await call(baseUrl, "POST", overridePath(userId), {
    token: adminToken,
    body: { messages_per_second: limit.messagesPerSecond, burst_count: limit.burstCount },
  });
}

/** The current override, or undefined when the user has none. */
export async function getRateLimitOverride(
  baseUrl: string,
  adminToken: string,
  userId: string,
): Promise<RateLimitOverride | undefined> {
  const res = await call<{ messages_per_second?: number; burst_count?: number }>(
    baseUrl,
    "GET",
    overridePath(userId),
    { token: adminToken },
  );
  if (res.messages_per_second === undefined || res.burst_count === undefined) return undefined;
  return { messagesPerSecond: res.messages_per_second, burstCount: res.burst_count };
}

export async function deleteRateLimitOverride(baseUrl: string, adminToken: string, userId: string): Promise<void> {
  await call(baseUrl, "DELETE", overridePath(userId), { token: adminToken });
}
