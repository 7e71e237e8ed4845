/**
 * The environment the bot reads, one entry per setting. This table is the
 * single source of truth: loadConfig validates with it, AppConfig is its
 * output type, the docs and `.env.example` are checked against it in a test.
 */
import path from "node:path";
import { z } from "zod";
import { asUserId } from "../core/ids.js";
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

/**
 * Every setting, once: keyed by its name in code (the AppConfig key), with
 * its validation, default and final form. The environment variable is the
 * key in SCREAMING_SNAKE_CASE behind `SURFACES_` (envName), so neither the
 * config type nor the variable list is written out anywhere else.
 */
export const configSchema = z.object({
  homeserverUrl: httpUrl("https://matrix.example.org").transform((u) => u.replace(/\/+$/, "")),
  botUserId: matrixUserId().transform(asUserId),
  /** Secret. Exactly one of accessToken / password is set. */
  accessToken: z.string().optional(),
  /** Secret. Used for a password login; the token it yields is kept in the store. */
  password: z.string().optional(),
  /** Otherwise the device id from the first password login is kept in the store. */
  deviceId: z.string().optional(),
  /** Absolute (resolved against the working directory). */
  dataDir: z.string().default("./data").transform((p) => path.resolve(p)),
  /** Absolute (resolved against the working directory). */
  registryPath: z.string().default("config/matrix-agents.yaml").transform((p) => path.resolve(p)),
  agentsRoot: absolutePath("/agents").default("/agents"),
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }).default("info"),
  turnIdleTimeoutMs: wholeNumber(1).default(120_000),
  editIntervalMs: wholeNumber(1).default(1_000),
  agentConnectGraceMs: wholeNumber(1).default(5_000),
  /** How long a message waits for an unreachable agent to come back (0: not at all). */
  agentWaitMs: wholeNumber(0).default(180_000),
  /** An unanswered `!yes`/`!no` question (and an agent's `confirm`) counts as no after this. */
  confirmTimeoutMs: wholeNumber(1).default(300_000),
  /** Tool calls listed (the newest) in the trail under a final answer; 0: no trail. */
  trailMaxTools: wholeNumber(0).default(20),
  /** What one turn may cost: answer bytes, files, questions, run time (past one, the turn ends with a notice). */
  turnMaxAnswerBytes: wholeNumber(1).default(1_048_576),
  turnMaxFiles: wholeNumber(0).default(20),
  turnMaxConfirms: wholeNumber(0).default(5),
  turnMaxMs: wholeNumber(1).default(3_600_000),
  /** After `!stop`, how long the agent has to end the turn before the bot ends it itself. */
  stopGraceMs: wholeNumber(1).default(5_000),
  /** Frames one agent connection may send per second. */
  agentMaxFramesPerSec: wholeNumber(1).default(5_000),
  /** null when SURFACES_HTTP_ADDR=off. */
  httpAddr: httpAddr.default({ host: "127.0.0.1", port: 9464 }),
  /** Unset: use the homeserver's upload limit, learned at runtime. */
  maxFileBytes: wholeNumber(1).optional(),
  // uid/gid 0 (root) is a legitimate owner, so these allow 0.
  fileUid: wholeNumber(0).optional(),
  fileGid: wholeNumber(0).optional(),
  /** Numeric mode (parsed from octal), default 0o644. */
  fileMode: fileMode.default(0o644),
  /** Free space the inbox writer leaves on the agents volume; 0 = no check. */
  minFreeBytes: wholeNumber(0).default(512 * 1024 * 1024),
  /** Bytes of a user's files kept in agent inboxes; 0 = no quota. */
  userQuotaBytes: wholeNumber(0).default(2 * 1024 * 1024 * 1024),
  /** Chat rooms the bot creates get `m.room.encryption`. */
  encryptRooms: z
    .enum(["true", "false"], { error: 'must be "true" or "false"' })
    .default("true")
    .transform((v) => v === "true"),
  /** How a first sync without a saved position is loaded: sliding sync where the homeserver has it, or the classic initial /sync. */
  initialSync: z.enum(["sliding", "classic"], { error: 'must be "sliding" or "classic"' }).default("sliding"),
  /** How long an undecryptable message waits for its key before the owner is asked to resend. */
  decryptGraceMs: wholeNumber(0).default(10_000),
  /** Secret. Element-style recovery key opening secret storage and key backup. */
  recoveryKey: z.string().optional(),
});

export type ConfigKey = keyof typeof configSchema.shape;
export const CONFIG_KEYS = Object.keys(configSchema.shape) as ConfigKey[];

/** `turnIdleTimeoutMs` → `SURFACES_TURN_IDLE_TIMEOUT_MS`. */
export const envName = (key: string): string => `SURFACES_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

export type EnvVar = `SURFACES_${string}`;
export const ENV_VARS = CONFIG_KEYS.map(envName) as EnvVar[];
