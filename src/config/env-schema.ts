/**
 * The environment the bot reads, one entry per variable. This table is the
 * single source of truth: loadConfig validates with it, the docs and
 * `.env.example` are checked against it in a test.
 */
import { z } from "zod";
import {
  absolutePath,
  httpUrl,
  matrixUserId,
  wholeNumber,
} from "./validators.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface HttpAddr {
  readonly host: string;
  readonly port: number;
}

/** `host:port`, `[v6]:port`, or `off`. Port 0 asks the OS for a free port (tests). */
export function parseHttpAddr(s: string): HttpAddr | null | undefined {
  if (s === "off") return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? "", port };
}

const httpAddr = z.string().transform((s, ctx) => {
  const addr = parseHttpAddr(s);
  if (addr === undefined) {
    ctx.addIssue({ code: "custom", message: 'must be host:port (e.g. 127.0.0.1:9464) or "off"' });
    return z.NEVER;
  }
  return addr;
});

const fileMode = z
  .string()
  .regex(/^0?[0-7]{3,4}$/, { message: "must be an octal file mode such as 0644" })
  .transform((s) => parseInt(s, 8))
  .refine((n) => n <= 0o7777, { message: "must be an octal file mode such as 0644" });

/** Shape of the schema, keyed by environment variable name. */
export const envSchema = z.object({
  SURFACES_HOMESERVER_URL: httpUrl("https://matrix.example.org"),
  SURFACES_BOT_USER_ID: matrixUserId(),
  SURFACES_ACCESS_TOKEN: z.string().optional(),
  SURFACES_PASSWORD: z.string().optional(),
  SURFACES_DEVICE_ID: z.string().optional(),
  SURFACES_DATA_DIR: z.string().default("./data"),
  SURFACES_REGISTRY_PATH: z.string().default("config/matrix-agents.yaml"),
  SURFACES_AGENTS_ROOT: absolutePath("/agents").default("/agents"),
  SURFACES_LOG_LEVEL: z
    .enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` })
    .default("info"),
  SURFACES_TURN_IDLE_TIMEOUT_MS: wholeNumber(1).default(120_000),
  SURFACES_EDIT_INTERVAL_MS: wholeNumber(1).default(1_000),
  SURFACES_AGENT_CONNECT_GRACE_MS: wholeNumber(1).default(5_000),
  SURFACES_AGENT_WAIT_MS: wholeNumber(0).default(180_000),
  SURFACES_CONFIRM_TIMEOUT_MS: wholeNumber(1).default(300_000),
  SURFACES_HTTP_ADDR: httpAddr.default({ host: "127.0.0.1", port: 9464 }),
  SURFACES_MAX_FILE_BYTES: wholeNumber(1).optional(),
  // uid/gid 0 (root) is a legitimate owner, so these allow 0.
  SURFACES_FILE_UID: wholeNumber(0).optional(),
  SURFACES_FILE_GID: wholeNumber(0).optional(),
  SURFACES_FILE_MODE: fileMode.default(0o644),
  SURFACES_ENCRYPT_ROOMS: z
    .enum(["true", "false"], { error: 'must be "true" or "false"' })
    .default("true")
    .transform((v) => v === "true"),
  SURFACES_DECRYPT_GRACE_MS: wholeNumber(0).default(10_000),
  SURFACES_RECOVERY_KEY: z.string().optional(),
});

export type EnvVar = keyof typeof envSchema.shape;
export const ENV_VARS = Object.keys(envSchema.shape) as EnvVar[];

/** Environment variable → AppConfig key (the name used in code and in error messages). */
export const ENV_TO_KEY = {
  SURFACES_HOMESERVER_URL: "homeserverUrl",
  SURFACES_BOT_USER_ID: "botUserId",
  SURFACES_ACCESS_TOKEN: "accessToken",
  SURFACES_PASSWORD: "password",
  SURFACES_DEVICE_ID: "deviceId",
  SURFACES_DATA_DIR: "dataDir",
  SURFACES_REGISTRY_PATH: "registryPath",
  SURFACES_AGENTS_ROOT: "agentsRoot",
  SURFACES_LOG_LEVEL: "logLevel",
  SURFACES_TURN_IDLE_TIMEOUT_MS: "turnIdleTimeoutMs",
  SURFACES_EDIT_INTERVAL_MS: "editIntervalMs",
  SURFACES_AGENT_CONNECT_GRACE_MS: "agentConnectGraceMs",
  SURFACES_AGENT_WAIT_MS: "agentWaitMs",
  SURFACES_CONFIRM_TIMEOUT_MS: "confirmTimeoutMs",
  SURFACES_HTTP_ADDR: "httpAddr",
  SURFACES_MAX_FILE_BYTES: "maxFileBytes",
  SURFACES_FILE_UID: "fileUid",
  SURFACES_FILE_GID: "fileGid",
  SURFACES_FILE_MODE: "fileMode",
  SURFACES_ENCRYPT_ROOMS: "encryptRooms",
  SURFACES_DECRYPT_GRACE_MS: "decryptGraceMs",
  SURFACES_RECOVERY_KEY: "recoveryKey",
} as const satisfies Record<EnvVar, string>;
