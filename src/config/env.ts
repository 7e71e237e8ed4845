/**
 * Reads the bot's configuration from the environment and validates all of
 * it before any login, so a bad deployment fails at once with every problem
 * named (config key and env var), not one at a time.
 */
import path from "node:path";
import dotenv from "dotenv";
import type { UserId } from "../core/ids.js";
import { asUserId } from "../core/ids.js";
import { ENV_TO_KEY, ENV_VARS, envSchema } from "./env-schema.js";
import type { EnvVar, HttpAddr, LogLevel } from "./env-schema.js";

export type { HttpAddr, LogLevel } from "./env-schema.js";

export interface AppConfig {
  readonly homeserverUrl: string;
  readonly botUserId: UserId;
  /** Secret. Exactly one of accessToken / password is set. */
  readonly accessToken?: string;
  /** Secret. Used for a password login; the token it yields is kept in the store. */
  readonly password?: string;
  /** Otherwise the device id from the first password login is kept in the store. */
  readonly deviceId?: string;
  /** Absolute (resolved against the working directory). */
  readonly dataDir: string;
  /** Absolute (resolved against the working directory). */
  readonly registryPath: string;
  readonly agentsRoot: string;
  readonly logLevel: LogLevel;
  readonly turnIdleTimeoutMs: number;
  readonly editIntervalMs: number;
  readonly agentConnectGraceMs: number;
  /** How long a message waits for an unreachable agent to come back (0: not at all). */
  readonly agentWaitMs: number;
  /** An unanswered `!yes`/`!no` question (and an agent's `confirm`) counts as no after this. */
  readonly confirmTimeoutMs: number;
  /** null when SURFACES_HTTP_ADDR=off. */
  readonly httpAddr: HttpAddr | null;
  /** Unset: use the homeserver's upload limit, learned at runtime. */
  readonly maxFileBytes?: number;
  readonly fileUid?: number;
  readonly fileGid?: number;
  /** Numeric mode (parsed from octal), default 0o644. */
  readonly fileMode: number;
  /** Rooms the bot creates get `m.room.encryption` (SURFACES_ENCRYPT_ROOMS). */
  readonly encryptRooms: boolean;
  /** How long an undecryptable message waits for its key before the owner is asked to resend. */
  readonly decryptGraceMs: number;
  /** Element-style recovery key opening secret storage and key backup (a secret). */
  readonly recoveryKey?: string;
}

/** Keys whose values must never reach a log line. */
export const SECRET_CONFIG_KEYS = ["accessToken", "password", "recoveryKey"] as const satisfies readonly (keyof AppConfig)[];

export interface ConfigProblem {
  readonly key: string;
  readonly envVar: string;
  readonly message: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly ConfigProblem[]) {
    const n = problems.length;
    super(
      `Invalid configuration (${n} problem${n === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p.key} (${p.envVar}): ${p.message}`).join("\n"),
    );
  }
}

/** Loads `.env` (default: ./.env) into process.env without overriding what is already set. A missing file is fine. */
export function loadDotenv(file?: string): void {
  dotenv.config({ path: file ?? path.resolve(".env"), quiet: true, override: false });
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // Blank values (`FOO=` in a .env file) mean "unset", so defaults apply.
  const raw: Partial<Record<EnvVar, string>> = {};
  for (const name of ENV_VARS) {
    const v = env[name]?.trim();
    if (v) raw[name] = v;
  }

  const problems: ConfigProblem[] = [];
  const result = envSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const envVar = String(issue.path[0]) as EnvVar;
      problems.push({ key: ENV_TO_KEY[envVar] ?? envVar, envVar, message: issue.message });
    }
  }
  // Checked outside zod: object-level refinements do not run while fields fail.
  const hasToken = raw.SURFACES_ACCESS_TOKEN !== undefined;
  const hasPassword = raw.SURFACES_PASSWORD !== undefined;
  if (hasToken === hasPassword) {
    problems.push({
      key: "accessToken/password",
      envVar: "SURFACES_ACCESS_TOKEN / SURFACES_PASSWORD",
      message: hasToken
        ? "both are set; set exactly one (the access token, or the password to log in with)"
        : "neither is set; set exactly one (the access token, or the password to log in with)",
    });
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);

  const e = result.data;
  return Object.freeze({
    homeserverUrl: e.SURFACES_HOMESERVER_URL.replace(/\/+$/, ""),
    botUserId: asUserId(e.SURFACES_BOT_USER_ID),
    ...(e.SURFACES_ACCESS_TOKEN !== undefined && { accessToken: e.SURFACES_ACCESS_TOKEN }),
    ...(e.SURFACES_PASSWORD !== undefined && { password: e.SURFACES_PASSWORD }),
    ...(e.SURFACES_DEVICE_ID !== undefined && { deviceId: e.SURFACES_DEVICE_ID }),
    dataDir: path.resolve(e.SURFACES_DATA_DIR),
    registryPath: path.resolve(e.SURFACES_REGISTRY_PATH),
    agentsRoot: e.SURFACES_AGENTS_ROOT,
    logLevel: e.SURFACES_LOG_LEVEL,
    turnIdleTimeoutMs: e.SURFACES_TURN_IDLE_TIMEOUT_MS,
    editIntervalMs: e.SURFACES_EDIT_INTERVAL_MS,
    agentConnectGraceMs: e.SURFACES_AGENT_CONNECT_GRACE_MS,
    agentWaitMs: e.SURFACES_AGENT_WAIT_MS,
    confirmTimeoutMs: e.SURFACES_CONFIRM_TIMEOUT_MS,
    httpAddr: e.SURFACES_HTTP_ADDR,
    ...(e.SURFACES_MAX_FILE_BYTES !== undefined && { maxFileBytes: e.SURFACES_MAX_FILE_BYTES }),
    ...(e.SURFACES_FILE_UID !== undefined && { fileUid: e.SURFACES_FILE_UID }),
    ...(e.SURFACES_FILE_GID !== undefined && { fileGid: e.SURFACES_FILE_GID }),
    fileMode: e.SURFACES_FILE_MODE,
    encryptRooms: e.SURFACES_ENCRYPT_ROOMS,
    decryptGraceMs: e.SURFACES_DECRYPT_GRACE_MS,
    ...(e.SURFACES_RECOVERY_KEY !== undefined && { recoveryKey: e.SURFACES_RECOVERY_KEY }),
  });
}

type SecretKey = (typeof SECRET_CONFIG_KEYS)[number];
export type RedactedConfig = Omit<AppConfig, SecretKey> & { readonly [K in SecretKey]?: "[redacted]" };

/** A copy safe to log: every secret that is set becomes "[redacted]". */
export function redactConfig(cfg: AppConfig): RedactedConfig {
  const copy: Record<string, unknown> = { ...cfg };
  for (const key of SECRET_CONFIG_KEYS) {
    if (copy[key] !== undefined) copy[key] = "[redacted]";
  }
  return copy as RedactedConfig;
}
