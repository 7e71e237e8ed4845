/**
 * Access from e2e test files to the one Synapse that
 * tests/support/global-setup.ts starts per run. Registration only needs the
 * base URL and the shared secret, so it works from any test worker.
 */
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import {
  deleteRateLimitOverride,
  overrideRateLimit,
  registerWithSharedSecret,
  type RateLimitOverride,
  type RegisteredUser,
} from "../../src/dev/synapse.js";

/** What the global setup hands to test workers (serialisable). */
export interface SharedSynapseInfo {
  baseUrl: string;
  serverName: string;
  sharedSecret: string;
  adminUserId: string;
  adminToken: string;
  dir: string;
  /** The homeserver shape of this run (SURFACES_E2E_TOPOLOGY). */
  topology: "sqlite" | "postgres" | "workers";
  /** Synapse's own rate limits for everyone but the bots (SURFACES_E2E_DEFAULT_LIMITS=1); a private Synapse of a fault file follows it. */
  defaultRateLimits: boolean;
}

declare module "vitest" {
  export interface ProvidedContext {
    synapse: SharedSynapseInfo;
    /** The run's shared reference agent (scripted mode). */
    agent: { url: string; workspace: string };
  }
}

export interface SharedSynapse extends SharedSynapseInfo {
  /** Registers exactly `localpart` (fails with M_USER_IN_USE if taken). */
  registerUser(localpart: string, password?: string, admin?: boolean): Promise<RegisteredUser>;
  /** Registers `<prefix>-<random>`: the server is shared by every e2e file of the run. */
  newUser(prefix?: string, admin?: boolean): Promise<RegisteredUser>;
  overrideRateLimit(userId: string, limit: RateLimitOverride): Promise<void>;
  deleteRateLimitOverride(userId: string): Promise<void>;
}

/** A localpart no other test of this run will pick. */
export function uniqueLocalpart(prefix = "user"): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

export function useSynapse(): SharedSynapse {
  const info = inject("synapse");
  if (!info) {
    throw new Error("no shared Synapse injected: run e2e tests through the vitest e2e project (vitest.config.ts)");
  }
  const register = (localpart: string, password?: string, admin = false) =>
    registerWithSharedSecret(info.baseUrl, info.sharedSecret, localpart, password, admin);
  return {
    ...info,
    registerUser: register,
    newUser: (prefix = "user", admin = false) => register(uniqueLocalpart(prefix), undefined, admin),
    overrideRateLimit: (userId, limit) => overrideRateLimit(info.baseUrl, info.adminToken, userId, limit),
    deleteRateLimitOverride: (userId) => deleteRateLimitOverride(info.baseUrl, info.adminToken, userId),
  };
}

/** The run's shared reference agent, for files that neither kill nor reconfigure it. */
export function useSharedAgent(): { url: string; workspace: string } {
  const agent = inject("agent");
  if (!agent) throw new Error("no shared reference agent injected: run e2e tests through the vitest e2e project");
  return agent;
}
